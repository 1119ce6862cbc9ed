"""Cutting a hedge too big for one trade into slices sent over time (TWAP-like).

A hedge whose notional exceeds `max_notional_per_trade` is not refused: it is
cut into equal slices, each small enough to pass the per-trade cap even at the
worst price the slippage bound allows, and sent `slice_interval_s` apart. Equal
slices at equal intervals is the time-weighted schedule; it is also the
optimal one for a risk-neutral trader facing linear temporary impact (Almgren
& Chriss 2000, "Optimal execution of portfolio transactions", sec. 2.3, the
lambda = 0 case), and it lets each venue's book refill between slices.

The schedule is pure: it takes `now_ns` and returns when each slice is due;
the router sleeps until then and plans each slice on the books it sees then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal

from engine.config import RiskConfig
from engine.types import HedgeIntent


@dataclass(frozen=True, slots=True)
class HedgeSlice:
    """One slice of a hedge: its own intent (own hedge id, so own client ids) and due time."""

    intent: HedgeIntent
    index: int
    count: int
    due_ns: int
    parent_hedge_id: str

    @property
    def reason(self) -> str:
        return f"twap slice {self.index + 1}/{self.count}"


def slice_notional_cap(risk: RiskConfig) -> float:
    """The most quote one slice may be worth at mid so every leg passes the per-trade cap.

    A leg is capped at `max_notional_per_trade` at its limit price, which may sit
    up to `max_slippage_bps` beyond mid; a slice sized at mid must leave that room.
    """
    return risk.max_notional_per_trade / (1.0 + risk.max_slippage_bps / 10_000)


def slice_schedule(
    intent: HedgeIntent, mid: float | None, risk: RiskConfig, now_ns: int
) -> tuple[HedgeSlice, ...]:
    """The slices of `intent`, due `risk.slice_interval_s` apart from `now_ns`.

    One slice (the intent itself, due now) when the hedge fits one trade or when
    there is no mid to size it by (the planner's caps still apply). Otherwise
    `n = ceil(notional / cap)` equal slices, at most `risk.max_slices`; with
    the cap reached, the slices stay at the per-trade size and the rest of the
    amount is left for the caller to report as residual (`residual_after`).
    Slice amounts are exact decimals that add up to what is scheduled.
    """
    if not math.isfinite(intent.amount) or intent.amount < 0:
        raise ValueError(f"intent.amount must be a finite number >= 0, got {intent.amount!r}")
    cap = slice_notional_cap(risk)
    if mid is None or not math.isfinite(mid) or mid <= 0 or intent.amount * mid <= cap:
        return (HedgeSlice(intent, 0, 1, now_ns, intent.hedge_id),)
    total = Decimal(repr(intent.amount))
    needed = math.ceil(intent.amount * mid / cap)
    count = min(needed, risk.max_slices)
    if needed <= risk.max_slices:
        each = (total / count).quantize(Decimal("1e-12"), rounding=ROUND_FLOOR)
        amounts = [each] * (count - 1) + [total - each * (count - 1)]
    else:
        each = Decimal(repr(cap / mid)).quantize(Decimal("1e-12"), rounding=ROUND_FLOOR)
        amounts = [each] * count
    interval_ns = int(risk.slice_interval_s * 1e9)
    return tuple(
        HedgeSlice(
            intent=replace(
                intent,
                hedge_id=f"{intent.hedge_id}-s{i}",
                amount=float(amount),
                reason=f"{intent.reason}; twap slice {i + 1}/{count}",
            ),
            index=i,
            count=count,
            due_ns=now_ns + i * interval_ns,
            parent_hedge_id=intent.hedge_id,
        )
        for i, amount in enumerate(amounts)
    )


def residual_after(intent: HedgeIntent, slices: tuple[HedgeSlice, ...]) -> float:
    """What the schedule leaves unscheduled (> 0 only when `max_slices` was reached)."""
    scheduled = sum((Decimal(repr(s.intent.amount)) for s in slices), Decimal(0))
    return float(max(Decimal(0), Decimal(repr(intent.amount)) - scheduled))
