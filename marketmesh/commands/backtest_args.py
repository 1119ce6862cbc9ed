"""`marketmesh backtest` arguments: which markets and policies can run, and when it starts.

Kept apart from the runner so the CLI and the worker processes share one set
of checks and one error type whose message names the flag at fault.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from engine.config.market import PolicyName

if TYPE_CHECKING:
    from engine.config import AppConfig, MarketConfig

# policies the backtest can drive: `mirror` needs the external venues' books, not simulated here
BACKTEST_POLICIES: tuple[str, ...] = tuple(
    p.value for p in PolicyName if p is not PolicyName.MIRROR
)


class BacktestArgsError(ValueError):
    """Arguments that cannot run: the message names the flag and the reason."""


class BacktestEngine(StrEnum):
    EXACT = "exact"
    FAST = "fast"


def resolve_markets(
    cfg: AppConfig, symbols: list[str] | None, policy: str | None
) -> list[MarketConfig]:
    """The markets to run, with the policy override applied; clear errors for bad names."""
    from engine.quoting import build_policy

    known = [m.symbol for m in cfg.markets]
    for symbol in symbols or []:
        if symbol not in known:
            raise BacktestArgsError(
                f"--market {symbol}: not in the config; known: {', '.join(known)}"
            )
    if policy is not None and policy not in BACKTEST_POLICIES:
        raise BacktestArgsError(
            f"--policy {policy}: unknown policy; known: {', '.join(sorted(BACKTEST_POLICIES))}"
        )
    chosen = [m for m in cfg.markets if symbols is None or m.symbol in symbols]
    out = []
    for m in chosen:
        if policy is not None:
            m = m.model_copy(update={"policy": PolicyName(policy)})
        if m.policy not in BACKTEST_POLICIES:
            policies = ", ".join(sorted(BACKTEST_POLICIES))
            raise BacktestArgsError(
                f"market {m.symbol}: policy '{m.policy}' cannot be backtested (it needs the "
                f"external venues' books); use --policy with one of {policies}"
            )
        try:
            build_policy(m)
        except (ValueError, ImportError, AttributeError) as exc:
            raise BacktestArgsError(f"--policy {m.policy}: not available: {exc}") from None
        out.append(m)
    return out


def start_ns(start: str | None, days: float) -> int:
    if start is None:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return int((midnight - timedelta(days=max(1, int(-(-days // 1))))).timestamp()) * 10**9
    try:
        when = datetime.fromisoformat(start)
    except ValueError:
        raise BacktestArgsError(
            f"--start {start}: expected an ISO date or time, e.g. 2026-11-01 or 2026-11-01T10:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 10**9
