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

The order vocabulary, error tree and request checks live in `exchange_types`, fund
locks and fill payments in `exchange_accounts`, the taker walk in `exchange_liquidity`;
this module re-exports the public names.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal

from engine.config import SymbolRulesConfig, VenueConfig
from engine.sim.books import BookGenerator, BookLevel, GeneratedBook
from engine.sim.exchange_accounts import (
    FEE_QUANTUM,
    SimAccount,
    SimOrder,
    affordable,
    check_funds,
    fee_for,
    lock_funds,
    open_count,
    pay_from_lock,
    unlock_funds,
)
from engine.sim.exchange_liquidity import Liquidity, capped
from engine.sim.exchange_types import (
    CancelRejected,
    DuplicateOrder,
    FilterFailure,
    InsufficientBalance,
    InvalidRequest,
    MalformedParameter,
    MissingParameter,
    OrderNotFound,
    OrderRefused,
    OrderRejected,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    OrderWouldTake,
    SimError,
    SimTrade,
    TimeInForce,
    UnexpectedParameter,
    UnknownSymbol,
    check_market_notional,
    validate_request,
)
from engine.sim.ladder import Count, to_counts
from engine.sim.price import ReferencePrice
from engine.types import Side, split_symbol

_ZERO = Decimal(0)
TAPE_LENGTH = 1_000  # public trades kept per symbol (Binance's recent-trades maximum)
MAX_OPEN_ORDERS = 200  # per account and symbol, Binance's MAX_NUM_ORDERS filter

