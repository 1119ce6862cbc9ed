"""Node loss on a real multi-node Ray cluster (head + two workers on this machine):
the markets of the killed worker restart on the surviving nodes and quote on, and
afterwards every fill is hedged exactly once and the ledger equals venue balances."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from analytics.views import connect
from engine.config import load_config
from tests.conftest import LOCAL_CONFIG
from tests.integration import checks

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def node_loss_run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("multinode") / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.multinode_scenario", "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return report, connect(str(data_dir))


def test_a_worker_node_with_markets_was_killed_and_they_restarted(node_loss_run):
    report, con = node_loss_run
    assert report["killed_node"], report
    lost = report["markets_on_killed_node"]
    assert lost
    for name in lost:
        market = name.split(":", 1)[1]
        assert report["markets"][market].startswith("r"), (market, report["markets"])
        quoted_after = con.execute(
            "select count(*) from book_samples where market = $m and quoting"
            " and ts > (select min(ts) from book_samples) + to_seconds($t::double)",
            {"m": market, "t": report["killed_at_s"] + 8},
        ).fetchone()[0]
        assert quoted_after > 0, f"{market} did not quote after the node loss"


def test_after_node_loss_every_fill_hedged_once_and_ledger_reconciles(node_loss_run):
    report, con = node_loss_run
    cfg = load_config(LOCAL_CONFIG)
    assert checks.fills_not_booked_exactly_once(con) == []
    assert checks.unbalanced_entry_sets(con) == []
    assert checks.fills_unhedged_without_reason(con) == []
    assert checks.exposure_over_threshold(con, cfg) == []
    assert report["reconciliation"] and report["reconciled"], report["reconciliation"]
    venues = SimpleNamespace(reconciliation=report["reconciliation"])
    assert checks.ledger_vs_venues(con, venues) == []  # the Parquet ledger agrees too
