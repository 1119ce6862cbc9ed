"""The `hedge_failures` alert counts hedges that failed, not hedges with nothing to trade."""

from __future__ import annotations

from actors.context import RunContext
from engine.config import AlertAction, AlertKind, AlertRuleConfig, load_config
from marketmesh.monitoring import GraphMonitor
from tests.conftest import LOCAL_CONFIG


def test_skips_with_nothing_to_trade_do_not_fire_hedge_failures_and_failures_do(tmp_path):
    base = load_config(LOCAL_CONFIG)
    rule = AlertRuleConfig(
        rule=AlertKind.HEDGE_FAILURES, max_failures=3, for_s=0, action=AlertAction.NOTIFY
    )
    config = base.model_copy(update={"alerts": base.alerts.model_copy(update={"rules": [rule]})})
    monitor = GraphMonitor(config, RunContext("r", "c", str(tmp_path), 0, 7), {})
    monitor._read_exposure = dict  # no ledger here: exposure is not what this watches
    try:
        fired = [
            [a["message"] for a in monitor.tick([], router) if a["kind"] == "hedge_failures"]
            for router in (
                {"skipped": 0, "failed": 0},
                {"skipped": 40, "failed": 0},  # dust and "not needed": a healthy desk
                {"skipped": 43, "failed": 3},  # three rejects
            )
        ]
    finally:
        monitor.close()
    assert fired[:2] == [[], []]
    assert len(fired[2]) == 1 and "3 hedges executed nothing" in fired[2][0]
