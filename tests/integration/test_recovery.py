"""kill -9 mid-run, under fills: the ledger restarts from its journal and nothing is
lost or counted twice. One 35 s run; every assertion reads what the run wrote."""

from __future__ import annotations

import os
import signal

import pytest
import ray

from actors.control import CONTROL_NAME
from analytics.views import connect
from engine.config import load_config
from marketmesh.runner import run_graph
from tests.conftest import LOCAL_CONFIG
from tests.integration import checks

pytestmark = pytest.mark.integration

DURATION_S = 35
KILL_LEDGER_AT_S = 10


@pytest.fixture(scope="module")
def crashed_run(ray_session, tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("recovery-data"))
    cfg = load_config(LOCAL_CONFIG)
    killed: dict[str, int] = {}

    def crash(elapsed_s, _markets, _router):
        if elapsed_s >= KILL_LEDGER_AT_S and "ledger" not in killed:
            ledger = ray.get(ray.get_actor(CONTROL_NAME).handles.remote())["ledger"]
            info = ray.get(ledger.process_info.remote())
            os.kill(info["pid"], signal.SIGKILL)
            killed["ledger"] = info["pid"]

    result = run_graph(
        cfg, config_path=LOCAL_CONFIG, duration_s=DURATION_S, data_dir=data_dir, on_status=crash
    )
    return cfg, result, connect(data_dir), killed


def test_the_ledger_was_killed_and_came_back_from_its_journal(crashed_run):
    _, result, con, killed = crashed_run
    assert "ledger" in killed
    # fills kept coming after the crash, and were booked by the new incarnation
    late = con.execute(
        "select count(*) from fills"
        " where ts > (select min(ts) from fills) + to_seconds(?::double)",
        [KILL_LEDGER_AT_S + 5],
    ).fetchone()[0]
    assert late > 0
    assert result.reconciliation


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
