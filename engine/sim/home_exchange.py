"""The operator's own exchange as venue-sim serves it: real matching, exact accounts.

One price-time-priority `MatchingEngine` per market holds the resting orders
of every account (the bot's quotes, sent through ccxt); synthetic takers
(`engine.sim.takers.TakerFlow`, Poisson arrivals, some informed by the shared
reference price) hit it when `run_takers` is called, which the HTTP server does
on a timer. This is the home venue that `HomeSimVenue` runs in-process, but
behind an exchange API, so the bot reaches it as it will reach the real one.

Accounting is exact (`Decimal`), one account per API key opened with the
venue's configured balances. Fees are paid in the coin a fill RECEIVES, as
HollaEx documents (`fee_coin` "xht" on an xht-usdt buy, "usdt" on a sell:
https://apidocs.hollaex.com/#cancel-order, #get-trades): a buy pays
`rate * size` of the base, a sell `rate * price * size` of the quote (the
`MatchingEngine`'s fee), 8 decimals ROUND_HALF_UP, negative = rebate. A
resting buy locks exactly `price * size`, a resting sell its size; fills are
paid from the lock first.

Pure: every call takes the time `ts_ns`; no clock, no I/O.
"""

from __future__ import annotations

import uuid
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from engine.config import MarketConfig, VenueConfig
from engine.sim.exchange import (
    CancelRejected,
    FilterFailure,
    InsufficientBalance,
    InvalidRequest,
    OrderNotFound,
    OrderRefused,
    OrderRejected,
    UnknownSymbol,
)
from engine.sim.home_orders import (
    HomeOrder,
    HomeOrderStatus,
    HomeOrderType,
    HomeTrade,
    PostOnlyWouldTake,
)
from engine.sim.matching import MatchingEngine, MatchRejected, RestingOrder, Trade
from engine.sim.price import ReferencePrice
from engine.sim.takers import TakerFlow
from engine.types import MarketSpec, Side, split_symbol

TAKERS = "sim-takers"
FEE_QUANTUM = Decimal("0.00000001")
_ZERO = Decimal(0)
TAPE_LENGTH = 1_000  # public trades kept per market


@dataclass(slots=True)
class _Account:
    number: int
    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    orders: list[HomeOrder] = field(default_factory=list)
    trades: list[HomeTrade] = field(default_factory=list)


def _base_fee(size: Decimal, rate: Decimal) -> Decimal:
    """A buy's fee, in the base it receives."""
    return (size * rate).quantize(FEE_QUANTUM, ROUND_HALF_UP)


