"""The whole loop, real parts: Ray actors, venue-sim over HTTP, unmodified ccxt,
Parquet, DuckDB. One 40 s run; every assertion reads what the run wrote."""

from __future__ import annotations

import socket
import urllib.request
from decimal import Decimal

import pytest

from analytics.views import connect
from engine.config import load_config
from marketmesh.runner import run_graph
from tests.conftest import LOCAL_CONFIG

pytestmark = pytest.mark.integration

DURATION_S = 40


@pytest.fixture(scope="module")
def core_run(ray_session, tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("core-loop-data"))
    cfg = load_config(LOCAL_CONFIG)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scraped: list[str] = []

    def scrape_once(elapsed_s, _markets, _router):  # Prometheus, as a scraper sees it mid-run
        if elapsed_s > 15 and not scraped:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                scraped.append(r.read().decode())

    result = run_graph(
        cfg,
        config_path=LOCAL_CONFIG,
        duration_s=DURATION_S,
        data_dir=data_dir,
        on_status=scrape_once,
        metrics_port=port,
    )
    METRICS.extend(scraped)
    return cfg, result, connect(data_dir)


METRICS: list[str] = []


def test_prometheus_metrics_mid_run(core_run):
    (text,) = METRICS
    assert 'marketmesh_quoting{market="BTC/USDT"} 1.0' in text
    assert 'marketmesh_venue_healthy{venue="okx-sim"} 1.0' in text
    assert 'marketmesh_spread_bps{market="SOL/USDT"}' in text
    count = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("marketmesh_hedge_latency_seconds_count")
    )
    assert count > 0


def test_every_market_quoted_and_got_fills(core_run):
    cfg, _, con = core_run
    rows = dict(con.execute("select market, count(*) from fills group by 1").fetchall())
    assert set(rows) == {m.symbol for m in cfg.markets}
    assert all(n > 0 for n in rows.values())
    uptime = dict(
        con.execute("select market, avg(quoting::int) from book_samples group by 1").fetchall()
    )
    assert all(u > 0.8 for u in uptime.values()), uptime


def test_every_fill_is_in_the_ledger_exactly_once(core_run):
    _, _, con = core_run
    bad = con.execute(
        """
        select f.fill_id, count(l.entry_id) as n
        from fills f left join ledger_entries l
          on l.ref = f.fill_id and l.kind = 'fill' and l.account = 'wallet'
         and l.asset = split_part(f.market, '/', 1)
        group by 1 having count(l.entry_id) <> 1
        """
    ).fetchall()
    assert bad == []
    n_fills = con.execute("select count(*) from fills").fetchone()[0]
    n_distinct = con.execute("select count(distinct fill_id) from fills").fetchone()[0]
    assert n_fills == n_distinct


def test_every_entry_set_balances_per_asset(core_run):
    _, _, con = core_run
    unbalanced = con.execute(
        "select ref, asset, sum(amount) s from ledger_entries group by 1, 2 having s <> 0"
    ).fetchall()
    assert unbalanced == []


def test_every_fill_is_hedged_or_has_a_skip_reason(core_run):
    _, _, con = core_run
    unaccounted = con.execute(
        """
        select f.fill_id, f.amount, coalesce(sum(h.filled_amount), 0) as hedged,
               coalesce(sum(case when h.status in ('skipped','rejected','expired','unknown')
                                 then h.amount - h.filled_amount end), 0) as unhedged,
               bool_and(h.status not in ('skipped','rejected','expired','unknown')
                        or coalesce(h.reason, '') <> '') as reasons_ok,
               count(h.hedge_id) as n
        from fills f left join hedge_orders h on h.source_fill_id = f.fill_id
        group by 1, 2
        having n = 0 or not reasons_ok or hedged + unhedged < f.amount * 0.999999
        """
    ).fetchall()
    assert unaccounted == []
    hedged = con.execute("select count(*) from hedge_fills").fetchone()[0]
    assert hedged > 0


def test_end_exposure_within_threshold(core_run):
    cfg, _, con = core_run
    positions = con.execute(
        """
        select asset, sum(amount) from ledger_entries
        where account = 'wallet' and kind <> 'opening' and asset <> 'USDT'
        group by 1
        """
    ).fetchall()
    mids = dict(
        con.execute(
            "select split_part(market, '/', 1), arg_max(mid, ts) from book_samples group by 1"
        ).fetchall()
    )
    threshold = cfg.rebalancer.exposure_threshold_quote
    for asset, position in positions:
        assert abs(float(position)) * mids[asset] <= threshold, (asset, position)


def test_ledger_equals_venue_balances_exactly(core_run):
    _, result, con = core_run
    assert result.reconciliation, "no hedge venue was reconciled"
    booked = {
        (venue, asset): amount
        for venue, asset, amount in con.execute(
            "select venue, asset, sum(amount) from ledger_entries where account = 'wallet' "
            "group by 1, 2"
        ).fetchall()
    }
    for venue, assets in result.reconciliation.items():
        for asset, (_ledger, reported_via_ccxt) in assets.items():
            assert booked.get((venue, asset), Decimal(0)) == Decimal(reported_via_ccxt), (
                venue,
                asset,
            )
    assert result.reconciled
