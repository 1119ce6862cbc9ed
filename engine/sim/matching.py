"""Price-time-priority limit order book for one symbol of the home venue.

Prices, amounts and fees are exact `Decimal`: every fill the bot books here
ends up in the ledger, which must reconcile to the unit. Orders match best
price first and, within one price, in arrival order (FIFO), as on every
central-limit-order-book exchange. A trade executes at the resting (maker)
order's price.

Each side keeps a sorted list of price keys (bisect, O(log n) search) and a
dict price -> deque of resting orders. Keys are stored so that the best price
is always the *last* element (bids: `price`, asks: `-price`), which makes
taking the touch and removing an emptied touch level O(1).

Self-trade prevention: a taker never trades against its own owner's resting
orders; those are skipped and keep their place in the queue. If a limit
order's remainder would then rest crossed against its own orders, the
remainder expires (Binance's `EXPIRE_TAKER` mode), so the book is never
crossed.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice

from engine.types import MarketSpec, Side, market_id


class MatchRejected(Exception):
    """The matching engine refused an order on purpose; resending it unchanged will not help."""

    def __init__(self, reason: str, *, client_order_id: str | None = None) -> None:
        self.reason = reason
        self.client_order_id = client_order_id
        where = f"order {client_order_id!r}: " if client_order_id else "order: "
        super().__init__(where + reason)


@dataclass(frozen=True, slots=True)
class Trade:
    """One match between a resting (maker) order and an incoming (taker) order."""

    ts_ns: int
    trade_id: str
    symbol: str
    price: Decimal
    amount: Decimal
    maker_owner: str
    maker_order_id: str
    maker_client_order_id: str
    maker_side: Side
    taker_owner: str
    maker_fee: Decimal
    taker_fee: Decimal

    @property
    def notional_quote(self) -> Decimal:
        return self.price * self.amount


@dataclass(slots=True)
class RestingOrder:
    """A limit order on the book. `amount` is what was submitted, `remaining` what is left.

    `seq` is the arrival number and sets time priority within a price level.
    """

    order_id: str
    client_order_id: str
    owner: str
    side: Side
    price: Decimal
    amount: Decimal
    remaining: Decimal
    ts_ns: int
    seq: int


class _BookSide:
    """One side of the book: price levels ordered so that the best price is last."""

    __slots__ = ("_keys", "_levels", "side")

    def __init__(self, side: Side) -> None:
        self.side = side
        self._keys: list[Decimal] = []
        self._levels: dict[Decimal, deque[RestingOrder]] = {}

    def _key(self, price: Decimal) -> Decimal:
        return price if self.side is Side.BUY else -price

    def best(self) -> Decimal | None:
        if not self._keys:
            return None
        return self._key(self._keys[-1])

    def prices_best_first(self) -> Iterator[Decimal]:
        """Prices best first; dropping the level just yielded while iterating is safe."""
        for i in range(len(self._keys) - 1, -1, -1):
            yield self._key(self._keys[i])

    def queue(self, price: Decimal) -> deque[RestingOrder]:
        return self._levels[price]

    def add(self, order: RestingOrder) -> None:
        level = self._levels.get(order.price)
        if level is None:
            level = deque()
            self._levels[order.price] = level
            bisect.insort(self._keys, self._key(order.price))
        level.append(order)

    def remove(self, order: RestingOrder) -> None:
        level = self._levels[order.price]
        level.remove(order)
        if not level:
            self.drop_level(order.price)

    def drop_level(self, price: Decimal) -> None:
        del self._levels[price]
        key = self._key(price)
        i = bisect.bisect_left(self._keys, key)
        del self._keys[i]


class MatchingEngine:
    """The home venue's order book for one symbol, with fees charged on quote notional.

    `maker_fee`/`taker_fee` are rates on `price * amount` (negative = rebate),
    quantized to `fee_places` decimals ROUND_HALF_UP, in the quote asset.
    Returned orders are snapshots: mutating them does not touch the book.
    """

    def __init__(
        self,
        spec: MarketSpec,
        *,
        maker_fee: Decimal,
        taker_fee: Decimal,
        fee_places: int = 8,
    ) -> None:
        if spec.tick_size <= 0 or spec.lot_size <= 0:
            raise ValueError(f"{spec.symbol}: tick_size and lot_size must be positive")
        self.spec = spec
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self._fee_quantum = Decimal(1).scaleb(-fee_places)
        self._id_prefix = market_id(spec.symbol)
        self._sides = {Side.BUY: _BookSide(Side.BUY), Side.SELL: _BookSide(Side.SELL)}
        self._open: dict[tuple[str, str], RestingOrder] = {}
        self._order_seq = 0
        self._trade_seq = 0

    # orders ------------------------------------------------------------------

    def submit_limit(
        self,
        owner: str,
        client_order_id: str,
        side: Side,
        price: Decimal,
        amount: Decimal,
        ts_ns: int,
        *,
        post_only: bool = False,
    ) -> tuple[RestingOrder | None, list[Trade]]:
        """Match what crosses, rest the remainder; return (resting snapshot or None, trades).

        Raises `MatchRejected` for a price off the tick grid, an amount off the lot
        grid or below the minimums, a client order id the owner already has open,
        or (with `post_only`) a price that would cross the opposite touch.
        """
        self._validate_limit(owner, client_order_id, price, amount)
        opposite = self._sides[side.opposite]
        touch = opposite.best()
        crosses = touch is not None and (price >= touch if side is Side.BUY else price <= touch)
        if post_only and crosses:
            raise MatchRejected(
                f"post-only {side.value} at {price} would cross the touch {touch}",
                client_order_id=client_order_id,
            )
        self._order_seq += 1
        order = RestingOrder(
            order_id=f"{self._id_prefix}-o{self._order_seq}",
            client_order_id=client_order_id,
            owner=owner,
            side=side,
            price=price,
            amount=amount,
            remaining=amount,
            ts_ns=ts_ns,
            seq=self._order_seq,
        )
        trades: list[Trade] = []
        if crosses:
            order.remaining = self._take(owner, side, amount, ts_ns, price, trades)
        if order.remaining == 0:
            return None, trades
        touch = opposite.best()
        if touch is not None and (price >= touch if side is Side.BUY else price <= touch):
            return None, trades  # only the owner's own orders are left across: expire the taker
        self._sides[side].add(order)
        self._open[(owner, client_order_id)] = order
        return replace(order), trades

    def submit_market(self, owner: str, side: Side, amount: Decimal, ts_ns: int) -> list[Trade]:
        """Walk the opposite side best price first, FIFO within a price; drop what is unfilled."""
        if amount <= 0:
            raise MatchRejected(f"amount {amount} must be positive")
        if amount % self.spec.lot_size != 0:
            raise MatchRejected(f"amount {amount} is off the lot size {self.spec.lot_size}")
        trades: list[Trade] = []
        self._take(owner, side, amount, ts_ns, None, trades)
        return trades

    def cancel(self, owner: str, client_order_id: str) -> RestingOrder | None:
        """Remove an open order; None when it is unknown, filled or already cancelled."""
        order = self._open.pop((owner, client_order_id), None)
        if order is None:
            return None
        self._sides[order.side].remove(order)
        return replace(order)

    # book views --------------------------------------------------------------

    def order(self, owner: str, client_order_id: str) -> RestingOrder | None:
        """The open order itself (not a copy: read it, do not change it); None once gone."""
        return self._open.get((owner, client_order_id))

    def open_orders(self, owner: str | None = None) -> list[RestingOrder]:
        """Open orders (of `owner` if given): bids best first, then asks best first, FIFO."""
        out: list[RestingOrder] = []
        for side in (Side.BUY, Side.SELL):
            book = self._sides[side]
            for price in book.prices_best_first():
                out.extend(
                    replace(o) for o in book.queue(price) if owner is None or o.owner == owner
                )
        return out

    def best_bid(self) -> Decimal | None:
        return self._sides[Side.BUY].best()

    def best_ask(self) -> Decimal | None:
        return self._sides[Side.SELL].best()

    def levels(self, side: Side, depth: int) -> list[tuple[Decimal, Decimal]]:
        """Aggregated (price, amount) of the best `depth` levels of `side`, best first."""
        book = self._sides[side]
        return [
            (price, sum((o.remaining for o in book.queue(price)), Decimal(0)))
            for price in islice(book.prices_best_first(), max(depth, 0))
        ]

    def depth_within(self, side: Side, mid: float, bps: float, owner: str | None = None) -> float:
        """Quote notional resting on `side` within `bps` of `mid` (only `owner`'s if given).

        This is the depth an SLA like "50k within 50 bps" measures.
        """
        book = self._sides[side]
        bound = mid * (1 - bps / 1e4) if side is Side.BUY else mid * (1 + bps / 1e4)
        total = 0.0
        for price in book.prices_best_first():
            p = float(price)
            if (side is Side.BUY and p < bound) or (side is Side.SELL and p > bound):
                break
            total += sum(
                p * float(o.remaining)
                for o in book.queue(price)
                if owner is None or o.owner == owner
            )
        return total

    # internals ---------------------------------------------------------------

    def _validate_limit(
        self, owner: str, client_order_id: str, price: Decimal, amount: Decimal
    ) -> None:
        spec = self.spec

        def reject(reason: str) -> MatchRejected:
            return MatchRejected(reason, client_order_id=client_order_id)

        if (owner, client_order_id) in self._open:
            raise reject("duplicate client order id: an open order already uses it")
        if price <= 0:
            raise reject(f"price {price} must be positive")
        if amount <= 0:
            raise reject(f"amount {amount} must be positive")
        if price % spec.tick_size != 0:
            raise reject(f"price {price} is off the tick size {spec.tick_size}")
        if amount % spec.lot_size != 0:
            raise reject(f"amount {amount} is off the lot size {spec.lot_size}")
        if amount < spec.min_amount:
            raise reject(f"amount {amount} is below the minimum amount {spec.min_amount}")
        if price * amount < spec.min_notional:
            raise reject(
                f"notional {price * amount} is below the minimum notional {spec.min_notional}"
            )

    def _fee(self, notional: Decimal, rate: Decimal) -> Decimal:
        return (notional * rate).quantize(self._fee_quantum, rounding=ROUND_HALF_UP)

    def _take(
        self,
        owner: str,
        side: Side,
        amount: Decimal,
        ts_ns: int,
        limit_price: Decimal | None,
        trades: list[Trade],
    ) -> Decimal:
        """Fill up to `amount` against the opposite side; return what is left unfilled."""
        book = self._sides[side.opposite]
        remaining = amount
        for price in book.prices_best_first():
            if remaining == 0:
                break
            if limit_price is not None and (
                price > limit_price if side is Side.BUY else price < limit_price
            ):
                break
            queue = book.queue(price)
            skipped: list[RestingOrder] = []
            while queue and remaining > 0:
                maker = queue[0]
                if maker.owner == owner:  # self-trade prevention: the maker keeps its place
                    skipped.append(queue.popleft())
                    continue
                qty = min(remaining, maker.remaining)
                maker.remaining -= qty
                remaining -= qty
                trades.append(self._trade(maker, owner, qty, ts_ns))
                if maker.remaining == 0:
                    queue.popleft()
                    del self._open[(maker.owner, maker.client_order_id)]
            queue.extendleft(reversed(skipped))
            if not queue:
                book.drop_level(price)
        return remaining

    def _trade(self, maker: RestingOrder, taker_owner: str, qty: Decimal, ts_ns: int) -> Trade:
        self._trade_seq += 1
        notional = maker.price * qty
        return Trade(
            ts_ns=ts_ns,
            trade_id=f"{self._id_prefix}-{self._trade_seq}",
            symbol=self.spec.symbol,
            price=maker.price,
            amount=qty,
            maker_owner=maker.owner,
            maker_order_id=maker.order_id,
            maker_client_order_id=maker.client_order_id,
            maker_side=maker.side,
            taker_owner=taker_owner,
            maker_fee=self._fee(notional, self.maker_fee),
            taker_fee=self._fee(notional, self.taker_fee),
        )
