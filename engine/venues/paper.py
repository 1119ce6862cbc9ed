"""`PaperVenue`: a live venue's markets and books, with orders filled locally.

Paper trading answers "what would the hedges have cost on this venue today"
without an API key that can trade: markets (grid, minimums) and L2 books come
from the real venue through `CcxtVenue` (public endpoints only), and every
child order is filled here by walking a freshly fetched book up to its IOC
limit, paying the configured taker fee in the quote asset. Balances start from
the config and are kept here, so the ledger reconciles against them exactly.

What it does not model: queue position and latency (the book is read once per
child, and the fill is immediate), and the market impact of earlier paper
orders (liquidity a paper order takes is not removed from the venue's next
book). Both make paper fills slightly optimistic; see hftbacktest's
"queue position" and "latency" models for what a full replay adds.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from engine.types import (
    BookSnapshot,
    ChildOrder,
    ChildOrderResult,
    Execution,
    MarketSpec,
    Side,
    split_symbol,
)
from engine.venues.ccxt_venue import CcxtVenue
from engine.venues.errors import VenueError
from engine.venues.rate_limit import WeightBudget

PAPER_BOOK_DEPTH = 50


class PaperVenue:
    """A `HedgeVenue` whose orders never reach the venue (module doc)."""

    def __init__(
        self,
        live: CcxtVenue,
        *,
        taker_fee: float,
        balances: dict[str, Decimal],
        book_depth: int = PAPER_BOOK_DEPTH,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.live = live
        self.venue_id = live.venue_id
        self.taker_fee = Decimal(str(taker_fee))
        self._balances = {a: Decimal(str(v)) for a, v in balances.items()}
        self._book_depth = book_depth
        self._clock_ns = clock_ns
        self._seq = itertools.count(1)
        self.orders_sent = 0  # to the live venue: always 0, by construction

    def __repr__(self) -> str:
        return f"PaperVenue(venue_id={self.venue_id!r})"

    @property
    def specs(self) -> dict[str, MarketSpec]:
        return self.live.specs

    async def start(self) -> dict[str, MarketSpec]:
        return await self.live.start()

    async def set_symbols(self, symbols: list[str]) -> dict[str, MarketSpec]:
        return await self.live.set_symbols(symbols)

    @property
    def budget(self) -> WeightBudget:
        """The live venue's weight budget: paper orders cost none, its book reads do."""
        return self.live.budget

    def book_weight(self, depth: int) -> float:
        return self.live.book_weight(depth)

    async def fetch_book(self, symbol: str, depth: int, now_ns: int) -> BookSnapshot:
        return await self.live.fetch_book(symbol, depth, now_ns)

    async def fetch_balances(self) -> dict[str, Decimal]:
        return dict(self._balances)

    async def close(self) -> None:
        await self.live.close()

    async def execute(self, order: ChildOrder) -> ChildOrderResult:
        """Fill a child against the venue's current book, locally; never raises."""
        prepared = self.live.prepare(order)
        if isinstance(prepared, str):
            return ChildOrderResult(order, "rejected", reason=prepared)
        amount, limit = prepared
        order = replace(order, amount=float(amount), limit_price=float(limit))
        now_ns = self._clock_ns()
        try:
            book = await self.live.fetch_book(order.symbol, self._book_depth, now_ns)
        except VenueError as err:
            return ChildOrderResult(order, "rejected", reason=f"paper: no book: {err}")
        takes = walk_book(book, order.side, amount, limit)
        if not takes:
            return ChildOrderResult(order, "expired", reason="paper: nothing at the limit")
        base, quote = split_symbol(order.symbol)
        filled = sum((q for _, q in takes), Decimal(0))
        cost = sum((p * q for p, q in takes), Decimal(0))
        fee = cost * self.taker_fee
        if order.side is Side.BUY and self._balances.get(quote, Decimal(0)) < cost + fee:
            return ChildOrderResult(order, "rejected", reason=f"paper: insufficient {quote}")
        if order.side is Side.SELL and self._balances.get(base, Decimal(0)) < filled:
            return ChildOrderResult(order, "rejected", reason=f"paper: insufficient {base}")
        sign = 1 if order.side is Side.BUY else -1
        self._balances[base] = self._balances.get(base, Decimal(0)) + sign * filled
        self._balances[quote] = self._balances.get(quote, Decimal(0)) - sign * cost - fee
        order_id = f"paper-{next(self._seq)}"
        executions = []
        for i, (price, qty) in enumerate(takes):
            level_cost = price * qty
            executions.append(
                Execution(
                    ts_ns=now_ns,
                    hedge_id=order.hedge_id,
                    client_order_id=order.client_order_id,
                    venue=self.venue_id,
                    symbol=order.symbol,
                    side=order.side,
                    amount=qty,
                    cost=level_cost,
                    fee=level_cost * self.taker_fee,
                    fee_currency=quote,
                    order_id=order_id,
                    trade_id=f"{order_id}-{i}",
                )
            )
        # per-level fees sum to the fee charged above: multiplication distributes exactly
        status = "filled" if filled >= amount else "partial"
        return ChildOrderResult(order, status, tuple(executions), "paper")


def walk_book(
    book: BookSnapshot, side: Side, amount: Decimal, limit: Decimal
) -> list[tuple[Decimal, Decimal]]:
    """(price, amount) taken from the book by an IOC of `amount` at `limit`, best level first."""
    levels = book.asks if side is Side.BUY else book.bids
    left = amount
    takes = []
    for p, a in levels:
        price, size = Decimal(str(p)), Decimal(str(a))
        if (side is Side.BUY and price > limit) or (side is Side.SELL and price < limit):
            break
        qty = min(size, left)
        if qty > 0:
            takes.append((price, qty))
            left -= qty
        if left <= 0:
            break
    return takes
