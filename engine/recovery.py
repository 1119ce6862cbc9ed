"""What a restarted router does with what its crashed predecessor left, decided here.

Pure: the router gathers what the ledger journaled and what the venues say
about each child order by client id; these functions turn that into the
intent a hedge had, its `hedge_orders` rows and the summary the ledger
journals so rows lost in a crash can be rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.hedging.intents import hedge_outcome, source_fill_of
from engine.hedging.records import order_row, skip_row
from engine.ledger import Ledger, Posting
from engine.types import ChildOrderResult, Fill, HedgeIntent, HedgeOutcome, Side, split_symbol


@dataclass(frozen=True, slots=True)
class RecordedChild:
    """One child order as `hedge_orders` shows it after a recovery."""

    venue: str
    client_order_id: str
    amount: float
    filled: float
    status: str
    order_type: str | None = None
    limit_price: float | None = None

    @classmethod
    def of(cls, r: ChildOrderResult) -> RecordedChild:
        o = r.order
        filled = float(r.filled)
        return cls(
            o.venue, o.client_order_id, o.amount, filled, r.status, o.order_type, o.limit_price
        )


def recovered_intent(
    hedge_id: str,
    symbol: str,
    pending: tuple[str, Decimal] | None,
    results: Sequence[ChildOrderResult],
) -> HedgeIntent:
    """The intent of an in-flight hedge: from the ledger's pending entry (symbol, base
    delta) for a mirror hedge, else from what the venues say its children were."""
    if pending is not None:
        symbol, delta = pending
        side = Side.BUY if delta > 0 else Side.SELL
        amount = float(abs(delta))
    else:
        side = results[0].order.side if results else Side.BUY
        amount = sum(r.order.amount for r in results)
    return HedgeIntent(hedge_id, symbol, side, amount, source_fill_id=source_fill_of(hedge_id))


def abandoned_intent(hedge_id: str, symbol: str, delta: Decimal) -> HedgeIntent:
    """A mirror hedge pending in the ledger that never sent a child order."""
    return recovered_intent(hedge_id, symbol, (symbol, delta), ())


def recovery_rows(
    intent: HedgeIntent,
    children: Sequence[RecordedChild],
    reason: str,
    residual_reason: str,
    now: int,
) -> list[dict[str, Any]]:
    """`hedge_orders` rows of a recovered hedge: its children, and what stays open."""
    rows = [
        order_row(
            intent,
            now,
            venue=c.venue,
            client_order_id=c.client_order_id,
            order_type=c.order_type,
            amount=c.amount,
            limit_price=c.limit_price,
            status=c.status,
            reason=reason,
            filled_amount=c.filled,
        )
        for c in children
    ]
    left = intent.amount - sum(c.filled for c in children)
    if left > 1e-12:
        rows.append(skip_row(intent, left, residual_reason, now))
    return rows


def recovered_hedge(
    hedge_id: str,
    symbol: str,
    sent: int,
    pending: tuple[str, Decimal] | None,
    results: Sequence[ChildOrderResult],
    now: int,
) -> tuple[HedgeOutcome, list[dict[str, Any]]]:
    """A hedge the crashed router had in flight, concluded from what the venues say its
    `sent` children did: its outcome for the ledger and its `hedge_orders` rows."""
    intent = recovered_intent(hedge_id, symbol, pending, results)
    reason = f"recovered after a router restart: {len(results)}/{sent} found"
    outcome = hedge_outcome(intent, results, [reason])
    rows = recovery_rows(
        intent,
        [RecordedChild.of(r) for r in results],
        reason,
        f"{reason}; the rest is the rebalancer's",
        now,
    )
    return outcome, rows


ABANDONED_REASON = "router restarted before sending; the rebalancer nets its exposure"


def abandoned_rows(hedge_id: str, symbol: str, delta: Decimal, now: int) -> list[dict[str, Any]]:
    """The row of a pending mirror hedge that never sent a child order before a crash."""
    why = ABANDONED_REASON
    return recovery_rows(
        abandoned_intent(hedge_id, symbol, delta),
        [],
        why,
        f"{why}; the rest is the rebalancer's",
        now,
    )


def rebuilt_rows(hedge_id: str, summary: dict[str, Any], now: int) -> list[dict[str, Any]]:
    """The rows of a hedge the crashed router concluded but never wrote, from the
    ledger's journaled `outcome_summary`."""
    intent = HedgeIntent(
        hedge_id, summary["symbol"], Side(summary["side"]), summary["requested"],
        summary["source_fill_id"],
    )  # fmt: skip
    why = f"rebuilt after a router restart: {summary['reason']}"
    return recovery_rows(intent, summarised_children(summary), why, why, now)


def outcome_summary(outcome: HedgeOutcome) -> dict[str, Any]:
    """A concluded hedge in a few fields: what its `hedge_orders` rows would say."""
    children: dict[tuple[str, str], Decimal] = {}
    for e in outcome.executions:
        key = (e.venue, e.client_order_id)
        children[key] = children.get(key, Decimal(0)) + e.amount
    return {
        "symbol": outcome.symbol,
        "side": outcome.side.value,
        "requested": outcome.requested,
        "status": outcome.status.value,
        "reason": outcome.reason,
        "source_fill_id": outcome.source_fill_id,
        "children": [[v, c, str(a)] for (v, c), a in sorted(children.items())],
    }


def summarised_children(summary: dict[str, Any]) -> list[RecordedChild]:
    """The children of an `outcome_summary`, as filled rows."""
    return [
        RecordedChild(venue, coid, float(filled), float(filled), "filled")
        for venue, coid, filled in summary["children"]
    ]


def carried_exposure(
    quote_asset: str,
    postings: Sequence[Posting],
    carried_before: Mapping[str, Decimal],
    landed: Sequence[ChildOrderResult],
    late_fills: Sequence[Fill] = (),
) -> dict[str, Decimal]:
    """The base exposure a previous run left open, per asset (non-zero only).

    Its booked position (fills and concluded hedges, from its journal), what it had
    itself carried, and the child orders it had in flight that the venues say
    executed after it stopped: those moved the venue balances the new run opens at,
    but no ledger booked them. A hedge in flight is booked whole at its outcome, so
    none of its executions is in the postings already. `late_fills`: home fills of
    its quotes after it stopped, which no ledger booked either.
    """
    out: dict[str, Decimal] = dict(carried_before)
    for asset, position in Ledger.replay(quote_asset, postings).positions().items():
        if asset != quote_asset:
            out[asset] = out.get(asset, Decimal(0)) + position
    for r in landed:
        base, _ = split_symbol(r.order.symbol)
        out[base] = out.get(base, Decimal(0)) + r.order.side.sign * r.filled
    for f in late_fills:
        base, _ = split_symbol(f.market)
        out[base] = out.get(base, Decimal(0)) + f.side.sign * f.amount
    return {a: v for a, v in sorted(out.items()) if v != 0}


def booked_fill_keys(postings: Sequence[Posting]) -> dict[str, int]:
    """How many home fills a run booked per `"{client order id}@{ts_ns}"` (fill ids are
    `{client order id}-f{n}`): what `settle_earlier_runs` must not count again."""
    refs = {p.ref: p.ts_ns for p in postings if p.kind == "fill"}
    out: dict[str, int] = {}
    for ref, ts_ns in refs.items():
        key = f"{ref.rsplit('-f', 1)[0]}@{ts_ns}"
        out[key] = out.get(key, 0) + 1
    return out


def fill_look_back(
    postings: Sequence[Posting], symbols: Sequence[str], *, started_ns: int, lookback_ns: int
) -> dict[str, int]:
    """Per market, from when to read a stopped run's home trades for fills it never
    booked: `lookback_ns` before its last booked fill of that market (a fill it had
    polled but not delivered may be older than a later booked one), never before
    `started_ns`. A fill entry's market is the pair of assets its lines move."""
    by_pair = {frozenset(split_symbol(s)): s for s in symbols}
    assets: dict[str, set[str]] = {}
    ts: dict[str, int] = {}
    for p in postings:
        if p.kind == "fill":
            assets.setdefault(p.ref, set()).add(p.asset)
            ts[p.ref] = p.ts_ns
    latest: dict[str, int] = {}
    for ref, moved in assets.items():
        for pair, symbol in by_pair.items():
            if pair <= moved:
                latest[symbol] = max(latest.get(symbol, ts[ref]), ts[ref])
    return {s: max(started_ns, latest.get(s, started_ns) - lookback_ns) for s in symbols}
