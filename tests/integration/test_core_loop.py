"""The whole loop, real parts: Ray actors, venue-sim over HTTP, unmodified ccxt,
Parquet, DuckDB. One 40 s run; every assertion reads what the run wrote."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from analytics.views import connect
from engine.config import load_config
from marketmesh.graph import run_graph
from tests.conftest import LOCAL_CONFIG
from tests.integration import checks

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
    assert checks.fills_not_booked_exactly_once(core_run[2]) == []


def test_every_entry_set_balances_per_asset(core_run):
    assert checks.unbalanced_entry_sets(core_run[2]) == []


def test_every_fill_is_hedged_or_has_a_skip_reason(core_run):
    _, _, con = core_run
    assert checks.fills_unhedged_without_reason(con) == []
    hedged = con.execute("select count(*) from hedge_fills").fetchone()[0]
    assert hedged > 0


def test_end_exposure_within_threshold(core_run):
    cfg, _, con = core_run
    assert checks.exposure_over_threshold(con, cfg) == []


def test_ledger_equals_venue_balances_exactly(core_run):
    _, result, con = core_run
    assert result.reconciliation, "no hedge venue was reconciled"
    assert checks.ledger_vs_venues(con, result) == []
    assert result.reconciled
