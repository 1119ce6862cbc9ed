"""Alert rules: a condition held for a while, and the action it triggers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, SecretStr

from engine.config.base import NonNegFloat, PositiveFloat, _Frozen


class AlertKind(StrEnum):
    SPREAD_BREACH = "spread_breach"
    DEPTH_BELOW_TARGET = "depth_below_target"
    NOT_QUOTING = "not_quoting"
    HEDGE_FAILURES = "hedge_failures"
    EXPOSURE_OVER_THRESHOLD = "exposure_over_threshold"
    VENUE_UNHEALTHY = "venue_unhealthy"
    STALE_REFERENCE = "stale_reference"
    PNL_DRAWDOWN = "pnl_drawdown"


class AlertAction(StrEnum):
    WIDEN = "widen"
    PAUSE_MARKET = "pause_market"
    HEDGE_NOW = "hedge_now"
    REBALANCE = "rebalance"
    KILL_SWITCH = "kill_switch"
    NOTIFY = "notify"


class AlertRuleConfig(_Frozen):
    """A condition that must hold for `for_s` seconds, and what to do about it."""

    rule: AlertKind
    market: str = Field(default="*", description="a symbol, or * for every market")
    for_s: NonNegFloat = 60.0
    action: AlertAction = AlertAction.NOTIFY
    widen_factor: Annotated[float, Field(gt=1, le=10)] = 1.5
    max_failures: Annotated[int, Field(ge=1)] = 3
    max_drawdown_quote: PositiveFloat = 1_000.0
    severity: str = "warning"


class AlertsConfig(_Frozen):
    rules: list[AlertRuleConfig] = Field(default_factory=list)
    webhook_url: SecretStr | None = None
    webhook_timeout_s: PositiveFloat = 3.0
