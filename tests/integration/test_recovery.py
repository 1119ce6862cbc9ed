"""kill -9 mid-run, under fills: the ledger restarts from its journal; a market actor
hosting two markets (`markets_per_actor: 2`) restarts and resumes quoting both; the
router restarts and concludes the hedges it had in flight from the journal; a hedge
venue actor restarts and its in-flight child orders are looked up, never resent.
Nothing is lost, hedged twice or counted twice. One 40 s run; every assertion reads
what the run wrote."""

from __future__ import annotations

import os
import signal

import pytest
import ray

from actors.control import CONTROL_NAME
from analytics.views import connect
from engine.config import load_config
from marketmesh.graph import run_graph
from tests.conftest import LOCAL_CONFIG
from tests.integration import checks

pytestmark = pytest.mark.integration

DURATION_S = 40
KILL_LEDGER_AT_S = 10
KILL_MARKET_AT_S = 16
KILL_ROUTER_AT_S = 22
KILL_VENUE_AT_S = 27
VENUE = "binance-sim"  # the cheapest: it takes most child orders
MARKET = "BTC/USDT"
GROUPED_WITH = "ETH/USDT"  # the market sharing MARKET's actor


@pytest.fixture(scope="module")
def crashed_run(ray_session, tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("recovery-data"))
    cfg = load_config(LOCAL_CONFIG)
    cfg = cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"markets_per_actor": 2})})
    killed: dict[str, int] = {}

    def crash(elapsed_s, _markets, _router):
        for name, at in (
            ("ledger", KILL_LEDGER_AT_S),
            (f"market:{MARKET}", KILL_MARKET_AT_S),
            ("router", KILL_ROUTER_AT_S),
            (f"venue:{VENUE}", KILL_VENUE_AT_S),
        ):
            if elapsed_s >= at and name not in killed:
                actor = ray.get(ray.get_actor(CONTROL_NAME).handles.remote())[name]
                info = ray.get(actor.process_info.remote())
                os.kill(info["pid"], signal.SIGKILL)
                killed[name] = info["pid"]

    result = run_graph(
        cfg, config_path=LOCAL_CONFIG, duration_s=DURATION_S, data_dir=data_dir, on_status=crash
    )
    return cfg, result, connect(data_dir), killed


def test_the_ledger_was_killed_and_came_back_from_its_journal(crashed_run):
    _, result, con, killed = crashed_run
    assert "ledger" in killed
    # fills kept coming after the crash, and were booked by the new incarnation
    late = con.execute(
        "select count(*) from fills where ts > (select min(ts) from fills) + to_seconds(?::double)",
        [KILL_LEDGER_AT_S + 5],
    ).fetchone()[0]
    assert late > 0
    assert result.reconciliation


@pytest.mark.parametrize("market", [MARKET, GROUPED_WITH])
def test_the_killed_market_actor_restarted_and_both_its_markets_resumed(crashed_run, market):
    _, result, con, killed = crashed_run
    assert f"market:{MARKET}" in killed
    statuses = {m["market"]: m for m in result.market_status}
    status = statuses[market]
    assert status["incarnation"].startswith("r")  # a new incarnation finished the run
    assert status["incarnation"] == statuses[MARKET]["incarnation"]  # one actor, one restart
    assert statuses["SOL/USDT"]["incarnation"] == ""  # the other actor was left alone
    after = con.execute(
        "select count(*) filter (where quoting), count(distinct fill_id) from "
        "(select quoting, null as fill_id from book_samples where market = $m "
        "   and ts > (select min(ts) from book_samples) + to_seconds($t::double) "
        " union all select null, fill_id from fills where market = $m "
        "   and fill_id like '%-" + status["incarnation"] + "-%')",
        {"m": market, "t": KILL_MARKET_AT_S + 6},
    ).fetchone()
    assert after[0] > 0, "no quotes after the restart"
    assert after[1] > 0, "no fills booked from the restarted incarnation"


def test_the_router_restarted_and_hedging_went_on(crashed_run):
    _, _, con, killed = crashed_run
    assert "router" in killed
    late_hedges = con.execute(
        "select count(*) from hedge_orders where filled_amount > 0"
        " and ts > (select min(ts) from fills) + to_seconds($t::double)",
        {"t": KILL_ROUTER_AT_S + 4},
    ).fetchone()[0]
    assert late_hedges > 0, "nothing hedged after the router restart"


def test_the_hedge_venue_restarted_and_took_child_orders_again(crashed_run):
    _, _, con, killed = crashed_run
    assert f"venue:{VENUE}" in killed
    late = con.execute(
        "select count(*) from hedge_fills where venue = $v"
        " and ts > (select min(ts) from fills) + to_seconds($t::double)",
        {"v": VENUE, "t": KILL_VENUE_AT_S + 4},
    ).fetchone()[0]
    assert late > 0, "no child order filled on the venue after its actor restarted"


def test_no_fill_lost_or_counted_twice_after_the_crash(crashed_run):
    _, _, con, _ = crashed_run
    assert checks.fills_not_booked_exactly_once(con) == []
    assert checks.unbalanced_entry_sets(con) == []


def test_every_fill_hedged_or_reasoned_and_exposure_flat(crashed_run):
    cfg, _, con, _ = crashed_run
    assert checks.fills_unhedged_without_reason(con) == []
    assert checks.exposure_over_threshold(con, cfg) == []


def test_ledger_equals_venue_balances_exactly_after_the_crash(crashed_run):
    _, result, con, _ = crashed_run
    assert checks.ledger_vs_venues(con, result) == []
    assert result.reconciled
