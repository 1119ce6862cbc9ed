"""`HomeBook`: one market of the home exchange as a synchronous book.

The bot's post-only quotes, synthetic users' orders and takers hitting both,
on the same `MatchingEngine`. Plain methods, no clock and no taker flow of
its own: takers come from outside (`execute`), so the live in-process venue
(`engine.venues.sim_venue.HomeSimVenue`, which adds the taker flow and the
async venue interface) and the backtest (simulated or replayed flow) share
this one book. `tests/unit/engine/backtest/test_venue.py` checks the two
fill for fill on the same seed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from engine.config import MarketConfig, VenueConfig
from engine.quoting.rounding import round_quotes
from engine.sim.makers import UserMakers
from engine.sim.matching import MatchingEngine, MatchRejected
from engine.sim.takers import TakerOrder
from engine.types import Fill, Liquidity, QuoteLevel, Side, market_id

log = logging.getLogger(__name__)

BOT = "marketmesh"
TAKERS = "sim-takers"
USERS = "sim-users"


class HomeBook:
    """One market of the home exchange: the bot's quotes, users' orders, takers hitting both."""

    def __init__(
        self, venue: VenueConfig, market: MarketConfig, *, seed: int, session: str
    ) -> None:
        self.venue_id = venue.id
        self.market = market
        self.spec = venue.spec_for(market.symbol)
        self.engine = MatchingEngine(
            self.spec,
            maker_fee=Decimal(str(venue.maker_fee)),
            taker_fee=Decimal(str(venue.taker_fee)),
        )
        self._makers = UserMakers(
            market.user_makers, seed=seed, symbol=market.symbol, anonymous_owner=USERS
        )
        # each user maker's resting client order ids: replaced as a whole at its refresh
        self._user_cids: dict[str, list[str]] = {}
        self._session = session
        self._prefix = f"{session}-{market_id(market.symbol)}"
        self._seq = 0
        self._user_seq = 0
        self.trades: list[tuple[int, float, float]] = []
        """Every home trade (ts_ns, price, amount) since the caller last cleared it."""
        self.rejected = 0
        self.taker_orders = 0
        # the bot's open orders, cid -> [seq, side, price, remaining]: reading them back from
        # the engine (`open_orders`) copies every order and cost a third of a backtest's time
        self._live: dict[str, list[Any]] = {}

    # the bot's quotes ----------------------------------------------------------

    def place(self, quotes: Sequence[tuple[Side, Decimal, Decimal]], now_ns: int) -> list[str]:
        """Post-only limit orders; a rejected one is counted and skipped, as on the live venue."""
        placed = []
        for side, price, amount in quotes:
            self._seq += 1
            cid = f"{self._prefix}-q{self._seq}"
            try:
                self.engine.submit_limit(BOT, cid, side, price, amount, now_ns, post_only=True)
            except MatchRejected as exc:
                self.rejected += 1
                log.debug("%s quote rejected: %s", self.market.symbol, exc)
                continue
            self._live[cid] = [self._seq, side, price, amount]
            placed.append(cid)
        return placed

    def cancel_all(self) -> int:
        cancelled = 0
        for cid in self._live:
            if self.engine.cancel(BOT, cid) is not None:
                cancelled += 1
        self._live.clear()
        return cancelled

    def open_quotes(self) -> list[tuple[Side, Decimal, Decimal]]:
        """The bot's open orders as (side, price, remaining): bids best first, then asks, FIFO."""
        bids = sorted(
            (o for o in self._live.values() if o[1] is Side.BUY), key=lambda o: (-o[2], o[0])
        )
        asks = sorted(
            (o for o in self._live.values() if o[1] is Side.SELL), key=lambda o: (o[2], o[0])
        )
        return [(o[1], o[2], o[3]) for o in (*bids, *asks)]

    # flow ----------------------------------------------------------------------

    def home_mid(self) -> float | None:
        """The home book's mid, None when it is not two-sided (informed takers need it)."""
        bid, ask = self.engine.best_bid(), self.engine.best_ask()
        return float(bid + ask) / 2 if bid is not None and ask is not None else None

    def users_due(self, now_ns: int) -> bool:
        """True when the synthetic users replace their orders (never when they are off)."""
        return self._makers.due(now_ns)

    def refresh_users(self, now_ns: int, reference_price: float) -> None:
        """Every user maker due replaces its resting orders (a withdrawing one just cancels
        them); orders that would cross the book are dropped."""
        for owner, orders in self._makers.refresh(now_ns, reference_price):
            for cid in self._user_cids.pop(owner, ()):
                self.engine.cancel(owner, cid)
            wanted = [QuoteLevel(o.side, o.price, o.amount) for o in orders]
            cids = self._user_cids.setdefault(owner, [])
            for side, price, amount in round_quotes(wanted, self.spec):
                self._user_seq += 1
                cid = f"user-{self._user_seq}"
                try:
                    self.engine.submit_limit(
                        owner, cid, side, price, amount, now_ns, post_only=True
                    )
                except MatchRejected:
                    continue
                cids.append(cid)

    def user_orders(self) -> list[tuple[str, Side, float, float]]:
        """Every user maker's resting orders as (owner, side, price, remaining): what an
        exchange's per-owner order feed gives its incentive program."""
        out = []
        for owner, cids in self._user_cids.items():
            for cid in cids:
                order = self.engine.order(owner, cid)
                if order is not None:
                    out.append((owner, order.side, float(order.price), float(order.remaining)))
        return out

    def execute(self, takers: Iterable[TakerOrder]) -> list[Fill]:
        """Market orders walk the book in time order; returns the bot's fills.

        Amounts are floored to the lot; an order that floors to zero is dropped.
        """
        lot = self.spec.lot_size
        fills: list[Fill] = []
        for taker in takers:
            amount = (Decimal(str(taker.amount)) / lot).to_integral_value(
                rounding=ROUND_FLOOR
            ) * lot
            if amount <= 0:
                continue
            self.taker_orders += 1
            for trade in self.engine.submit_market(TAKERS, taker.side, amount, taker.ts_ns):
                self.trades.append((trade.ts_ns, float(trade.price), float(trade.amount)))
                if trade.maker_owner != BOT:
                    continue
                live = self._live[trade.maker_client_order_id]
                live[3] -= trade.amount
                if live[3] == 0:
                    del self._live[trade.maker_client_order_id]
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

    # book views ----------------------------------------------------------------

    def user_depth_within(self, mid: float, bps: float) -> tuple[float, float]:
        """(bid, ask) quote notional within `bps` of `mid` resting from anyone but the bot.

        Summed over the users' own orders (a few dozen) rather than by walking every
        price level of the book twice: the quoter asks at every decision."""
        low, high = mid * (1 - bps / 1e4), mid * (1 + bps / 1e4)
        bid = ask = 0.0
        order = self.engine.order
        for owner, cids in self._user_cids.items():
            for cid in cids:
                o = order(owner, cid)
                if o is None:
                    continue
                price = float(o.price)
                if o.side is Side.BUY:
                    if price >= low:
                        bid += price * float(o.remaining)
                elif price <= high:
                    ask += price * float(o.remaining)
        return bid, ask

    def levels(
        self, depth: int = 200
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        def as_float(side: Side) -> list[tuple[float, float]]:
            return [(float(p), float(a)) for p, a in self.engine.levels(side, depth)]

        return as_float(Side.BUY), as_float(Side.SELL)

    def bot_levels(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        orders = self._live.values()
        bids = sorted(
            ((float(o[2]), float(o[3])) for o in orders if o[1] is Side.BUY), reverse=True
        )
        asks = sorted((float(o[2]), float(o[3])) for o in orders if o[1] is Side.SELL)
        return bids, asks
