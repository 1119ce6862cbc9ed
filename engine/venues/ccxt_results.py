"""What a ccxt order answer says was executed: exact `Execution`s and the child's result.

Split out of `engine/venues/ccxt_venue.py` (issue 12). Exact amounts are taken from
the venue's raw strings (`info`), never from ccxt's floats, so the ledger reconciles
with the venue to the unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.types import ChildOrder, ChildOrderResult, Execution


def trade_execution(
    venue_id: str, order: ChildOrder, order_id: str, trade: dict[str, Any]
) -> Execution:
    """One unified ccxt trade as an execution, from the venue's own strings where sent."""
    info = trade.get("info") or {}
    amount = exact(info, ("size", "qty", "amount"), trade.get("amount"))
    price = exact(info, ("price",), trade.get("price"))
    fee = trade.get("fee") or {}
    fee_cost = exact(info, ("fee", "commission"), fee.get("cost"))
    currency = str(info.get("fee_coin") or fee.get("currency") or "").upper()
    trade_id = str(trade.get("id") or f"{order_id}@{trade.get('timestamp')}:{amount}")
    return Execution(
        ts_ns=int(trade.get("timestamp") or 0) * 1_000_000,
        hedge_id=order.hedge_id,
        client_order_id=order.client_order_id,
        venue=venue_id,
        symbol=order.symbol,
        side=order.side,
        amount=amount,
        cost=price * amount,
        fee=fee_cost,
        fee_currency=currency,
        order_id=order_id,
        trade_id=trade_id,
    )


def order_result(
    venue_id: str, order: ChildOrder, resp: dict[str, Any], reason: str = ""
) -> ChildOrderResult:
    """A ccxt order answer as a result: its `fills` where sent (Binance), else its totals."""
    info = resp.get("info") or {}
    fills = info.get("fills")
    order_id = str(resp.get("id") or info.get("orderId") or "")
    if isinstance(fills, list) and fills:
        ts_ms = int(info.get("transactTime") or resp.get("timestamp") or 0)
        return fills_result(venue_id, order, order_id, fills, reason, ts_ms)
    filled = exact(info, ("executedQty", "filled"), resp.get("filled"))
    if filled == 0:
        return ChildOrderResult(order, "expired", reason=reason or "nothing executed at the limit")
    fee = resp.get("fee") or {}
    execution = Execution(
        ts_ns=int(resp.get("timestamp") or 0) * 1_000_000,
        hedge_id=order.hedge_id,
        client_order_id=order.client_order_id,
        venue=venue_id,
        symbol=order.symbol,
        side=order.side,
        amount=filled,
        cost=exact(info, ("cummulativeQuoteQty",), resp.get("cost")),
        fee=Decimal(str(fee.get("cost") or 0)),
        fee_currency=str(fee.get("currency") or ""),
        order_id=order_id,
        trade_id=f"order:{order_id}",
    )
    return finish(order, (execution,), reason)


def fills_result(
    venue_id: str,
    order: ChildOrder,
    order_id: str,
    fills: list[dict[str, Any]],
    reason: str,
    ts_ms: int,
) -> ChildOrderResult:
    executions = []
    for f in fills:
        qty = Decimal(str(f["qty"]))
        executions.append(
            Execution(
                ts_ns=int(f.get("time") or ts_ms) * 1_000_000,
                hedge_id=order.hedge_id,
                client_order_id=order.client_order_id,
                venue=venue_id,
                symbol=order.symbol,
                side=order.side,
                amount=qty,
                cost=Decimal(str(f["price"])) * qty,
                fee=Decimal(str(f.get("commission") or 0)),
                fee_currency=str(f.get("commissionAsset") or ""),
                order_id=order_id,
                trade_id=str(f.get("tradeId") or f.get("id") or ""),
            )
        )
    return finish(order, tuple(executions), reason)


def finish(order: ChildOrder, executions: tuple[Execution, ...], reason: str) -> ChildOrderResult:
    filled = sum((e.amount for e in executions), Decimal(0))
    wanted = Decimal(str(order.amount))
    if filled <= 0:
        return ChildOrderResult(order, "expired", executions, reason or "nothing executed")
    status = "filled" if filled >= wanted else "partial"
    return ChildOrderResult(order, status, executions, reason)


def exact(info: dict[str, Any], keys: tuple[str, ...], fallback: Any) -> Decimal:
    """The venue's own string for a quantity when it sent one, else ccxt's number."""
    for key in keys:
        value = info.get(key)
        if value not in (None, ""):
            return Decimal(str(value))
    return Decimal(str(fallback or 0))
