"""The whole graph with the home venue also behind ccxt (configs/loopback.yaml).

venue-sim serves the home exchange in the HollaEx dialect; the MarketActors
quote on it through the unmodified ccxt.hollaex client. One 25 s run; the
assertions read what the run wrote (Parquet through DuckDB) and what the
venues report through ccxt at the end.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.views import connect
from engine.config import load_config
from marketmesh.graph import run_graph
from tests.conftest import REPO
from tests.integration import checks

pytestmark = pytest.mark.integration

LOOPBACK_CONFIG = REPO / "configs" / "loopback.yaml"
DURATION_S = 25


@pytest.fixture(scope="module")
def loopback_run(ray_session, tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("loopback-data"))
    cfg = load_config(LOOPBACK_CONFIG)
    result = run_graph(cfg, config_path=LOOPBACK_CONFIG, duration_s=DURATION_S, data_dir=data_dir)
    return cfg, result, connect(data_dir)


def test_the_home_venue_is_reached_through_ccxt(loopback_run):
    cfg, _, _ = loopback_run
    home = cfg.home_venue
    assert (home.kind.value, home.exchange, home.url) == ("ccxt", "hollaex", "sim")


def test_every_market_got_fills_through_ccxt(loopback_run):
    cfg, result, con = loopback_run
    rows = con.execute(
        "select market, fill_id, order_id from fills where run_id = ?", [result.run_id]
    ).fetchall()
    assert {m for m, _, _ in rows} == {m.symbol for m in cfg.markets}
    # CcxtHomeVenue's ids: the quote's client id (carried in HollaEx meta.note) + fill ordinal
    for market, fill_id, order_id in rows:
        prefix = f"{result.run_id}-{market.replace('/', '-')}-q"
        assert order_id.startswith(prefix) and fill_id.startswith(order_id + "-f"), fill_id


def test_every_fill_is_in_the_ledger_exactly_once(loopback_run):
    assert checks.fills_not_booked_exactly_once(loopback_run[2]) == []


def test_every_fill_is_hedged_or_has_a_skip_reason(loopback_run):
    _, _, con = loopback_run
    assert checks.fills_unhedged_without_reason(con) == []
    assert con.execute("select count(*) from hedge_fills").fetchone()[0] > 0


def test_ledger_equals_every_venue_balance_home_included(loopback_run):
    cfg, result, con = loopback_run
    home = result.reconciliation.get(cfg.home_venue.id)
    assert home, "the home venue was not reconciled"
    assert set(result.reconciliation) == {v.id for v in cfg.venues}
    assert checks.ledger_vs_venues(con, result) == []
    assert result.reconciled
    # the home account really traded: what it reports moved away from its opening
    moved = [a for a, (_, reported) in home.items() if Decimal(reported) != home_opening(cfg, a)]
    assert moved, home


def home_opening(cfg, asset: str) -> Decimal:
    return Decimal(str(cfg.home_venue.balances.get(asset, 0)))
