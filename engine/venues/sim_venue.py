"""`HomeSimVenue`: one market of the operator's exchange, simulated in-process.

The book itself is `engine.sim.home_book.HomeBook` (the same one the backtest
runs); this adds what a live venue has on top: synthetic takers (Poisson
arrivals, some informed by the shared reference price) arriving on the wall
clock between polls, and the async `HomeVenue` interface. Runs inside the
MarketActor, so quoting and fills cost no network hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from engine.config import MarketConfig, VenueConfig
from engine.sim.home_book import BOT, TAKERS, USERS, HomeBook
from engine.sim.matching import MatchingEngine
from engine.sim.price import ReferencePrice
from engine.sim.takers import TakerFlow
from engine.types import Fill, MarketSpec, Side

__all__ = ["BOT", "TAKERS", "USERS", "HomeSimVenue"]

_MAX_TRADES_KEPT = 10_000  # for calibration; older ones drop if nobody takes them


class HomeSimVenue:
    # fills happen in process on each poll: nothing is ever pushed
    fills_arrived: asyncio.Event | None = None

    def __init__(
        self,
        venue: VenueConfig,
        market: MarketConfig,
        reference: ReferencePrice,
        *,
        seed: int,
        session: str,
    ) -> None:
        self.venue_id = venue.id
        self.market = market
        self._reference = reference
        self._book = HomeBook(venue, market, seed=seed, session=session)
        self._takers = TakerFlow(market.taker_flow, seed=seed, symbol=market.symbol)
        self._last_poll_ns: int | None = None

    @property
    def spec(self) -> MarketSpec:
        return self._book.spec

    @property
    def engine(self) -> MatchingEngine:
        return self._book.engine

    @property
    def rejected(self) -> int:
        return self._book.rejected

    async def place(
        self, quotes: Sequence[tuple[Side, Decimal, Decimal]], now_ns: int
    ) -> list[str]:
        return self._book.place(quotes, now_ns)

    async def cancel_all(self, now_ns: int) -> int:
        return self._book.cancel_all()

    async def open_quotes(self) -> list[tuple[Side, Decimal, Decimal]]:
        return self._book.open_quotes()

    def take_pushed_fills(self) -> list[Fill]:
        return []  # nothing is pushed: takers trade when polled

    async def close(self) -> None:
        """Nothing to release: the exchange is in this process."""

    async def poll_fills(self, now_ns: int) -> list[Fill]:
        """Let the takers that arrived since the last poll trade; return the bot's fills."""
        since = self._last_poll_ns if self._last_poll_ns is not None else now_ns
        self._last_poll_ns = now_ns
        if now_ns <= since:
            return []
        book = self._book
        reference_price = self._reference.symbol_price(self.market.symbol, now_ns)
        if book.users_due(now_ns):
            book.refresh_users(now_ns, reference_price)
        arrivals = self._takers.arrivals(
            since, now_ns, reference_price=reference_price, home_mid=book.home_mid()
        )
        fills = book.execute(arrivals)
        if len(book.trades) > _MAX_TRADES_KEPT:
            del book.trades[:-_MAX_TRADES_KEPT]
        return fills

    def take_trades(self) -> list[tuple[int, float, float]]:
        """Every home trade (ts_ns, price, amount) since the last call, whoever the maker was."""
        out = list(self._book.trades)
        self._book.trades.clear()
        return out

    def user_depth_within(self, mid: float, bps: float) -> tuple[float, float]:
        return self._book.user_depth_within(mid, bps)

    def levels(
        self, depth: int = 200
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return self._book.levels(depth)

    def bot_levels(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return self._book.bot_levels()
