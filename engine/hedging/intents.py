"""Hedge intents made from fills, and how a hedge ends.

Hedge ids are derived from fill ids, so the router, the ledger and a
restarted process all name the same hedge the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from engine.types import ChildOrderResult, Fill, HedgeIntent, HedgeOutcome, HedgeStatus


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


# what a hedge that executed nothing says when there was nothing a venue could trade
NOTHING_TO_TRADE = ("not needed:", "lot rounding:", "below venue minimum:")
_DUST = NOTHING_TO_TRADE[1:]
_STALE_BOOK = ": stale book: "  # `old_streamed_books`' reason, after the venue's id


def failed(outcome: HedgeOutcome) -> bool:
    """A hedge that executed nothing for a fault (a reject, a timeout, no venue healthy,
    a limit), not because nothing was left to trade: the ledger's gap or hedges in
    flight already covered it ("not needed"), or what was left is below every venue's
    lot or minimum (dust the rebalancer nets). Counting those as failures fired the
    `hedge_failures` alert on a healthy default run: all 33 hedges of a 180 s run that
    executed nothing were one or the other."""
    if outcome.status is not HedgeStatus.SKIPPED:
        return False
    parts = [p.strip() for p in outcome.reason.split(";") if p.strip()]
    if any(p.startswith(_DUST) for p in parts):
        # dust left on the young books: a venue left out on a stale one is no fault, as
        # the router leaves one out of such a plan at once only if it could not take
        # the dust either (`wants_stale_venue`), and otherwise holds the hedge for it
        parts = [p for p in parts if _STALE_BOOK not in p]
    return not parts or not all(p.startswith(NOTHING_TO_TRADE) for p in parts)


def skipped_outcome(intent: HedgeIntent, reason: str) -> HedgeOutcome:
    """A hedge decided not to be sent at all (nothing executes), and why."""
    return HedgeOutcome(
        hedge_id=intent.hedge_id,
        symbol=intent.symbol,
        side=intent.side,
        requested=intent.amount,
        status=HedgeStatus.SKIPPED,
        reason=reason,
        source_fill_id=intent.source_fill_id,
    )
