"""Domain types shared by every layer.

Messages between actors are these small frozen dataclasses. Prices and sizes
are floats where the engine decides (quoting, routing) and `Decimal` where
money is counted (fills, executions, ledger), so balances reconcile exactly.
Timestamps are always UTC nanoseconds (`ts_ns`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """+1 when the side adds base asset to the account, -1 when it removes it."""
        return 1 if self is Side.BUY else -1


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class HedgeStatus(StrEnum):
    """How a hedge ended. Every fill ends in exactly one of these."""

    HEDGED = "hedged"
    PARTIAL = "partial"
    SKIPPED = "skipped"


# --- hedging desk statuses (engine/hedging) -------------------------------------------------


class ChildLookup(StrEnum):
    """What a hedge venue says about a child order asked for by its client order id
    (after a router restart): found (with its result), never seen, or it cannot say now."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    UNDETERMINED = "undetermined"


class InflightState(StrEnum):
    """Whether a hedge a crashed router left in flight can be concluded from the look-ups."""

    CONCLUDED = "concluded"  # every child found or never seen: book what executed
    UNDETERMINED = "undetermined"  # a venue cannot say yet: leave it in flight, never resend


# --- end of hedging desk statuses --------------------------------------------------------


def split_symbol(symbol: str) -> tuple[str, str]:
    """`BTC/USDT` -> (`BTC`, `USDT`)."""
    base, _, quote = symbol.partition("/")
    if not base or not quote:
        raise ValueError(f"symbol {symbol!r} is not BASE/QUOTE")
    return base, quote


def market_id(symbol: str) -> str:
    """Path-safe market id used as the hive partition key: `BTC/USDT` -> `BTC-USDT`."""
    return symbol.replace("/", "-")


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """What a venue says about a symbol: the rounding grid and minimums at its edge."""

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_amount: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)

    def minimum_at(self, mid: float) -> float:
        """The smallest amount the venue takes at `mid`: its minimum amount, or what its
        minimum notional asks at that price, whichever is larger."""
        return max(float(self.min_amount), float(self.min_notional) / mid)

    def takes(self, amount: float, mid: float | None) -> bool:
        """Whether `amount` reaches the lot and the minimum at `mid` (without a mid, the
        minimum amount alone): below it, no book of the venue could take it."""
        floor = self.minimum_at(mid) if mid else float(self.min_amount)
        return amount >= max(float(self.lot_size), floor)


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """An L2 book as the engine sees it: best price first on each side."""

    venue: str
    symbol: str
    ts_ns: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]

    @property
    def best_bid(self) -> float | None:
        return self.bids[0][0] if self.bids else None

    @property
    def best_ask(self) -> float | None:
        return self.asks[0][0] if self.asks else None

    @property
    def mid(self) -> float | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0][0] + self.asks[0][0]) / 2.0

    def as_ccxt(self) -> dict[str, list[list[float]]]:
        return {"bids": [list(b) for b in self.bids], "asks": [list(a) for a in self.asks]}


@dataclass(frozen=True, slots=True)
class QuoteLevel:
    side: Side
    price: float
    amount: float


@dataclass(frozen=True, slots=True)
class Fill:
    """A fill of one of the bot's own orders on the home venue."""

    ts_ns: int
    venue: str
    market: str
    fill_id: str
    order_id: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity = Liquidity.MAKER

    @property
    def quote_amount(self) -> Decimal:
        return self.price * self.amount


@dataclass(frozen=True, slots=True)
class ChildOrder:
    """One order the router sends to one hedge venue.

    `client_order_id` is derived from what caused it (fill id or plan id, and
    the leg number), so a retry never sends the same hedge twice.
    """

    hedge_id: str
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    amount: float
    limit_price: float
    order_type: str = "limit"
    time_in_force: str = "IOC"
    decision_mid: float = 0.0
    source_fill_id: str | None = None


@dataclass(frozen=True, slots=True)
class Execution:
    """What a hedge venue reports a child order did: exact amounts as the venue booked them."""

    ts_ns: int
    hedge_id: str
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    amount: Decimal
    cost: Decimal
    fee: Decimal
    fee_currency: str
    order_id: str = ""
    trade_id: str = ""  # the venue's own id: what makes an execution unique

    @property
    def price(self) -> Decimal:
        return self.cost / self.amount if self.amount else Decimal(0)


@dataclass(frozen=True, slots=True)
class ChildOrderResult:
    """The outcome of one child order: its executions, a final status, and why."""

    order: ChildOrder
    status: str  # filled | partial | rejected | expired | unknown
    executions: tuple[Execution, ...] = ()
    reason: str = ""

    @property
    def filled(self) -> Decimal:
        return sum((e.amount for e in self.executions), Decimal(0))


@dataclass(frozen=True, slots=True)
class HedgeIntent:
    """A need to trade `amount` base of `symbol` on `side` across hedge venues."""

    hedge_id: str
    symbol: str
    side: Side
    amount: float
    source_fill_id: str | None = None
    reason: str = "mirror"
    source_ts_ns: int = 0  # when the fill that caused it happened (0: not caused by a fill)


@dataclass(frozen=True, slots=True)
class HedgeOutcome:
    """Sent router -> ledger once a hedge is decided and executed."""

    hedge_id: str
    symbol: str
    side: Side
    requested: float
    status: HedgeStatus
    reason: str
    executions: tuple[Execution, ...] = ()
    source_fill_id: str | None = None

    @property
    def filled(self) -> Decimal:
        return sum((e.amount for e in self.executions), Decimal(0))


@dataclass(slots=True)
class VenueHealth:
    venue: str
    healthy: bool = True
    reason: str = ""
    last_book_ts_ns: dict[str, int] = field(default_factory=dict)
