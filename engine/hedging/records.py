"""The one builder of `hedge_orders` and `hedge_fills` rows.

Every writer of these tables (the router, a restarted router rebuilding what
it lost, both backtests, the benchmarks) builds its rows here, so a column
means the same thing whoever wrote it (schema: `analytics/schemas.py`).

A `hedge_orders` row is one child order sent (venue, client id, limit,
status, what it filled) or an amount decided not to be sent (`venue` null,
status `skipped`, and why). Every row of a slice carries the decision
benchmarks and the all-in price its executions achieved, so `hedge_quality`
and `sla` can weigh the saving by executed amount.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from engine.routing.planner import VenueQuote
from engine.routing.quality import DecisionBenchmarks, achieved_all_in_price, saving_bps
from engine.types import ChildOrderResult, Execution, HedgeIntent, Side

Row = dict[str, Any]

SKIPPED = "skipped"
MODELLED_REASON = "backtest: filled at once at the venue's touch"


def order_row(
    intent: HedgeIntent,
    ts_ns: int,
    *,
    amount: float,
    status: str,
    reason: str,
    filled_amount: float = 0.0,
    venue: str | None = None,
    client_order_id: str | None = None,
    order_type: str | None = None,
    limit_price: float | None = None,
    decision_mid: float | None = None,
    quality: Row | None = None,
) -> Row:
    """One `hedge_orders` row of `intent` (a child order, or an amount not sent)."""
    return {
        "ts": ts_ns,
        "market": intent.symbol,
        "hedge_id": intent.hedge_id,
        "source_fill_id": intent.source_fill_id,
        "side": intent.side.value,
        "venue": venue,
        "client_order_id": client_order_id,
        "type": order_type,
        "amount": amount,
        "limit_price": limit_price,
        "decision_mid": decision_mid,
        "status": status,
        "reason": reason,
        "filled_amount": filled_amount,
        **(quality or {}),
    }


def skip_row(intent: HedgeIntent, amount: float, reason: str, ts_ns: int) -> Row:
    """An amount of `intent` decided not to be sent, and why."""
    return order_row(intent, ts_ns, amount=amount, status=SKIPPED, reason=reason)


def quality_fields(side: Side, executions: Sequence[Execution], bench: DecisionBenchmarks) -> Row:
    """The execution-quality columns of a slice: benchmarks and what was achieved."""
    achieved = achieved_all_in_price(side, executions)
    return {
        "achieved_all_in_price": achieved,
        "best_single_venue": bench.best_single_venue,
        "best_single_all_in_price": bench.best_single_all_in_price,
        "optimum_all_in_price": bench.optimum_all_in_price,
        "saving_bps": saving_bps(side, achieved, bench.best_single_all_in_price),
    }


def decision_fields(
    quotes: Iterable[VenueQuote], plan_reasons: Sequence[str], decided_ns: int
) -> Row:
    """The books a slice was planned on (touch, age at the decision, fee, what the balance
    could pay) and the plan's reasons (venues left out, shortfalls), as JSON columns."""
    books = [
        {
            "venue": q.venue,
            "best_bid": q.book.best_bid,
            "best_ask": q.book.best_ask,
            "age_ms": (decided_ns - q.book.ts_ns) / 1e6,
            "taker_fee": q.taker_fee,
            "available": q.available,
        }
        for q in sorted(quotes, key=lambda q: q.venue)
    ]
    return {"decision_books": json.dumps(books), "plan_reasons": json.dumps(list(plan_reasons))}


def slice_rows(
    parent: HedgeIntent,
    slice_reason: str,
    results: Sequence[ChildOrderResult],
    residual: float,
    plan_reasons: Sequence[str],
    ts_ns: int,
    bench: DecisionBenchmarks,
    decision: Row | None = None,
) -> list[Row]:
    """One row per child of a slice, and one for what its plan left unplanned; every row
    carries the slice's `decision` (`decision_fields`) when given."""
    executions = [e for r in results for e in r.executions]
    quality = {**quality_fields(parent.side, executions, bench), **(decision or {})}
    rows = [
        order_row(
            parent,
            ts_ns,
            venue=r.order.venue,
            client_order_id=r.order.client_order_id,
            order_type=r.order.order_type,
            amount=r.order.amount,
            limit_price=r.order.limit_price,
            decision_mid=r.order.decision_mid,
            status=r.status,
            reason=r.reason or slice_reason,
            filled_amount=float(r.filled),
            quality=quality,
        )
        for r in results
    ]
    if residual > 0:
        rows.append(
            order_row(
                parent,
                ts_ns,
                amount=residual,
                status=SKIPPED,
                reason="; ".join((slice_reason, *plan_reasons)),
                quality=quality,
            )
        )
    return rows


def execution_rows(executions: Iterable[Execution], ts_ns: int) -> list[Row]:
    """`hedge_fills` rows: one per execution a venue reported (`ts_ns` if it gave none)."""
    return [
        {
            "ts": e.ts_ns or ts_ns,
            "market": e.symbol,
            "hedge_id": e.hedge_id,
            "client_order_id": e.client_order_id,
            "venue": e.venue,
            "side": e.side.value,
            "price": float(e.price),
            "amount": float(e.amount),
            "cost": float(e.cost),
            "fee": float(e.fee),
            "fee_currency": e.fee_currency,
        }
        for e in executions
    ]


def modelled_hedge_columns(
    n: int,
    *,
    ts: Any,
    market: str,
    hedge_ids: Any,
    client_order_ids: Any,
    source_fill_ids: Any,
    venue: Any,
    side: Any,
    amount: Any,
    decision_mid: Any,
    price: Any,
    cost: Any,
    fee: Any,
    fee_currency: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`hedge_orders`, `hedge_fills`) columns of `n` modelled hedges: market orders
    filled at once at a venue's touch, as the backtests model them (no routing).

    Each per-hedge argument is a sequence (or array) of length `n`.
    """
    common = {"ts": ts, "market": [market] * n, "hedge_id": hedge_ids}
    orders = {
        **common,
        "source_fill_id": source_fill_ids,
        "venue": venue,
        "client_order_id": client_order_ids,
        "side": side,
        "type": ["market"] * n,
        "amount": amount,
        "limit_price": [None] * n,
        "decision_mid": decision_mid,
        "status": ["filled"] * n,
        "reason": [MODELLED_REASON] * n,
        "filled_amount": amount,
    }
    fills = {
        **common,
        "client_order_id": client_order_ids,
        "order_id": client_order_ids,
        "venue": venue,
        "side": side,
        "price": price,
        "amount": amount,
        "cost": cost,
        "fee": fee,
        "fee_currency": [fee_currency] * n,
    }
    return orders, fills


def rows_of(columns: dict[str, Any]) -> list[Row]:
    """Columns of equal length as rows (for writers that take rows)."""
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
