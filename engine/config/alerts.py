"""Alert rules: a condition held for a while, and the action it triggers."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from engine.config.base import NonNegFloat, PositiveFloat, _Frozen


class AlertKind(StrEnum):
    SPREAD_BREACH = "spread_breach"
    DEPTH_BELOW_TARGET = "depth_below_target"
    NOT_QUOTING = "not_quoting"
    HEDGE_FAILURES = "hedge_failures"
    EXPOSURE_OVER_THRESHOLD = "exposure_over_threshold"
    VENUE_UNHEALTHY = "venue_unhealthy"
    STREAM_DOWN = "stream_down"  # a venue's websocket is down: it runs on paced REST
    STALE_REFERENCE = "stale_reference"
    PNL_DRAWDOWN = "pnl_drawdown"
    STORAGE_FAILURE = "storage_failure"  # always on: see AlertsConfig.storage_*


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
    revert_after_s: NonNegFloat | None = Field(
        default=60.0,
        description="widen: the condition clear this long reverts to the configured target "
        "(hysteresis: a breach in between restarts the wait); null never reverts",
    )
    max_failures: Annotated[int, Field(ge=1)] = 3
    max_drawdown_quote: PositiveFloat = 1_000.0
    severity: str = "warning"


class AlertsConfig(_Frozen):
    """Rules, and where alerts are POSTed.

    The webhook is an outbound request carrying the alert: http(s) only, never
    redirected (a redirect could carry the body to another host), to a host on
    `webhook_allowed_hosts` when that list is given, never to a link-local
    address (cloud metadata services live there). The URL may hold a token, so
    it is a secret and no message repeats it.

    Storage faults are always watched (`storage_failure`): an alert once an
    actor's Parquet writes have failed for `storage_alert_after_s`, and the
    clean stop (cancel quotes, hedge, reconcile) after `storage_max_outage_s`.
    """

    rules: list[AlertRuleConfig] = Field(default_factory=list)
    webhook_url: SecretStr | None = None
    webhook_timeout_s: PositiveFloat = 3.0
    webhook_allowed_hosts: list[str] = Field(
        default_factory=list, description="when given, the webhook's host must be one of these"
    )
    storage_alert_after_s: NonNegFloat = 10.0
    storage_max_outage_s: PositiveFloat = 120.0

    @field_validator("webhook_url")
    @classmethod
    def _webhook_shape(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            webhook_problem(url.get_secret_value(), [])  # scheme/host checks, no allow-list
        return url

    @model_validator(mode="after")
    def _webhook_allowed(self) -> AlertsConfig:
        if self.webhook_url is not None and self.webhook_allowed_hosts:
            webhook_problem(self.webhook_url.get_secret_value(), self.webhook_allowed_hosts)
        return self


def webhook_problem(url: str, allowed_hosts: list[str]) -> None:
    """Raise ValueError (never quoting the URL, it may hold a token) unless `url` is an
    http(s) URL with a host that is not link-local and, if a list is given, on it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise ValueError("webhook_url: not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"webhook_url: scheme {parts.scheme or '(none)'!r}: only http or https")
    if not host:
        raise ValueError("webhook_url: no host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and (address.is_link_local or address.is_multicast):
        raise ValueError("webhook_url: a link-local or multicast address is not allowed")
    if allowed_hosts and host.lower() not in {h.lower() for h in allowed_hosts}:
        raise ValueError("webhook_url: host is not in webhook_allowed_hosts")
