"""Issue 13: the driver carries out a widening's revert on the market actor and records it."""

from __future__ import annotations

from typing import Any

import pytest

from actors.context import RunContext
from analytics.views import connect
from engine.alerts import MarketObservation, Observation
from engine.config import AlertAction, AlertKind, AlertRuleConfig, load_config
from marketmesh import monitoring
from marketmesh.monitoring import GraphMonitor
from tests.conftest import LOCAL_CONFIG

S = 10**9


class _Remote:
    def __init__(self, fn: Any) -> None:
        self.remote = fn


class FakeMarket:
    """A MarketActor's widen / restore calls, answered at once."""

    def __init__(self) -> None:
        self.target = 8.0
        self.on_widen = _Remote(self._widen)
        self.on_restore_target = _Remote(self._restore)

    def _widen(self, market: str, factor: float, reason: str) -> float:
        self.target *= factor
        return self.target

    def _restore(self, market: str, reason: str) -> float:
        self.target = 8.0
        return self.target


def _obs(t: int, spread: float) -> Observation:
    m = MarketObservation("BTC/USDT", True, spread, 8.0, 1e6, 1e6, 1.0, 0.1)
    return Observation(t * S, [m])


def test_widen_then_revert_restore_the_configured_target_and_land_in_alerts(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(monitoring.ray, "get", lambda refs, timeout=None: refs)
    base = load_config(LOCAL_CONFIG)
    rule = AlertRuleConfig(
        rule=AlertKind.SPREAD_BREACH, for_s=0, action=AlertAction.WIDEN, widen_factor=1.5,
        revert_after_s=5,
    )  # fmt: skip
    config = base.model_copy(update={"alerts": base.alerts.model_copy(update={"rules": [rule]})})
    market = FakeMarket()
    monitor = GraphMonitor(
        config, RunContext("r", "c", str(tmp_path), 0, 7), {"market:BTC/USDT": market}
    )
    rows = []
    for t, spread in [(0, 9.0), (1, 5.0), (7, 5.0)]:
        rows += [monitor._act(a) for a in monitor._monitor.evaluate(_obs(t, spread))]
    monitor.close()
    assert [(r["action"], r["action_result"]) for r in rows] == [
        ("widen", "BTC/USDT target 12.00 bps"),
        ("widen_revert", "BTC/USDT target back to 8.00 bps"),
    ]
    assert market.target == 8.0 and rows[1]["severity"] == "info"
    recorded = connect(str(tmp_path)).execute("select action from alerts order by ts").fetchall()
    assert recorded == [("widen",), ("widen_revert",)]
