"""The home venue's orders and trades as HollaEx reports them (types, states, refusals).

Apart from `engine.sim.home_exchange` so the HTTP layer and the tests can
name an order or a trade without the matching and accounting behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from engine.sim.exchange import OrderRejected
from engine.types import Side

_ZERO = Decimal(0)


class HomeOrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class HomeOrderStatus(StrEnum):
    """HollaEx's order states."""

    NEW = "new"
    PARTIALLY_FILLED = "pfilled"
    FILLED = "filled"
    CANCELED = "canceled"

    @property
    def is_open(self) -> bool:
        return self in (HomeOrderStatus.NEW, HomeOrderStatus.PARTIALLY_FILLED)


class PostOnlyWouldTake(OrderRejected):
    def __init__(self) -> None:
        super().__init__(
            "Error 1001 - Order rejected. Order could not be submitted as this order was set "
            "to a post only order."
        )


@dataclass(frozen=True, slots=True)
class HomeTrade:
    """One fill of one account's order, as booked."""

    trade_id: str
    order_id: str
    symbol: str
    side: Side
    price: Decimal
    size: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    ts_ns: int


@dataclass(slots=True)
class HomeOrder:
    order_id: str
    account: str = field(repr=False)
    account_number: int
    symbol: str
    side: Side
    order_type: HomeOrderType
    price: Decimal
    size: Decimal
    post_only: bool
    note: str | None
    created_ns: int
    updated_ns: int
    filled: Decimal = _ZERO
    fee: Decimal = _ZERO
    status: HomeOrderStatus = HomeOrderStatus.NEW
    locked: Decimal = _ZERO

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled
