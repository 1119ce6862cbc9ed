"""Accounts and open orders of the simulated venue: exact fund locks and fill payments.

Split out of `engine/sim/exchange.py` (issue 12): the bookkeeping that moves an
account's free and locked funds when an order rests, fills or closes. Pure functions
over `SimAccount` / `SimOrder`; `SimExchange` owns the accounts and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from engine.config import SymbolRulesConfig
from engine.sim.exchange_types import (
    InsufficientBalance,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    SimTrade,
    TimeInForce,
)
from engine.types import Side, split_symbol

FEE_QUANTUM = Decimal("0.00000001")
_ZERO = Decimal(0)


@dataclass(slots=True)
class SimOrder:
    order_id: int
    account: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: Decimal
    orig_qty: Decimal
    orig_quote_order_qty: Decimal
    created_ns: int
    updated_ns: int
    status: OrderStatus = OrderStatus.NEW
    executed_qty: Decimal = _ZERO
    cumulative_quote_qty: Decimal = _ZERO
    locked: Decimal = _ZERO  # funds still locked for the resting remainder
    fills: list[SimTrade] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def state(self) -> OrderState:
        return OrderState(
            order_id=self.order_id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            price=self.price,
            orig_qty=self.orig_qty,
            orig_quote_order_qty=self.orig_quote_order_qty,
            executed_qty=self.executed_qty,
            cumulative_quote_qty=self.cumulative_quote_qty,
            status=self.status,
            created_ns=self.created_ns,
            updated_ns=self.updated_ns,
            fills=tuple(self.fills),
        )


@dataclass(slots=True)
class SimAccount:
    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    orders: dict[int, SimOrder] = field(default_factory=dict)
    by_client_id: dict[tuple[str, str], SimOrder] = field(default_factory=dict)
    trades: list[SimTrade] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Take:
    """One planned fill of a taker walk: `qty` at the level `price`."""

    price: Decimal
    qty: Decimal


def fee_for(cost: Decimal, rate: Decimal) -> Decimal:
    """The fee of one fill: rate * cost rounded to 8 decimals, ROUND_HALF_UP."""
    return (cost * rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)


def buy_lock(price: Decimal, qty: Decimal) -> Decimal:
    return price * qty


def open_count(acct: SimAccount, symbol: str) -> int:
    return sum(1 for o in acct.orders.values() if o.symbol == symbol and o.status.is_open)


def check_funds(
    acct: SimAccount,
    request: OrderRequest,
    plan: list[Take],
    price: Decimal | None,
    qty: Decimal | None,
    budget: Decimal | None,
    rests: bool,
) -> None:
    base, quote = split_symbol(request.symbol)
    if request.side is Side.SELL:
        needed = qty if qty is not None else sum((t.qty for t in plan), _ZERO)
        free = acct.free.get(base, _ZERO)
        if needed > free:
            raise InsufficientBalance(base, needed, free)
        return
    # a buy's fee is paid in the base it receives: it needs exactly the quote it spends
    needed = sum((t.price * t.qty for t in plan), _ZERO)
    if rests:
        assert price is not None and qty is not None
        needed += buy_lock(price, qty - sum((t.qty for t in plan), _ZERO))
    if price is not None and qty is not None:  # a limit buy must afford its worst case
        needed = max(needed, price * qty)
    if budget is not None:
        needed = max(needed, budget)
    free = acct.free.get(quote, _ZERO)
    if needed > free:
        raise InsufficientBalance(quote, needed, free)


def lock_funds(acct: SimAccount, order: SimOrder) -> None:
    base, quote = split_symbol(order.symbol)
    asset = quote if order.side is Side.BUY else base
    amount = buy_lock(order.price, order.remaining) if order.side is Side.BUY else order.remaining
    acct.free[asset] = acct.free.get(asset, _ZERO) - amount
    acct.locked[asset] = acct.locked.get(asset, _ZERO) + amount
    order.locked = amount


def unlock_funds(acct: SimAccount, order: SimOrder) -> None:
    base, quote = split_symbol(order.symbol)
    asset = quote if order.side is Side.BUY else base
    acct.locked[asset] -= order.locked
    acct.free[asset] += order.locked
    order.locked = _ZERO


def pay_from_lock(acct: SimAccount, order: SimOrder, asset: str, amount: Decimal) -> None:
    from_lock = min(order.locked, amount)
    order.locked -= from_lock
    acct.locked[asset] = acct.locked.get(asset, _ZERO) - from_lock
    acct.free[asset] = acct.free.get(asset, _ZERO) - (amount - from_lock)


def affordable(
    acct: SimAccount, order: SimOrder, qty: Decimal, rules: SymbolRulesConfig
) -> Decimal:
    """Largest part of `qty` a resting buy can pay from its lock plus free funds."""
    if order.side is Side.SELL:
        return qty
    _, quote = split_symbol(order.symbol)
    funds = order.locked + acct.free.get(quote, _ZERO)
    while qty > 0:
        if order.price * qty <= funds:
            return qty
        qty -= rules.lot_size
    return _ZERO
