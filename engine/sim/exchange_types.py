"""The simulated venue's order vocabulary and error tree.

Split out of `engine/sim/exchange.py` (issue 12) so the HTTP dialects can map errors
and render orders without the exchange itself; `engine.sim.exchange` re-exports all
of it for existing importers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from engine.config import SymbolRulesConfig
from engine.sim.books import GeneratedBook
from engine.types import Side


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    LIMIT_MAKER = "LIMIT_MAKER"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


# --- the error tree ------------------------------------------------------------------------


class SimError(Exception):
    """Base of everything the simulated venue refuses; the message is what the venue says."""


class OrderRejected(SimError):
    """The venue refused an order on purpose (funds, filters, duplicates)."""


class InsufficientBalance(OrderRejected):
    def __init__(self, asset: str, needed: Decimal, free: Decimal) -> None:
        self.asset = asset
        self.needed = needed
        self.free = free
        super().__init__("Account has insufficient balance for requested action.")


class FilterFailure(OrderRejected):
    """An order broke a symbol filter (PRICE_FILTER, LOT_SIZE, NOTIONAL)."""

    def __init__(self, filter_name: str, detail: str = "") -> None:
        self.filter_name = filter_name
        self.detail = detail
        super().__init__(f"Filter failure: {filter_name}")


class DuplicateOrder(OrderRejected):
    def __init__(self, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        super().__init__("Duplicate order sent.")


class OrderWouldTake(OrderRejected):
    """A LIMIT_MAKER order that would match on arrival (post-only refused)."""

    def __init__(self) -> None:
        super().__init__("Order would immediately match and take.")


class OrderRefused(OrderRejected):
    """The venue refused a valid order for its own reasons (fault injection's reject)."""

    def __init__(self) -> None:
        super().__init__("New order rejected.")


class UnknownSymbol(SimError):
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        super().__init__("Invalid symbol.")


class OrderNotFound(SimError):
    """A query named an order this account never placed."""

    def __init__(self) -> None:
        super().__init__("Order does not exist.")


class CancelRejected(SimError):
    """A cancel named an order that is unknown or no longer open."""

    def __init__(self) -> None:
        super().__init__("Unknown order sent.")


class InvalidRequest(SimError):
    """A request whose parameters do not make an order (missing, malformed or conflicting)."""


class MissingParameter(InvalidRequest):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )


class MalformedParameter(InvalidRequest):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        super().__init__(f"Illegal characters found in parameter '{name}'; {reason}")


class UnexpectedParameter(InvalidRequest):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"Parameter '{name}' sent when not required.")


# --- orders and trades ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as the venue receives it. Exactly one of quantity / quote_order_qty."""

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class SimTrade:
    """One fill of one order, exactly as booked."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    ts_ns: int

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class OrderState:
    """A read-only view of an order at one moment."""

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: Decimal
    orig_qty: Decimal
    orig_quote_order_qty: Decimal
    executed_qty: Decimal
    cumulative_quote_qty: Decimal
    status: OrderStatus
    created_ns: int
    updated_ns: int
    fills: tuple[SimTrade, ...]


# --- request validation --------------------------------------------------------------------


def validate_request(
    request: OrderRequest, rules: SymbolRulesConfig
) -> tuple[TimeInForce, Decimal | None, Decimal | None, Decimal | None]:
    """Check a new order against the dialect's parameter rules and the symbol's filters.

    Returns (time in force, price, quantity, quote budget) as the order will carry them.
    """
    qty, budget, price = request.quantity, request.quote_order_qty, request.price
    if request.order_type in (OrderType.LIMIT, OrderType.LIMIT_MAKER):
        if request.order_type is OrderType.LIMIT_MAKER:
            if request.time_in_force is not None:
                raise UnexpectedParameter("timeInForce")
        elif request.time_in_force is None:
            raise MissingParameter("timeInForce")
        if price is None:
            raise MissingParameter("price")
        if qty is None:
            raise MissingParameter("quantity")
        if budget is not None:
            raise UnexpectedParameter("quoteOrderQty")
        tif = request.time_in_force or TimeInForce.GTC  # a LIMIT_MAKER rests
    else:
        if price is not None:
            raise UnexpectedParameter("price")
        if request.time_in_force is not None:
            raise UnexpectedParameter("timeInForce")
        if qty is None and budget is None:
            raise MissingParameter("quantity")
        if qty is not None and budget is not None:
            raise UnexpectedParameter("quoteOrderQty")
        tif = TimeInForce.GTC  # what Binance echoes for MARKET; it never rests (see rests)
    if price is not None and (price <= 0 or price % rules.tick_size != 0):
        raise FilterFailure("PRICE_FILTER", f"price {price} not on tick {rules.tick_size}")
    if qty is not None and (qty < rules.lot_size or qty % rules.lot_size != 0):
        raise FilterFailure("LOT_SIZE", f"quantity {qty} not on lot {rules.lot_size}")
    if budget is not None and budget <= 0:
        raise FilterFailure("NOTIONAL", f"quoteOrderQty {budget} is not positive")
    if price is not None and qty is not None and price * qty < rules.min_notional:
        raise FilterFailure("NOTIONAL", f"notional {price * qty} < {rules.min_notional}")
    if request.client_order_id == "":
        raise MissingParameter("newClientOrderId")
    return tif, price, qty, budget


def check_market_notional(
    book: GeneratedBook,
    request: OrderRequest,
    qty: Decimal | None,
    budget: Decimal | None,
    rules: SymbolRulesConfig,
) -> None:
    """MARKET orders are held to the minimum notional at the current mid."""
    if budget is not None:
        notional = budget
    else:
        assert qty is not None
        notional = qty * Decimal(repr(book.mid))
    if notional < rules.min_notional:
        raise FilterFailure("NOTIONAL", f"notional {notional} < {rules.min_notional}")