__all__ = [  # the order vocabulary and error tree live in exchange_types; re-exported
    "FEE_QUANTUM",
    "MAX_OPEN_ORDERS",
    "TAPE_LENGTH",
    "CancelRejected",
    "DuplicateOrder",
    "FilterFailure",
    "InsufficientBalance",
    "InvalidRequest",
    "MalformedParameter",
    "MissingParameter",
    "OrderNotFound",
    "OrderRefused",
    "OrderRejected",
    "OrderRequest",
    "OrderState",
    "OrderStatus",
    "OrderType",
    "OrderWouldTake",
    "Side",
    "SimError",
    "SimExchange",
    "SimTrade",
    "TimeInForce",
    "UnexpectedParameter",
    "UnknownSymbol",
    "fee_for",
]


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
        self._accounts: dict[str, SimAccount] = {}
        self._resting: dict[str, list[SimOrder]] = {s: [] for s in self._symbols}
        self._liquidity = Liquidity(self._books, self._symbols)
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

    def next_book_change_ns(self, symbol: str, ts_ns: int) -> int:
        """When `symbol`'s book after the one at `ts_ns` starts (its next refresh)."""
        return self._books.bucket_start(symbol, self._books.bucket(symbol, ts_ns) + 1)

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
        book = self._book_now(symbol, ts_ns, limit)
        bids, asks = self._remaining(book, limit)
        return bids, asks, self._liquidity.update_id(book)

    def depth_counts(
        self, symbol: str, ts_ns: int, limit: int
    ) -> tuple[Sequence[Count], Sequence[Count]]:
        """`depth`'s levels as (ticks, lots) counts of the symbol's grid: what the streams
        diff and print, without building a `Decimal` while no taker touched the book."""
        book = self._book_now(symbol, ts_ns, limit)
        if not self._liquidity.touched(book):
            return book.bid_counts[:limit], book.ask_counts[:limit]
        bids, asks = self._remaining(book, limit)
        return (
            to_counts([(lv.price, lv.amount) for lv in bids], book.tick, book.lot),
            to_counts([(lv.price, lv.amount) for lv in asks], book.tick, book.lot),
        )

    def _book_now(self, symbol: str, ts_ns: int, limit: int) -> GeneratedBook:
        """`symbol`'s generated book at `ts_ns`, resting orders matched against it first."""
        self.rules(symbol)
        self._match_resting(symbol, ts_ns)
        return self._books.book(symbol, ts_ns, limit)

    def _remaining(
        self, book: GeneratedBook, limit: int
    ) -> tuple[tuple[BookLevel, ...], tuple[BookLevel, ...]]:
        """`book`'s levels (at most `limit` a side) less what takers consumed of them."""
        bids = self._liquidity.remaining(book, Side.SELL, book.bids)[:limit]
        asks = self._liquidity.remaining(book, Side.BUY, book.asks)[:limit]
        return bids, asks

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
        tif, price, qty, budget = validate_request(request, rules)
        client_id = request.client_order_id
        if client_id is None:
            client_id = self._generated_client_id(acct, request.symbol)
        else:
            previous = acct.by_client_id.get((request.symbol, client_id))
            if previous is not None and previous.status.is_open:
                raise DuplicateOrder(client_id)

        book = self._books.book(request.symbol, ts_ns)
        plan, exhausted = self._liquidity.plan(book, request.side, price, qty, budget, rules)
        if fill_share is not None:
            plan = capped(plan, fill_share, rules.lot_size)
            exhausted = True
        planned_qty = sum((t.qty for t in plan), _ZERO)
        if request.order_type is OrderType.LIMIT_MAKER and plan:
            raise OrderWouldTake()
        if request.order_type is OrderType.MARKET:
            check_market_notional(book, request, qty, budget, rules)
        if tif is TimeInForce.FOK and qty is not None and planned_qty < qty:
            plan, planned_qty = [], _ZERO
        rests = (
            tif is TimeInForce.GTC
            and request.order_type is not OrderType.MARKET
            and qty is not None
            and planned_qty < qty
        )
        if rests and open_count(acct, request.symbol) >= MAX_OPEN_ORDERS:
            raise FilterFailure("MAX_NUM_ORDERS", f"{MAX_OPEN_ORDERS} open orders on the symbol")
        check_funds(acct, request, plan, price, qty, budget, rests)

        order = SimOrder(
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
            self._liquidity.consume(book, request.side, take.price, take.qty)
            self._fill(acct, order, take.price, take.qty, self._taker_rate, False, ts_ns)

        if order.remaining == 0 and order.executed_qty > 0:
            order.status = OrderStatus.FILLED
        elif rests:
            order.status = (
                OrderStatus.PARTIALLY_FILLED if order.executed_qty > 0 else OrderStatus.NEW
            )
            lock_funds(acct, order)
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
        validate_request(request, self.rules(request.symbol))

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
        unlock_funds(acct, order)
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

    def _account(self, account: str) -> SimAccount:
        acct = self._accounts.get(account)
        if acct is None:
            acct = SimAccount(
                free={a: Decimal(v) for a, v in self._venue.balances.items()},
                locked={a: _ZERO for a in self._venue.balances},
            )
            self._accounts[account] = acct
        return acct

    def _generated_client_id(self, acct: SimAccount, symbol: str) -> str:
        """A client order id for an order sent without one, unique in the account."""
        client_id, n = f"sim-{self._next_order_id}", 0
        while (symbol, client_id) in acct.by_client_id:
            n += 1
            client_id = f"sim-{self._next_order_id}-{n}"
        return client_id

    @staticmethod
    def _find(
        acct: SimAccount, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> SimOrder:
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

    def _fill(
        self,
        acct: SimAccount,
        order: SimOrder,
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
            pay_from_lock(acct, order, quote, cost)
            acct.free[base] = acct.free.get(base, _ZERO) + qty - fee
        else:
            pay_from_lock(acct, order, base, qty)
            acct.free[quote] = acct.free.get(quote, _ZERO) + cost - fee
        order.executed_qty += qty
        order.cumulative_quote_qty += cost
        order.updated_ns = ts_ns
        order.fills.append(trade)
        acct.trades.append(trade)
        self._tape[order.symbol].append(trade)

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
            plan, _ = self._liquidity.plan(
                book, order.side, order.price, order.remaining, None, rules
            )
            for take in plan:
                qty = affordable(acct, order, take.qty, rules)
                if qty <= 0:
                    break
                self._liquidity.consume(book, order.side, take.price, qty)
                self._fill(acct, order, order.price, qty, self._maker_rate, True, ts_ns)
            if order.remaining == 0:
                order.status = OrderStatus.FILLED
                unlock_funds(acct, order)
                resting.remove(order)
            elif order.executed_qty > 0:
                order.status = OrderStatus.PARTIALLY_FILLED