class HomeExchange:
    """The home venue's markets, accounts and synthetic takers."""

    def __init__(
        self,
        venue: VenueConfig,
        markets: Sequence[MarketConfig],
        reference: ReferencePrice,
        *,
        seed: int,
    ) -> None:
        self._venue = venue
        self._reference = reference
        self.maker_fee = Decimal(str(venue.maker_fee))
        self.taker_fee = Decimal(str(venue.taker_fee))
        self._engines: dict[str, MatchingEngine] = {}
        self._takers: dict[str, TakerFlow] = {}
        for market in markets:
            spec = venue.spec_for(market.symbol)
            self._engines[market.symbol] = MatchingEngine(
                spec, maker_fee=self.maker_fee, taker_fee=self.taker_fee
            )
            self._takers[market.symbol] = TakerFlow(
                market.taker_flow, seed=seed, symbol=market.symbol
            )
        self._accounts: dict[str, _Account] = {}
        self._orders: dict[str, HomeOrder] = {}
        self._id_key = zlib.crc32(venue.id.encode()) << 64
        self._seq = 0
        self._trade_seq = 0
        self._takers_ns: int | None = None
        # every match of every account (synthetic takers too), newest last: the public tape
        self._tape: dict[str, deque[Trade]] = {s: deque(maxlen=TAPE_LENGTH) for s in self._engines}

    def __repr__(self) -> str:
        return f"HomeExchange(venue={self._venue.id!r}, symbols={self.symbols})"

    @property
    def venue_id(self) -> str:
        return self._venue.id

    @property
    def symbols(self) -> list[str]:
        return list(self._engines)

    def spec(self, symbol: str) -> MarketSpec:
        return self._engine(symbol).spec

    # --- market data ------------------------------------------------------------------------

    def book(
        self, symbol: str, depth: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """Aggregated (price, size) levels, best first: bids, asks."""
        engine = self._engine(symbol)
        return engine.levels(Side.BUY, depth), engine.levels(Side.SELL, depth)

    def market_trades(self, symbol: str) -> list[Trade]:
        """The market's last `TAPE_LENGTH` matches, oldest first (taker side: not maker_side)."""
        self._engine(symbol)
        return list(self._tape[symbol])

    def reference_price(self, symbol: str, ts_ns: int) -> float:
        """The shared reference price the synthetic takers trade around."""
        self._engine(symbol)
        return self._reference.symbol_price(symbol, ts_ns)

    # --- orders -----------------------------------------------------------------------------

    def place_order(
        self,
        account: str,
        symbol: str,
        side: Side,
        order_type: HomeOrderType,
        size: Decimal,
        price: Decimal | None,
        ts_ns: int,
        *,
        post_only: bool = False,
        note: str | None = None,
    ) -> HomeOrder:
        """Match what crosses, rest a limit order's remainder; return the order."""
        engine = self._engine(symbol)
        acct = self._account(account)
        _check_filters(engine.spec, order_type, size, price, post_only=post_only)
        self._seq += 1
        order = HomeOrder(
            order_id=str(uuid.UUID(int=self._id_key | self._seq)),
            account=account,
            account_number=acct.number,
            symbol=symbol,
            side=side,
            order_type=order_type,
            price=price if price is not None else _ZERO,
            size=size,
            post_only=post_only,
            note=note,
            created_ns=ts_ns,
            updated_ns=ts_ns,
        )
        if order_type is HomeOrderType.LIMIT:
            resting, trades = self._submit_limit(acct, engine, order, ts_ns)
        else:
            self._check_market_funds(acct, engine, account, side, size)
            resting, trades = None, engine.submit_market(account, side, size, ts_ns)
        self._settle(acct, order, resting, trades)
        return order

    def _submit_limit(
        self, acct: _Account, engine: MatchingEngine, order: HomeOrder, ts_ns: int
    ) -> tuple[RestingOrder | None, list[Trade]]:
        """Lock the funds a limit order needs (quote to buy, base to sell), then match it;
        nothing is locked when the venue refuses it."""
        base, quote = split_symbol(order.symbol)
        price, size, side = order.price, order.size, order.side
        lock_asset, lock = (
            (quote, self._buy_lock(price, size)) if side is Side.BUY else (base, size)
        )
        free = acct.free.get(lock_asset, _ZERO)
        if lock > free:
            raise InsufficientBalance(lock_asset, lock, free)
        try:
            resting, trades = engine.submit_limit(
                order.account, order.order_id, side, price, size, ts_ns, post_only=order.post_only
            )
        except MatchRejected as exc:
            if order.post_only and "post-only" in exc.reason:
                raise PostOnlyWouldTake() from None
            raise OrderRefused() from None
        acct.free[lock_asset] = free - lock
        acct.locked[lock_asset] = acct.locked.get(lock_asset, _ZERO) + lock
        order.locked = lock
        return resting, trades

    def _settle(
        self,
        acct: _Account,
        order: HomeOrder,
        resting: RestingOrder | None,
        trades: list[Trade],
    ) -> None:
        """Book the order and its trades (ours on both sides when we are the maker too),
        and close a market order or a limit order that rests nothing."""
        acct.orders.append(order)
        self._orders[order.order_id] = order
        self._tape[order.symbol].extend(trades)
        for trade in trades:
            self._book_taker(acct, order, trade)
            if trade.maker_owner in self._accounts:
                self._book_maker(trade)
        if resting is None:
            order.status = (
                HomeOrderStatus.FILLED if order.remaining == 0 else HomeOrderStatus.CANCELED
            )
            self._release(acct, order)
        elif order.filled > 0:
            order.status = HomeOrderStatus.PARTIALLY_FILLED

    def cancel_order(self, account: str, order_id: str, ts_ns: int) -> HomeOrder:
        order = self._find(account, order_id)
        if not order.status.is_open:
            raise CancelRejected()
        self._engine(order.symbol).cancel(account, order_id)
        order.status = HomeOrderStatus.CANCELED
        order.updated_ns = ts_ns
        self._release(self._account(account), order)
        return order

    def order(self, account: str, order_id: str) -> HomeOrder:
        return self._find(account, order_id)

    def orders(
        self, account: str, symbol: str | None = None, *, open_only: bool | None = None
    ) -> list[HomeOrder]:
        """The account's orders, oldest first; `open_only` True/False filters, None = all."""
        if symbol is not None:
            self._engine(symbol)
        return [
            o
            for o in self._account(account).orders
            if (symbol is None or o.symbol == symbol)
            and (open_only is None or o.status.is_open == open_only)
        ]

    def trades(self, account: str, symbol: str | None = None) -> list[HomeTrade]:
        if symbol is not None:
            self._engine(symbol)
        return [t for t in self._account(account).trades if symbol is None or t.symbol == symbol]

    def account_number(self, account: str) -> int:
        """The venue's user id of `account` (opened on first use)."""
        return self._account(account).number

    def balances(self, account: str) -> dict[str, tuple[Decimal, Decimal]]:
        """(free, locked) per asset."""
        acct = self._account(account)
        assets = dict.fromkeys([*acct.free, *acct.locked])
        return {a: (acct.free.get(a, _ZERO), acct.locked.get(a, _ZERO)) for a in assets}

    def credit(self, account: str, asset: str, amount: Decimal) -> None:
        acct = self._account(account)
        acct.free[asset] = acct.free.get(asset, _ZERO) + amount
        acct.locked.setdefault(asset, _ZERO)

    def debit(self, account: str, asset: str, amount: Decimal) -> None:
        acct = self._account(account)
        free = acct.free.get(asset, _ZERO)
        if amount > free:
            raise InsufficientBalance(asset, amount, free)
        acct.free[asset] = free - amount

    # --- synthetic takers ---------------------------------------------------------------------

    def run_takers(self, now_ns: int) -> int:
        """Let the takers that arrived since the last call trade; return how many trades.

        Their trades are stamped `now_ns`, when the matching ran, as an exchange stamps
        its trades: stamped at arrival they would claim a match up to one call interval
        before anyone could have been told of it (fill -> hedge latency measured from
        the stamp would count venue-sim's batching as the engine's)."""
        since = self._takers_ns if self._takers_ns is not None else now_ns
        self._takers_ns = max(now_ns, since)
        count = 0
        for symbol, engine in self._engines.items():
            reference = self._reference.symbol_price(symbol, now_ns)
            bid, ask = engine.best_bid(), engine.best_ask()
            home_mid = float(bid + ask) / 2 if bid is not None and ask is not None else None
            lot = engine.spec.lot_size
            for taker in self._takers[symbol].arrivals(
                since, now_ns, reference_price=reference, home_mid=home_mid
            ):
                size = (Decimal(repr(taker.amount)) / lot).to_integral_value(ROUND_FLOOR) * lot
                if size <= 0:
                    continue
                for trade in engine.submit_market(TAKERS, taker.side, size, now_ns):
                    count += 1
                    self._tape[symbol].append(trade)
                    if trade.maker_owner in self._accounts:
                        self._book_maker(trade)
        return count

    # --- internals ----------------------------------------------------------------------------

    def _engine(self, symbol: str) -> MatchingEngine:
        engine = self._engines.get(symbol)
        if engine is None:
            raise UnknownSymbol(symbol)
        return engine

    def _account(self, account: str) -> _Account:
        acct = self._accounts.get(account)
        if acct is None:
            acct = _Account(
                number=len(self._accounts) + 1,
                free={a: Decimal(v) for a, v in self._venue.balances.items()},
                locked={a: _ZERO for a in self._venue.balances},
            )
            self._accounts[account] = acct
        return acct

    def _find(self, account: str, order_id: str) -> HomeOrder:
        order = self._orders.get(order_id)
        if order is None or order.account != account:
            raise OrderNotFound()
        return order

    @staticmethod
    def _buy_lock(price: Decimal, size: Decimal) -> Decimal:
        return price * size  # the fee comes out of the base received

    def _check_market_funds(
        self, acct: _Account, engine: MatchingEngine, owner: str, side: Side, size: Decimal
    ) -> None:
        """A market order must afford what it would take, walking others' resting orders."""
        base, quote = split_symbol(engine.spec.symbol)
        if side is Side.SELL:
            free = acct.free.get(base, _ZERO)
            if size > free:
                raise InsufficientBalance(base, size, free)
            return
        needed, left = _ZERO, size
        for resting in engine.open_orders():
            if left == 0:
                break
            if resting.side is Side.BUY or resting.owner == owner:
                continue
            qty = min(left, resting.remaining)
            cost = resting.price * qty
            needed += cost
            left -= qty
        free = acct.free.get(quote, _ZERO)
        if needed > free:
            raise InsufficientBalance(quote, needed, free)

    def _book_taker(self, acct: _Account, order: HomeOrder, trade: Trade) -> None:
        fee = _base_fee(trade.amount, self.taker_fee) if order.side is Side.BUY else trade.taker_fee
        self._book(acct, order, trade.price, trade.amount, fee, False, trade.ts_ns)

    def _book_maker(self, trade: Trade) -> None:
        order = self._orders[trade.maker_client_order_id]
        acct = self._accounts[trade.maker_owner]
        fee = _base_fee(trade.amount, self.maker_fee) if order.side is Side.BUY else trade.maker_fee
        self._book(acct, order, trade.price, trade.amount, fee, True, trade.ts_ns)
        if order.remaining == 0:
            order.status = HomeOrderStatus.FILLED
            self._release(acct, order)
        else:
            order.status = HomeOrderStatus.PARTIALLY_FILLED

    def _book(
        self,
        acct: _Account,
        order: HomeOrder,
        price: Decimal,
        size: Decimal,
        fee: Decimal,
        is_maker: bool,
        ts_ns: int,
    ) -> None:
        """Exact balance moves of one fill: buy base +size-fee, quote -price*size;
        sell base -size, quote +price*size-fee (the fee in the coin received)."""
        base, quote = split_symbol(order.symbol)
        cost = price * size
        if order.side is Side.BUY:
            self._pay(acct, order, quote, cost)
            acct.free[base] = acct.free.get(base, _ZERO) + size - fee
        else:
            self._pay(acct, order, base, size)
            acct.free[quote] = acct.free.get(quote, _ZERO) + cost - fee
        self._trade_seq += 1
        acct.trades.append(
            HomeTrade(
                trade_id=f"{self._venue.id}-t{self._trade_seq}",
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                price=price,
                size=size,
                fee=fee,
                fee_asset=base if order.side is Side.BUY else quote,
                is_maker=is_maker,
                ts_ns=ts_ns,
            )
        )
        order.filled += size
        order.fee += fee
        order.updated_ns = ts_ns

    @staticmethod
    def _pay(acct: _Account, order: HomeOrder, asset: str, amount: Decimal) -> None:
        """Pay from the order's lock first, the rest (fee dust at most) from free funds."""
        from_lock = min(order.locked, max(amount, _ZERO))
        order.locked -= from_lock
        acct.locked[asset] = acct.locked.get(asset, _ZERO) - from_lock
        acct.free[asset] = acct.free.get(asset, _ZERO) - (amount - from_lock)

    @staticmethod
    def _release(acct: _Account, order: HomeOrder) -> None:
        if order.locked == 0:
            return
        base, quote = split_symbol(order.symbol)
        asset = quote if order.side is Side.BUY else base
        acct.locked[asset] -= order.locked
        acct.free[asset] = acct.free.get(asset, _ZERO) + order.locked
        order.locked = _ZERO


def _check_filters(
    spec: MarketSpec,
    order_type: HomeOrderType,
    size: Decimal,
    price: Decimal | None,
    *,
    post_only: bool,
) -> None:
    """The venue's lot, tick and notional filters, refused before any order id is spent."""
    if size <= 0 or size % spec.lot_size != 0 or size < spec.min_amount:
        raise FilterFailure("size", f"size {size} is not on the lot {spec.lot_size}")
    if order_type is HomeOrderType.LIMIT:
        if price is None:
            raise InvalidRequest("price is required for a limit order")
        if price <= 0 or price % spec.tick_size != 0:
            raise FilterFailure("price", f"price {price} is not on the tick {spec.tick_size}")
        if price * size < spec.min_notional:
            raise FilterFailure("notional", f"{price * size} < {spec.min_notional}")
    elif post_only:
        raise OrderRejected("Error 1001 - POST ONLY order can not be of type market")
