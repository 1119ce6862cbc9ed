"""One simulated external venue: accounts, orders and trades against a generated book.

Pure and synchronous: every call takes the request time `ts_ns`, nothing reads
a clock or does I/O. The HTTP dialect (`engine/sim/binance_http.py`) sits on
top and maps this module's error tree onto the venue's wire errors.

Accounting is exact (`Decimal`). One account per API key, opened on first use
with the venue's configured balances, split into free and locked funds.

Fees are charged in the asset the fill RECEIVES, as Binance does ("commission"
in the received asset unless paid in BNB; https://www.binance.com/en/fee/trading):
a buy pays `rate * qty` in the base asset, a sell `rate * price * qty` in the
quote asset, rounded to 8 decimals (ROUND_HALF_UP). Per fill the account
changes by exactly: buy base +qty-fee, quote -price*qty; sell base -qty,
quote +price*qty-fee. So a buy needs (and a resting buy locks) exactly
`price * qty` of quote: "spend the whole free balance" orders pass. Taker fills
pay `venue.taker_fee`; fills of a resting GTC order (the book moved through its
price) are maker fills at the order's own price and pay `venue.maker_fee`.

Order types: LIMIT, MARKET and LIMIT_MAKER (a limit order refused with
`OrderWouldTake` if any part of it would match on arrival: post-only). A
client order id is refused as a duplicate only while an order carrying it is
still open on the symbol; once it is closed the id may be used again and
lookups by it find the newest order (Binance's rule).

Liquidity: a taker walks the generated book of the request's refresh bucket.
What it consumed stays consumed (per price level) until the book's next
refresh bucket, so two orders in one bucket cannot both take the same level.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from engine.config import SymbolRulesConfig, VenueConfig
from engine.sim.books import MAX_LEVELS, BookGenerator, BookLevel, GeneratedBook, on_grid
from engine.sim.price import ReferencePrice
from engine.types import Side, split_symbol

FEE_QUANTUM = Decimal("0.00000001")
_ZERO = Decimal(0)
_KEEP_BUCKETS = 4  # consumption of older books is forgotten: they never come back
TAPE_LENGTH = 1_000  # public trades kept per symbol (Binance's recent-trades maximum)
MAX_OPEN_ORDERS = 200  # per account and symbol, Binance's MAX_NUM_ORDERS filter


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


@dataclass(slots=True)
class _Order:
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
class _Account:
    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    orders: dict[int, _Order] = field(default_factory=dict)
    by_client_id: dict[tuple[str, str], _Order] = field(default_factory=dict)
    trades: list[SimTrade] = field(default_factory=list)


@dataclass(slots=True)
class _BucketUse:
    """Liquidity takers consumed from one refresh bucket's book, per side and price."""

    by_side: dict[Side, dict[Decimal, Decimal]] = field(default_factory=dict)
    changes: int = 0


@dataclass(frozen=True, slots=True)
class _Take:
    """One planned fill of a taker walk: `qty` at the level `price`."""

    price: Decimal
    qty: Decimal


def fee_for(cost: Decimal, rate: Decimal) -> Decimal:
    """The fee of one fill: rate * cost rounded to 8 decimals, ROUND_HALF_UP."""
    return (cost * rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)


def _capped(plan: list[_Take], share: float, lot: Decimal) -> list[_Take]:
    """The first fills of `plan` up to `share` of its quantity, on the lot grid."""
    total = sum((t.qty for t in plan), _ZERO)
    left = on_grid(total * Decimal(repr(share)), lot, ROUND_FLOOR)
    out = []
    for take in plan:
        if left <= 0:
            break
        qty = min(take.qty, left)
        out.append(_Take(take.price, qty))
        left -= qty
    return out


