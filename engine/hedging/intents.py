"""Hedge intents made from fills, and how a hedge ends.

Hedge ids are derived from fill ids, so the router, the ledger and a
restarted process all name the same hedge the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from engine.routing.reasons import is_fault
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


def shortfall(results: Sequence[ChildOrderResult], plan_reasons: Sequence[str]) -> list[str]:
    """Why a hedge fell short: the plan's reasons (typed where they were made), then
    each child order that did not fill (a fault: a reject, an expiry, a timeout)."""
    return [
        *plan_reasons,
        *(f"{r.order.venue}: {r.status}: {r.reason}" for r in results if r.status != "filled"),
    ]


def hedge_outcome(
    intent: HedgeIntent, results: Sequence[ChildOrderResult], plan_reasons: Sequence[str]
) -> HedgeOutcome:
    """Fold child-order results into one outcome with the reasons for any shortfall."""
    executions = tuple(e for r in results for e in r.executions)
    filled = sum((e.amount for e in executions), Decimal(0))
    requested = Decimal(str(intent.amount))
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
        reason="; ".join(shortfall(results, plan_reasons)),
        executions=executions,
        source_fill_id=intent.source_fill_id,
    )


def failed(status: HedgeStatus, reasons: Sequence[str]) -> bool:
    """A hedge that executed nothing for a fault, by the kinds of its `reasons`
    (`shortfall`; `engine.routing.reasons`). Counting hedges with nothing left to trade
    as failures had fired the `hedge_failures` alert on a healthy default run: all 33
    hedges of a 180 s run that executed nothing were "not needed" or dust."""
    return status is HedgeStatus.SKIPPED and is_fault(reasons)


def skipped_outcome(intent: HedgeIntent, reason: str) -> HedgeOutcome:
    """A hedge decided not to be sent at all (nothing executes), and why."""
    return HedgeOutcome(
        hedge_id=intent.hedge_id,
        symbol=intent.symbol,
        side=intent.side,
        requested=intent.amount,
        status=HedgeStatus.SKIPPED,
        reason=str(reason),  # the text: the kind is counted where the reason was made
        source_fill_id=intent.source_fill_id,
    )
