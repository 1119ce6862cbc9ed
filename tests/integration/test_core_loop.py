"""The whole loop, real parts: Ray actors, venue-sim over HTTP, unmodified ccxt,
Parquet, DuckDB. One 40 s run (`tests/integration/core_graph.py`, shared with
test_transfers_graph.py); every assertion reads what the run wrote.

Storage fails for 25 s in the middle of it (issue 11, case 5): the `fills` and
`ledger_entries` tables can't be written (each directory replaced by a file).
Every invariant below must still hold: nothing lost, nothing booked twice,
ledger equal to the venues; the outage raised a `storage_failure` alert.
"""

from __future__ import annotations

import pytest

from tests.integration import checks

pytestmark = pytest.mark.integration


def test_prometheus_metrics_mid_run(core_run):
    text = core_run.metrics
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
    cfg, con = core_run.cfg, core_run.con
    rows = dict(con.execute("select market, count(*) from fills group by 1").fetchall())
    assert set(rows) == {m.symbol for m in cfg.markets}
    assert all(n > 0 for n in rows.values())
    uptime = dict(
        con.execute("select market, avg(quoting::int) from book_samples group by 1").fetchall()
    )
    assert all(u > 0.8 for u in uptime.values()), uptime


def test_every_fill_is_in_the_ledger_exactly_once(core_run):
    assert checks.fills_not_booked_exactly_once(core_run.con) == []


def test_every_entry_set_balances_per_asset(core_run):
    assert checks.unbalanced_entry_sets(core_run.con) == []


def test_every_fill_is_hedged_or_has_a_skip_reason(core_run):
    con = core_run.con
    assert checks.fills_unhedged_without_reason(con) == []
    hedged = con.execute("select count(*) from hedge_fills").fetchone()[0]
    assert hedged > 0


def test_end_exposure_within_threshold(core_run):
    cfg, con = core_run.cfg, core_run.con
    assert checks.exposure_over_threshold(con, cfg) == []


def test_ledger_equals_venue_balances_exactly(core_run):
    result, con = core_run.result, core_run.con
    assert result.reconciliation, "no hedge venue was reconciled"
    assert checks.ledger_vs_venues(con, result) == []
    assert result.reconciled


def test_a_storage_outage_raised_an_alert_and_stopped_nothing(core_run):
    result, con = core_run.result, core_run.con
    kinds = [a["kind"] for a in result.alerts]
    assert "storage_failure" in kinds  # after storage_alert_after_s
    assert not any(a["action"] == "kill_switch" for a in result.alerts)  # under the limit
    rows = con.execute(
        "select count(*) from alerts where kind = 'storage_failure' and source = 'monitor'"
    ).fetchone()[0]
    assert rows >= 1
