"""Hybrid hedging: a market's fills wait and net out until big or old enough.

A buy then a sell needs no hedge, so waiting saves fees and spread; the risk
held meanwhile is bounded by a notional threshold and a maximum age
(`hybrid_trigger`). When it fires, one hedge covers the market's whole net
(`hybrid_intent`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from engine.types import Fill, HedgeIntent, Side


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


def pool_hedge_id(unhedged: UnhedgedFills) -> str:
    """The id of the hedge covering these fills: derived from their ids, so a replay
    of the same fills names the same hedge (and the same client order ids)."""
    digest = hashlib.sha1("|".join(f.fill_id for f in unhedged.fills).encode()).hexdigest()
    return f"h-{digest[:20]}"


def hybrid_intent(unhedged: UnhedgedFills, reason: str) -> HedgeIntent | None:
    """One hedge for the market's whole unhedged net; None when it nets to zero."""
    net = unhedged.net_base
    if net == 0 or not unhedged.fills:
        return None
    first = unhedged.fills[0]
    return HedgeIntent(
        hedge_id=pool_hedge_id(unhedged),
        symbol=unhedged.market,
        side=Side.SELL if net > 0 else Side.BUY,
        amount=float(abs(net)),
        source_fill_id=first.fill_id,
        reason=reason,
        source_ts_ns=first.ts_ns,
    )
