"""Hedge modes: what home fills ask of the hedge venues, and how a hedge ends.

* `mirror`: each fill is hedged on its own, at once (`mirror_intent`).
* `net`: fills are left to the rebalancer, which hedges each asset's net
  exposure across markets on a timer (`engine.netting`).
* `hybrid`: a market's fills wait and net out until their net is big enough
  or old enough (`hybrid_trigger`), then one hedge covers them all
  (`hybrid_intent`), cut to what the asset's open gap still needs
  (`cap_to_open_gap`) so netting elsewhere is never hedged twice.

Hedge ids are derived from fill ids, so the router, the ledger and a
restarted process all name the same hedge the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.types import ChildOrderResult, Fill, HedgeIntent, HedgeOutcome, HedgeStatus, Side


def mirror_hedge_id(fill_id: str) -> str:
    return f"m-{fill_id}"


def source_fill_of(hedge_id: str) -> str | None:
    """The fill a mirror hedge id was made from (None for rebalancer/hybrid hedges)."""
    return hedge_id[2:] if hedge_id.startswith("m-") else None


def mirror_intent(fill: Fill) -> HedgeIntent:
    """A home fill is hedged by trading the same amount on the opposite side."""
    return HedgeIntent(
        hedge_id=mirror_hedge_id(fill.fill_id),
        symbol=fill.market,
        side=fill.side.opposite,
        amount=float(fill.amount),
        source_fill_id=fill.fill_id,
        reason="mirror",
        source_ts_ns=fill.ts_ns,
    )


def hedge_outcome(
    intent: HedgeIntent, results: Sequence[ChildOrderResult], plan_reasons: Sequence[str]
) -> HedgeOutcome:
    """Fold child-order results into one outcome with the reasons for any shortfall."""
    executions = tuple(e for r in results for e in r.executions)
    filled = sum((e.amount for e in executions), Decimal(0))
    requested = Decimal(str(intent.amount))
    reasons = list(plan_reasons)
    reasons += [f"{r.order.venue}: {r.status}: {r.reason}" for r in results if r.status != "filled"]
    if filled >= requested:
        status = HedgeStatus.HEDGED
    elif filled > 0:
        status = HedgeStatus.PARTIAL
    else:
        status = HedgeStatus.SKIPPED
    return HedgeOutcome(
        hedge_id=intent.hedge_id,
        symbol=intent.symbol,
        side=intent.side,
        requested=intent.amount,
        status=status,
        reason="; ".join(reasons),
        executions=executions,
        source_fill_id=intent.source_fill_id,
    )


# hybrid mode ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnhedgedFills:
    """One market's fills not hedged yet (hybrid mode), in arrival order."""

    market: str
    fills: tuple[Fill, ...] = ()

    @property
    def net_base(self) -> Decimal:
        """Base the fills added: > 0 when the bot bought more than it sold."""
        return sum((f.side.sign * f.amount for f in self.fills), Decimal(0))

    @property
    def oldest_ts_ns(self) -> int | None:
        return min((f.ts_ns for f in self.fills), default=None)

    def add(self, fill: Fill) -> UnhedgedFills:
        return UnhedgedFills(self.market, (*self.fills, fill))


def hybrid_trigger(
    unhedged: UnhedgedFills,
    mid: float | None,
    *,
    threshold_quote: float,
    max_age_s: float,
    now_ns: int,
) -> str | None:
    """Why the market's unhedged net must be hedged now, or None to keep waiting.

    Hybrid hedging waits for fills to net out (a buy then a sell needs no hedge)
    but bounds the risk it holds meanwhile: it hedges as soon as the net is
    worth `threshold_quote` at `mid`, or its oldest fill is `max_age_s` old.
    Without a mid, only age can trigger. A net of zero never triggers (there is
    nothing to hedge), whatever its age.
    """
    net = unhedged.net_base
    if net == 0:
        return None
    if mid is not None and mid > 0:
        notional = abs(float(net)) * mid
        if notional >= threshold_quote:
            return f"hybrid: net {notional:.2f} quote >= threshold {threshold_quote:g}"
    oldest = unhedged.oldest_ts_ns
    if oldest is not None:
        age_s = (now_ns - oldest) / 1e9
        if age_s >= max_age_s:
            return f"hybrid: oldest fill {age_s:.2f}s >= max age {max_age_s:g}s"
    return None


def hybrid_intent(unhedged: UnhedgedFills, reason: str) -> HedgeIntent | None:
    """One hedge for the market's whole unhedged net; None when it nets to zero.

    The hedge id is derived from the fills it covers, so a replay of the same
    fills names the same hedge (and the same client order ids).
    """
    net = unhedged.net_base
    if net == 0 or not unhedged.fills:
        return None
    digest = hashlib.sha1("|".join(f.fill_id for f in unhedged.fills).encode()).hexdigest()
    first = unhedged.fills[0]
    return HedgeIntent(
        hedge_id=f"h-{digest[:20]}",
        symbol=unhedged.market,
        side=Side.SELL if net > 0 else Side.BUY,
        amount=float(abs(net)),
        source_fill_id=first.fill_id,
        reason=reason,
        source_ts_ns=first.ts_ns,
    )


def cap_to_open_gap(side: Side, amount: float, gap: Decimal) -> float:
    """The part of a hedge on `side` that the asset's open gap still needs.

    `gap` is the asset's exposure once every known hedge lands (> 0 long). A
    sell closes a long gap, a buy a short one; a hedge against a gap that is
    already closed (netting elsewhere got there first) or on the wrong side
    would over-hedge, so it shrinks to what the gap leaves, possibly zero.
    """
    need = gap if side is Side.SELL else -gap
    if need <= 0:
        return 0.0
    return float(min(Decimal(repr(amount)), need))