class SimExchange:
    """A simulated external venue: exact balances, LIMIT/MARKET orders, a generated book."""

    def __init__(
        self,
        venue: VenueConfig,
        reference: ReferencePrice,
        seed: int,
        quote_asset: str,
        symbols: Sequence[str],
    ) -> None:
        for symbol in symbols:
            base, quote = split_symbol(symbol)
            for asset in (base, quote):
                if asset != quote_asset and asset not in reference.assets:
                    raise ValueError(f"venue {venue.id}: {symbol}: no reference price for {asset}")
        self._venue = venue
        self._symbols = list(dict.fromkeys(symbols))
        self._rules = {s: venue.rules_for(s) for s in self._symbols}
        self._books = BookGenerator(venue, reference, seed)
        self._taker_rate = Decimal(str(venue.taker_fee))
        self._maker_rate = Decimal(str(venue.maker_fee))
        self._accounts: dict[str, _Account] = {}
        self._resting: dict[str, list[_Order]] = {s: [] for s in self._symbols}
        # symbol -> refresh bucket -> what takers consumed in that bucket's book
        self._consumed: dict[str, dict[int, _BucketUse]] = {s: {} for s in self._symbols}
        # every account's fills per symbol, newest last: the venue's public trade tape
        self._tape: dict[str, deque[SimTrade]] = {
            s: deque(maxlen=TAPE_LENGTH) for s in self._symbols
        }
        self._next_order_id = 1
        self._next_trade_id = 1

    # --- market data --------------------------------------------------------------------

    @property
    def venue_id(self) -> str:
        return self._venue.id

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @property
    def taker_fee(self) -> Decimal:
        return self._taker_rate

    @property
    def maker_fee(self) -> Decimal:
        return self._maker_rate

    def rules(self, symbol: str) -> SymbolRulesConfig:
        """Tick, lot and minimum notional of `symbol`; `UnknownSymbol` if not listed."""
        rules = self._rules.get(symbol)
        if rules is None:
            raise UnknownSymbol(symbol)
        return rules

    def mid_price(self, symbol: str, ts_ns: int) -> float:
        """The venue's fair mid at `ts_ns` without the per-refresh noise (cheap: no book).

        For candles and average prices over long windows, where building every
        bucket's book would cost far more than it tells.
        """
        self.rules(symbol)
        return self._books.fair_mid(symbol, ts_ns)

    def market_trades(self, symbol: str, ts_ns: int) -> list[SimTrade]:
        """The last `TAPE_LENGTH` fills of every account on `symbol`, oldest first."""
        self.rules(symbol)
        self._match_resting(symbol, ts_ns)
        return list(self._tape[symbol])

    def depth(
        self, symbol: str, ts_ns: int, limit: int
    ) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...], int]:
        """Bids and asks still on the book at `ts_ns` (best first) and a book update id.

        Levels show what is left after takers consumed liquidity in this bucket; the
        update id grows with every refresh and every consumption.
        """
        self.rules(symbol)
        self._match_resting(symbol, ts_ns)
        book = self._books.book(symbol, ts_ns, limit)
        bids = self._remaining(book, Side.SELL, book.bids)[:limit]
        asks = self._remaining(book, Side.BUY, book.asks)[:limit]
        use = self._consumed[symbol].get(book.bucket)
        return bids, asks, book.bucket * 1_000_000 + (use.changes if use else 0)

    # --- orders --------------------------------------------------------------------------

    def place_order(
        self,
        account: str,
        request: OrderRequest,
        ts_ns: int,
        *,
        fill_share: float | None = None,
    ) -> OrderState:
        """Validate, execute what crosses now, rest what a GTC leaves; return the order.

        `fill_share` (fault injection) caps what executes now at that share of the
        order's quantity, on the lot grid: the rest expires (IOC, MARKET) or rests (GTC).
        """
        rules = self.rules(request.symbol)
        acct = self._account(account)
        self._match_resting(request.symbol, ts_ns)
        tif, price, qty, budget = self._validate(request, rules)
        client_id = request.client_order_id
        if client_id is None:
            client_id = self._generated_client_id(acct, request.symbol)
        else:
            previous = acct.by_client_id.get((request.symbol, client_id))
            if previous is not None and previous.status.is_open:
                raise DuplicateOrder(client_id)

        book = self._books.book(request.symbol, ts_ns)
        plan, exhausted = self._plan(book, request.side, price, qty, budget, rules)
        if fill_share is not None:
            plan = _capped(plan, fill_share, rules.lot_size)
            exhausted = True
        planned_qty = sum((t.qty for t in plan), _ZERO)
        if request.order_type is OrderType.LIMIT_MAKER and plan:
            raise OrderWouldTake()
        if request.order_type is OrderType.MARKET:
            self._check_market_notional(book, request, qty, budget, rules)
        if tif is TimeInForce.FOK and qty is not None and planned_qty < qty:
            plan, planned_qty = [], _ZERO
        rests = (
            tif is TimeInForce.GTC
            and request.order_type is not OrderType.MARKET
            and qty is not None
            and planned_qty < qty
        )
        if rests and self._open_count(acct, request.symbol) >= MAX_OPEN_ORDERS:
            raise FilterFailure("MAX_NUM_ORDERS", f"{MAX_OPEN_ORDERS} open orders on the symbol")
        self._check_funds(acct, request, plan, price, qty, budget, rests)

        order = _Order(
            order_id=self._next_order_id,
            account=account,
            client_order_id=client_id,
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            time_in_force=tif,
            price=price or _ZERO,
            orig_qty=qty if qty is not None else planned_qty,
            orig_quote_order_qty=budget or _ZERO,
            created_ns=ts_ns,
            updated_ns=ts_ns,
        )
        self._next_order_id += 1
        acct.orders[order.order_id] = order
        acct.by_client_id[(order.symbol, client_id)] = order
        for take in plan:
            self._consume(book, request.side, take.price, take.qty)
            self._fill(acct, order, take.price, take.qty, self._taker_rate, False, ts_ns)

        if order.remaining == 0 and order.executed_qty > 0:
            order.status = OrderStatus.FILLED
        elif rests:
            order.status = (
                OrderStatus.PARTIALLY_FILLED if order.executed_qty > 0 else OrderStatus.NEW
            )
            self._lock(acct, order)
            self._resting[order.symbol].append(order)
        elif budget is not None and order.executed_qty > 0 and not exhausted:
            order.status = OrderStatus.FILLED  # spent all the budget a lot could buy
        else:
            order.status = OrderStatus.EXPIRED
        return order.state()

    def order(
        self,
        account: str,
        symbol: str,
        ts_ns: int,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderState:
        """Look an order up by venue id or by client order id."""
        self.rules(symbol)
        self._match_resting(symbol, ts_ns)
        return self._find(self._account(account), symbol, order_id, client_order_id).state()

    def orders(self, account: str, symbol: str, ts_ns: int) -> list[OrderState]:
        """Every order of the account on `symbol`, open or not, oldest first."""
        self.rules(symbol)
        self._match_resting(symbol, ts_ns)
        return [o.state() for o in self._account(account).orders.values() if o.symbol == symbol]

    def check_order(self, request: OrderRequest) -> None:
        """Validate an order as `place_order` would, without funds or matching (test orders)."""
        self._validate(request, self.rules(request.symbol))

    def cancel_order(
        self,
        account: str,
        symbol: str,
        ts_ns: int,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderState:
        """Cancel an open order and release its locked funds."""
        self.rules(symbol)
        self._match_resting(symbol, ts_ns)
        acct = self._account(account)
        try:
            order = self._find(acct, symbol, order_id, client_order_id)
        except OrderNotFound:
            raise CancelRejected() from None
        if not order.status.is_open:
            raise CancelRejected()
        self._unlock(acct, order)
        self._resting[symbol].remove(order)
        order.status = OrderStatus.CANCELED
        order.updated_ns = ts_ns
        return order.state()

    def open_orders(self, account: str, symbol: str | None, ts_ns: int) -> list[OrderState]:
        """Open orders of the account, oldest first; every symbol when `symbol` is None."""
        symbols = self._symbols if symbol is None else [symbol]
        for s in symbols:
            self.rules(s)
            self._match_resting(s, ts_ns)
        acct = self._account(account)
        return [o.state() for o in acct.orders.values() if o.status.is_open and o.symbol in symbols]

    def trades(self, account: str, symbol: str, ts_ns: int) -> list[SimTrade]:
        """Every fill of the account on `symbol`, oldest first."""
        self.rules(symbol)
        self._match_resting(symbol, ts_ns)
        return [t for t in self._account(account).trades if t.symbol == symbol]

    def balances(
        self, account: str, ts_ns: int | None = None
    ) -> dict[str, tuple[Decimal, Decimal]]:
        """(free, locked) per asset; with `ts_ns`, resting orders are matched first."""
        if ts_ns is not None:
            for symbol in self._symbols:
                self._match_resting(symbol, ts_ns)
        acct = self._account(account)
        assets = dict.fromkeys([*acct.free, *acct.locked])
        return {a: (acct.free.get(a, _ZERO), acct.locked.get(a, _ZERO)) for a in assets}

    def credit(self, account: str, asset: str, amount: Decimal) -> None:
        """Add `amount` of `asset` to the free balance (a deposit arrived)."""
        if amount <= 0:
            raise InvalidRequest(f"credit of {amount} {asset}: the amount must be positive")
        acct = self._account(account)
        acct.free[asset] = acct.free.get(asset, _ZERO) + amount
        acct.locked.setdefault(asset, _ZERO)

    def debit(self, account: str, asset: str, amount: Decimal) -> None:
        """Take `amount` of `asset` from the free balance (a withdrawal left)."""
        if amount <= 0:
            raise InvalidRequest(f"debit of {amount} {asset}: the amount must be positive")
        acct = self._account(account)
        free = acct.free.get(asset, _ZERO)
        if amount > free:
            raise InsufficientBalance(asset, amount, free)
        acct.free[asset] = free - amount

    # --- internals -----------------------------------------------------------------------

    def _account(self, account: str) -> _Account:
        acct = self._accounts.get(account)
        if acct is None:
            acct = _Account(
                free={a: Decimal(v) for a, v in self._venue.balances.items()},
                locked={a: _ZERO for a in self._venue.balances},
            )
            self._accounts[account] = acct
        return acct

    def _generated_client_id(self, acct: _Account, symbol: str) -> str:
        """A client order id for an order sent without one, unique in the account."""
        client_id, n = f"sim-{self._next_order_id}", 0
        while (symbol, client_id) in acct.by_client_id:
            n += 1
            client_id = f"sim-{self._next_order_id}-{n}"
        return client_id

    @staticmethod
    def _find(
        acct: _Account, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> _Order:
        if order_id is None and client_order_id is None:
            raise MissingParameter("orderId")
        order = (
            acct.orders.get(order_id)
            if order_id is not None
            else acct.by_client_id.get((symbol, client_order_id or ""))
        )
        if order is None or order.symbol != symbol:
            raise OrderNotFound()
        if client_order_id is not None and order.client_order_id != client_order_id:
            raise OrderNotFound()
        return order

    def _validate(
        self, request: OrderRequest, rules: SymbolRulesConfig
    ) -> tuple[TimeInForce, Decimal | None, Decimal | None, Decimal | None]:
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

    def _check_market_notional(
        self,
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

    def _plan(
        self,
        book: GeneratedBook,
        side: Side,
        limit: Decimal | None,
        qty: Decimal | None,
        budget: Decimal | None,
        rules: SymbolRulesConfig,
    ) -> tuple[list[_Take], bool]:
        """Walk the book for a taker; return the fills and whether liquidity ran out.

        A walk that runs past the profile's levels continues into the deeper ladder.
        """
        if book.levels < MAX_LEVELS:
            takes, exhausted = self._plan_on(book, side, limit, qty, budget, rules)
            if not exhausted:
                return takes, False
            book = self._books.deepest(book)
        return self._plan_on(book, side, limit, qty, budget, rules)

    def _plan_on(
        self,
        book: GeneratedBook,
        side: Side,
        limit: Decimal | None,
        qty: Decimal | None,
        budget: Decimal | None,
        rules: SymbolRulesConfig,
    ) -> tuple[list[_Take], bool]:
        levels = self._remaining(book, side, book.asks if side is Side.BUY else book.bids)
        takes: list[_Take] = []
        left_qty, left_budget = qty, budget
        for level in levels:
            if limit is not None and (
                level.price > limit if side is Side.BUY else level.price < limit
            ):
                return takes, False
            if left_budget is not None:
                affordable = on_grid(left_budget / level.price, rules.lot_size, ROUND_FLOOR)
                take = min(level.amount, affordable)
                if take <= 0:
                    return takes, False
                left_budget -= take * level.price
            else:
                assert left_qty is not None
                take = min(level.amount, left_qty)
                left_qty -= take
            takes.append(_Take(level.price, take))
            if left_qty == 0:
                return takes, False
        return takes, True

    def _check_funds(
        self,
        acct: _Account,
        request: OrderRequest,
        plan: list[_Take],
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
            needed += self._buy_lock(price, qty - sum((t.qty for t in plan), _ZERO))
        if price is not None and qty is not None:  # a limit buy must afford its worst case
            needed = max(needed, price * qty)
        if budget is not None:
            needed = max(needed, budget)
        free = acct.free.get(quote, _ZERO)
        if needed > free:
            raise InsufficientBalance(quote, needed, free)

    @staticmethod
    def _buy_lock(price: Decimal, qty: Decimal) -> Decimal:
        return price * qty

    @staticmethod
    def _open_count(acct: _Account, symbol: str) -> int:
        return sum(1 for o in acct.orders.values() if o.symbol == symbol and o.status.is_open)

    def _lock(self, acct: _Account, order: _Order) -> None:
        base, quote = split_symbol(order.symbol)
        asset = quote if order.side is Side.BUY else base
        amount = (
            self._buy_lock(order.price, order.remaining)
            if order.side is Side.BUY
            else order.remaining
        )
        acct.free[asset] = acct.free.get(asset, _ZERO) - amount
        acct.locked[asset] = acct.locked.get(asset, _ZERO) + amount
        order.locked = amount

    def _unlock(self, acct: _Account, order: _Order) -> None:
        base, quote = split_symbol(order.symbol)
        asset = quote if order.side is Side.BUY else base
        acct.locked[asset] -= order.locked
        acct.free[asset] += order.locked
        order.locked = _ZERO

    def _fill(
        self,
        acct: _Account,
        order: _Order,
        price: Decimal,
        qty: Decimal,
        rate: Decimal,
        is_maker: bool,
        ts_ns: int,
    ) -> None:
        """Book one fill: exact balance moves, the trade record, the order's totals.

        A resting order pays first out of what it locked, the rest out of free funds.
        """
        base, quote = split_symbol(order.symbol)
        cost = price * qty
        fee_asset = base if order.side is Side.BUY else quote  # the asset received
        fee = fee_for(qty if order.side is Side.BUY else cost, rate)
        trade = SimTrade(
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee=fee,
            fee_asset=fee_asset,
            is_maker=is_maker,
            ts_ns=ts_ns,
        )
        self._next_trade_id += 1
        if order.side is Side.BUY:
            self._debit(acct, order, quote, cost)
            acct.free[base] = acct.free.get(base, _ZERO) + qty - fee
        else:
            self._debit(acct, order, base, qty)
            acct.free[quote] = acct.free.get(quote, _ZERO) + cost - fee
        order.executed_qty += qty
        order.cumulative_quote_qty += cost
        order.updated_ns = ts_ns
        order.fills.append(trade)
        acct.trades.append(trade)
        self._tape[order.symbol].append(trade)

    @staticmethod
    def _debit(acct: _Account, order: _Order, asset: str, amount: Decimal) -> None:
        from_lock = min(order.locked, amount)
        order.locked -= from_lock
        acct.locked[asset] = acct.locked.get(asset, _ZERO) - from_lock
        acct.free[asset] = acct.free.get(asset, _ZERO) - (amount - from_lock)

    def _match_resting(self, symbol: str, ts_ns: int) -> None:
        """Fill resting GTC orders that the book at `ts_ns` crosses, best price first."""
        resting = self._resting.get(symbol)
        if not resting:
            return
        book = self._books.book(symbol, ts_ns)
        rules = self._rules[symbol]
        buys = sorted(
            (o for o in resting if o.side is Side.BUY), key=lambda o: (-o.price, o.order_id)
        )
        sells = sorted(
            (o for o in resting if o.side is Side.SELL), key=lambda o: (o.price, o.order_id)
        )
        for order in [*buys, *sells]:
            if order.updated_ns > ts_ns:
                continue
            acct = self._accounts[order.account]
            plan, _ = self._plan(book, order.side, order.price, order.remaining, None, rules)
            for take in plan:
                qty = self._affordable(acct, order, take.qty, rules)
                if qty <= 0:
                    break
                self._consume(book, order.side, take.price, qty)
                self._fill(acct, order, order.price, qty, self._maker_rate, True, ts_ns)
            if order.remaining == 0:
                order.status = OrderStatus.FILLED
                self._unlock(acct, order)
                resting.remove(order)
            elif order.executed_qty > 0:
                order.status = OrderStatus.PARTIALLY_FILLED

    def _affordable(
        self, acct: _Account, order: _Order, qty: Decimal, rules: SymbolRulesConfig
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

    def _remaining(
        self, book: GeneratedBook, taker_side: Side, levels: tuple[BookLevel, ...]
    ) -> tuple[BookLevel, ...]:
        """`levels` less what takers on `taker_side` consumed in this bucket."""
        use = self._consumed[book.symbol].get(book.bucket)
        consumed = use.by_side.get(taker_side) if use else None
        if not consumed:
            return levels
        out = []
        for level in levels:
            left = level.amount - consumed.get(level.price, _ZERO)
            if left > 0:
                out.append(BookLevel(level.price, left))
        return tuple(out)

    def _consume(self, book: GeneratedBook, taker_side: Side, price: Decimal, qty: Decimal) -> None:
        buckets = self._consumed[book.symbol]
        use = buckets.setdefault(book.bucket, _BucketUse())
        consumed = use.by_side.setdefault(taker_side, {})
        consumed[price] = consumed.get(price, _ZERO) + qty
        use.changes += 1
        for old in [b for b in buckets if b < book.bucket - _KEEP_BUCKETS]:
            del buckets[old]
