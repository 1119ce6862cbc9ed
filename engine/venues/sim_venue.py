"""`HomeSimVenue`: one market of the operator's exchange, simulated in-process.

A price-time-priority matching engine holds the bot's quotes and, when
`user_makers` is on, synthetic users' own limit orders; synthetic takers
(Poisson arrivals, some informed by the shared reference price) hit it, which
is where the bot's fills come from. Runs inside the MarketActor, so quoting
and fills cost no network hop.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from engine.config import MarketConfig, VenueConfig
from engine.quoting.rounding import round_quotes
from engine.sim.makers import UserMakerFlow
from engine.sim.matching import MatchingEngine, OrderRejected
from engine.sim.price import ReferencePrice
from engine.sim.takers import TakerFlow
from engine.types import Fill, Liquidity, MarketSpec, QuoteLevel, Side, market_id

log = logging.getLogger(__name__)

BOT = "marketmesh"
TAKERS = "sim-takers"
USERS = "sim-users"
_MAX_TRADES_KEPT = 10_000  # for calibration; older ones drop if nobody takes them


class HomeSimVenue:
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
        rules = venue.rules_for(market.symbol)
        self.spec = MarketSpec(
            symbol=market.symbol,
            tick_size=rules.tick_size,
            lot_size=rules.lot_size,
            min_amount=rules.lot_size,
            min_notional=rules.min_notional,
        )
        self.engine = MatchingEngine(
            self.spec,
            maker_fee=Decimal(str(venue.maker_fee)),
            taker_fee=Decimal(str(venue.taker_fee)),
        )
        self._takers = TakerFlow(market.taker_flow, seed=seed, symbol=market.symbol)
        self._makers = UserMakerFlow(market.user_makers, seed=seed, symbol=market.symbol)
        self._user_seq = 0
        self._trades: deque[tuple[int, float, float]] = deque(maxlen=_MAX_TRADES_KEPT)
        self._session = session
        self._prefix = f"{session}-{market_id(market.symbol)}"
        self._seq = 0
        self._last_poll_ns: int | None = None
        self.rejected = 0

    async def place(
        self, quotes: Sequence[tuple[Side, Decimal, Decimal]], now_ns: int
    ) -> list[str]:
        placed = []
        for side, price, amount in quotes:
            self._seq += 1
            cid = f"{self._prefix}-q{self._seq}"
            try:
                self.engine.submit_limit(BOT, cid, side, price, amount, now_ns, post_only=True)
            except OrderRejected as exc:
                self.rejected += 1
                log.debug("%s quote rejected: %s", self.market.symbol, exc)
                continue
            placed.append(cid)
        return placed

    async def cancel_all(self, now_ns: int) -> int:
        cancelled = 0
        for order in self.engine.open_orders(BOT):
            if self.engine.cancel(BOT, order.client_order_id) is not None:
                cancelled += 1
        return cancelled

    async def open_quotes(self) -> list[tuple[Side, Decimal, Decimal]]:
        return [(o.side, o.price, o.remaining) for o in self.engine.open_orders(BOT)]

    async def poll_fills(self, now_ns: int) -> list[Fill]:
        """Let the takers that arrived since the last poll trade; return the bot's fills."""
        since = self._last_poll_ns if self._last_poll_ns is not None else now_ns
        self._last_poll_ns = now_ns
        if now_ns <= since:
            return []
        base = self.market.base
        if self._makers.due(now_ns):
            self._refresh_user_makers(now_ns, self._reference.price(base, now_ns))
        bid, ask = self.engine.best_bid(), self.engine.best_ask()
        home_mid = float(bid + ask) / 2 if bid is not None and ask is not None else None
        arrivals = self._takers.arrivals(
            since, now_ns, reference_price=self._reference.price(base, now_ns), home_mid=home_mid
        )
        fills: list[Fill] = []
        for taker in arrivals:
            amount = (Decimal(str(taker.amount)) / self.spec.lot_size).to_integral_value(
                rounding=ROUND_FLOOR
            ) * self.spec.lot_size
            if amount <= 0:
                continue
            for trade in self.engine.submit_market(TAKERS, taker.side, amount, taker.ts_ns):
                self._trades.append((trade.ts_ns, float(trade.price), float(trade.amount)))
                if trade.maker_owner != BOT:
                    continue
                fills.append(
                    Fill(
                        ts_ns=trade.ts_ns,
                        venue=self.venue_id,
                        market=self.market.symbol,
                        fill_id=f"{self._session}-{trade.trade_id}",
                        order_id=trade.maker_client_order_id,
                        side=trade.maker_side,
                        price=trade.price,
                        amount=trade.amount,
                        fee=trade.maker_fee,
                        fee_currency=self.market.quote,
                        liquidity=Liquidity.MAKER,
                    )
                )
        return fills

    def take_trades(self) -> list[tuple[int, float, float]]:
        """Every home trade (ts_ns, price, amount) since the last call, whoever the maker was."""
        out = list(self._trades)
        self._trades.clear()
        return out

    def user_depth_within(self, mid: float, bps: float) -> tuple[float, float]:
        """(bid, ask) quote notional within `bps` of `mid` resting from anyone but the bot."""
        bid, ask = (
            self.engine.depth_within(side, mid, bps)
            - self.engine.depth_within(side, mid, bps, owner=BOT)
            for side in (Side.BUY, Side.SELL)
        )
        return bid, ask

    def _refresh_user_makers(self, now_ns: int, reference_price: float) -> None:
        """Users replace their resting orders; ones that would cross the book are dropped."""
        for order in self.engine.open_orders(USERS):
            self.engine.cancel(USERS, order.client_order_id)
        wanted = [
            QuoteLevel(o.side, o.price, o.amount)
            for o in self._makers.refresh(now_ns, reference_price)
        ]
        for side, price, amount in round_quotes(wanted, self.spec):
            self._user_seq += 1
            try:
                self.engine.submit_limit(
                    USERS, f"user-{self._user_seq}", side, price, amount, now_ns, post_only=True
                )
            except OrderRejected:
                continue

    def levels(
        self, depth: int = 200
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        def as_float(side: Side) -> list[tuple[float, float]]:
            return [(float(p), float(a)) for p, a in self.engine.levels(side, depth)]

        return as_float(Side.BUY), as_float(Side.SELL)

    def bot_levels(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        orders = self.engine.open_orders(BOT)
        bids = sorted(
            ((float(o.price), float(o.remaining)) for o in orders if o.side is Side.BUY),
            reverse=True,
        )
        asks = sorted((float(o.price), float(o.remaining)) for o in orders if o.side is Side.SELL)
        return bids, asks
