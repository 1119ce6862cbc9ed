"""`CcxtHomeVenue`: the operator's own exchange reached through an unmodified ccxt client.

Implements `HomeVenue` for an exchange in the HollaEx Kit dialect (the white-
label exchange software `ccxt.hollaex` speaks; venue-sim serves it for
`kind: ccxt, exchange: hollaex, url: sim`). One instance quotes one market;
the MarketActor calls it every tick.

HollaEx has no client order id. Each quote carries its deterministic id
(`{session}-{market}-q{seq}`) in `meta.note`, which the exchange keeps and
echoes, so `cancel_all` finds every order of ours (even one whose create timed
out) by listing the open orders, and a fill of an order we never got an answer
for is still attributed to its quote.

HollaEx trades carry no trade id either (https://apidocs.hollaex.com/#get-trades:
side, symbol, size, price, timestamp, order_id, fee, fee_coin). Fills are read
with `fetch_my_trades` from the last seen trade's millisecond (minus a margin)
and deduplicated as a multiset of their full content per order; a fill's id is
its order's client id plus its ordinal among that order's fills, so the same
trade always gets the same id. Amounts are Decimals of the venue's own numbers
(`info`), never ccxt's floats, so the ledger reconciles with `fetch_balance`
to the unit.

With `market_data: stream` (the default for ccxt venues) fills and the book
are pushed (`engine.venues.home_stream`: one private connection per account
and process, shared by its markets). A reader task books a pushed trade at once
when its content is new, so the next poll hands it over without a request.
HollaEx trades carry no id, so a trade delivered twice (two connections during a
re-dial) cannot be told from two identical trades: any push whose content was
seen already is read over REST instead, where the count by content in a time
window is the truth (`ccxt_home_trades`). Without such a push REST is read only
to catch up: once after every
(re)subscription, after every `cancel_all` (what filled up to the cancel, so
the last poll of a run misses nothing still in flight on the stream), every
`FALLBACK_POLL_S` while the stream is down and every `SAFETY_READ_S` while it
is up.

A venue error never escapes to the MarketActor's loop: the call returns
nothing for this cycle (no fills, no quotes placed, nothing cancelled), the
reason is kept in `errors`, and the next cycle picks up where this one left
off. After an incomplete `cancel_all`, `place` refuses to add quotes, so an
outage can never stack a second ladder on top of the first.

Trade reading is in `ccxt_home_trades.py`, balances and the client in
`ccxt_home_balances.py` / `ccxt_client.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TypeVar

import ccxt

from engine.config import MarketConfig, VenueConfig
from engine.types import Fill, MarketSpec, Side, market_id
from engine.venues.ccxt_client import market_spec, quantize, retrying
from engine.venues.ccxt_home_balances import account_balances, fetch_home_balances, home_client
from engine.venues.ccxt_home_trades import (
    MAX_PAGES,
    PAGE_SIZE,
    HomeTradeReading,
    OpenQuote,
    TradeKey,
    order_note,
)
from engine.venues.errors import (
    AuthenticationFailed,
    UnknownOutcome,
    VenueError,
    VenueRejected,
    VenueRetryable,
    classify,
)
from engine.venues.home_stream import HomeFeed, HomeStream, home_stream_for

__all__ = ["CcxtHomeVenue", "account_balances", "fetch_home_balances", "settle_earlier_runs"]

log = logging.getLogger(__name__)

CANCEL_ATTEMPTS = 3
STREAM_START_S = 3.0  # a market waits this long for its fill stream before quoting
_ERRORS_KEPT = 50
_T = TypeVar("_T")
_RUN_ID = re.compile(r"\d{8}T\d{6}[0-9a-f]{4}")  # marketmesh.graph.new_run_id


class CcxtHomeVenue(HomeTradeReading):
    """One market of the home exchange, quoted through ccxt (post-only limit orders)."""

    def __init__(
        self,
        venue: VenueConfig,
        market: MarketConfig,
        *,
        session: str,
        base_url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        enable_rate_limit: bool = True,
        incarnation: str = "",
    ) -> None:
        """`session` (the run id) prefixes every client id, so `cancel_all` also finds a
        crashed predecessor's quotes; `incarnation` keeps this one's ids apart from them.
        Keys are kept by ccxt only."""
        self.venue_id = venue.id
        self._venue_cfg = venue
        self.market = market
        self.symbol = market.symbol
        self._venue = venue
        self.client = home_client(venue, base_url, api_key, api_secret, enable_rate_limit)
        self._stream: HomeStream | None = None
        if venue.streams:
            self._stream = home_stream_for(
                venue.id,
                venue.exchange or "",
                base_url,
                api_key=api_key,
                api_secret=api_secret,
                timeout_s=venue.timeout_s,
            )
        self._feed: HomeFeed | None = None
        self._epoch_read = -1  # the stream epoch whose gap REST has read
        self._last_rest_s = -1e9  # monotonic: when trades were last read over REST
        self._read_lock = asyncio.Lock()
        self._push_reader: asyncio.Task[None] | None = None
        # set when a pushed trade's fill waits in `_unreturned`: the market actor wakes on
        # it instead of waiting for its next tick (fill -> hedge latency)
        self.fills_arrived: asyncio.Event | None = asyncio.Event()
        self._read_due = False  # set by cancel_all: the next poll reads REST whatever was pushed
        self._prefix = f"{session}-{market_id(market.symbol)}"
        self._session = session
        self._seq = 0
        self._tag = incarnation
        self.spec = MarketSpec(symbol=market.symbol, tick_size=Decimal(0), lot_size=Decimal(0))
        self._open: dict[str, OpenQuote] = {}  # venue order id -> what rests
        self._client_ids: dict[str, str] = {}  # venue order id -> our client id (or its own id)
        self._creating: set[asyncio.Future[None]] = set()  # one per create awaiting its answer
        self._fills_per_order: dict[str, int] = {}
        self._seen: dict[TradeKey, int] = {}
        self._unreturned: list[Fill] = []
        self._since_ms = 0
        self._trades: list[tuple[int, float, float]] = []
        self._bids: list[tuple[float, float]] = []
        self._asks: list[tuple[float, float]] = []
        self._book_ns = 0
        self._cancel_complete = True
        self.errors: deque[str] = deque(maxlen=_ERRORS_KEPT)
        self.skipped_cycles = 0
        self.rejected = 0
        # fills booked from a push; REST trade reads a push asked for; other REST reads;
        # fills of an order no answer had named yet: named once its create's answer came,
        # or by asking the venue (fetch_order)
        self.reads = {
            "booked_from_push": 0,
            "pushed": 0,
            "catch_up": 0,
            "named_after_answer": 0,
            "order_lookups": 0,
        }

    def __repr__(self) -> str:  # never the client: it holds the key
        return f"CcxtHomeVenue(venue={self.venue_id!r}, symbol={self.symbol!r})"

    # lifecycle ---------------------------------------------------------------

    async def start(self, now_ns: int) -> MarketSpec:
        """Load markets, check the key, read the book; raises a `VenueError` if any fails."""
        markets = await retrying(lambda: self.client.load_markets(), self.venue_id, "load_markets")
        if self.symbol not in markets:
            raise VenueError(self.venue_id, "load_markets", f"unknown symbol {self.symbol}")
        spec = market_spec(markets[self.symbol], self.client.precisionMode)
        configured = self._venue.symbol_rules.get(self.symbol)
        if configured is not None and configured.min_notional > spec.min_notional:
            spec = MarketSpec(
                spec.symbol,
                spec.tick_size,
                spec.lot_size,
                spec.min_amount,
                configured.min_notional,
            )
        self.spec = spec
        # a bad key stops the run here, not at the first quote
        await retrying(
            lambda: account_balances(self.client, self.venue_id), self.venue_id, "fetch_balance"
        )
        self._since_ms = now_ns // 1_000_000
        await retrying(
            lambda: self._refresh_book(now_ns, raise_errors=True), self.venue_id, "order book"
        )
        left = await retrying(self.cancel_left_over, self.venue_id, "cancel left-over quotes")
        if left:
            log.warning(
                "%s %s: cancelled %d quotes an earlier run left", self.venue_id, self.symbol, left
            )
        if self._stream is not None:
            self._feed = self._stream.attach(self.symbol)
            self._push_reader = asyncio.create_task(self._read_on_push())
            if not await self._stream.wait_up(STREAM_START_S):
                log.warning(
                    "%s %s: fill stream not up after %.0f s (%s): quoting with fills read "
                    "over REST until it is",
                    self.venue_id,
                    self.symbol,
                    STREAM_START_S,
                    self._stream.reason or self._stream.state.value,
                )
        return spec

    async def close(self) -> None:
        reader, self._push_reader = self._push_reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if self._stream is not None and self._feed is not None:
            self._feed = None
            await self._stream.detach(self.symbol)
        await self.client.close()

    def stream_status(self) -> dict[str, Any]:
        """The fill stream's state ({} when this venue polls)."""
        if self._stream is None:
            return {}
        return {**self._stream.status(), "reads": dict(self.reads)}

    # HomeVenue -----------------------------------------------------------------

    async def place(
        self, quotes: Sequence[tuple[Side, Decimal, Decimal]], now_ns: int
    ) -> list[str]:
        """Post-only limit orders on the venue grid; returns the client ids that rest."""
        if not self._cancel_complete:
            self._skip("place", "the last cancel_all did not complete; not adding quotes")
            return []
        orders = []
        for side, price, amount in quotes:
            rounded = self._on_grid(side, price, amount)
            if rounded is None:
                self.rejected += 1
                continue
            self._seq += 1
            orders.append((f"{self._prefix}-{self._tag}q{self._seq}", side, *rounded))
        results = await asyncio.gather(*(self._create(*o) for o in orders))
        return [cid for cid, ok in zip((o[0] for o in orders), results, strict=True) if ok]

    async def cancel_all(self, now_ns: int) -> int:
        """Cancel every open order of ours on this market, as the venue lists them."""
        for attempt in range(CANCEL_ATTEMPTS):
            try:
                cancelled = await self._cancel_own()
            except VenueRetryable as err:
                if attempt + 1 < CANCEL_ATTEMPTS:
                    await asyncio.sleep(err.retry_after_s or 0.1 * 2**attempt)
                    continue
                self._cancel_complete = False
                self._skip("cancel_all", str(err))
                return 0
            except VenueError as err:
                self._cancel_complete = False
                self._skip("cancel_all", str(err))
                return 0
            self._cancel_complete = True
            self._read_due = True  # what filled up to the cancel: read it, pushed or not
            return cancelled
        return 0

    async def poll_fills(self, now_ns: int, *, since_ns: int | None = None) -> list[Fill]:
        """Our trades since the last seen one (or `since_ns`), each returned exactly once.

        A fill is marked seen and kept in `_unreturned` in one step, so a poll
        cancelled half-way (the actor stopping) hands it over on the next call.
        """
        if since_ns is not None:
            self._since_ms = since_ns // 1_000_000
        stream, feed = self._stream, self._feed
        if stream is not None and feed is not None and stream.up and feed.book_ns:
            self._bids, self._asks, self._book_ns = feed.bids, feed.asks, feed.book_ns
        elif now_ns - self._book_ns >= self._venue_cfg.home_book_refresh_s * 1e9:
            await self._refresh_book(now_ns)
        uncertain = await self._book_pushed(self._take_push())
        if uncertain or self._rest_due(now_ns):
            await self._read_trades(uncertain)
        return self.take_pushed_fills()  # what the reads and the pushes booked

    def take_pushed_fills(self) -> list[Fill]:
        """What the push reader booked, at once: no REST, no book refresh (the forwarder
        beside the MarketActor's tick calls this the moment `fills_arrived` is set)."""
        fills, self._unreturned = self._unreturned, []
        if self.fills_arrived is not None:
            self.fills_arrived.clear()
        return fills

    async def open_quotes(self) -> list[tuple[Side, Decimal, Decimal]]:
        """What rests, as we know it: placed, minus fills seen, minus cancels."""
        return [(q.side, q.price, q.remaining) for q in self._open.values()]

    # what the MarketActor samples ---------------------------------------------

    def take_trades(self) -> list[tuple[int, float, float]]:
        """Our own fills (ts_ns, price, amount) since the last call.

        HollaEx's public trade tape is not read (one more request per tick), so
        intensity calibration sees the trades that hit our quotes only.
        """
        out, self._trades = self._trades, []
        return out

    def levels(
        self, depth: int = 200
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The venue's book as last fetched (at most `home_book_refresh_s` old), best first."""
        return self._bids[:depth], self._asks[:depth]

    def bot_levels(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        bids = sorted(
            (
                (float(q.price), float(q.remaining))
                for q in self._open.values()
                if q.side is Side.BUY
            ),
            reverse=True,
        )
        asks = sorted(
            (float(q.price), float(q.remaining)) for q in self._open.values() if q.side is Side.SELL
        )
        return bids, asks

    def user_depth_within(self, mid: float, bps: float) -> tuple[float, float]:
        """(bid, ask) quote notional within `bps` of `mid` resting from anyone but us."""
        bot_bids, bot_asks = self.bot_levels()
        return (
            max(0.0, _depth(self._bids, Side.BUY, mid, bps) - _depth(bot_bids, Side.BUY, mid, bps)),
            max(
                0.0, _depth(self._asks, Side.SELL, mid, bps) - _depth(bot_asks, Side.SELL, mid, bps)
            ),
        )

    async def fetch_balances(self) -> dict[str, Decimal]:
        return await account_balances(self.client, self.venue_id)

    # internals ---------------------------------------------------------------

    def _on_grid(
        self, side: Side, price: Decimal, amount: Decimal
    ) -> tuple[Decimal, Decimal] | None:
        spec = self.spec
        price = quantize(price, spec.tick_size, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)
        amount = quantize(amount, spec.lot_size, ROUND_FLOOR)
        if price <= 0 or amount <= 0 or amount < spec.min_amount:
            return None
        if price * amount < spec.min_notional:
            return None
        return price, amount

    async def _create(self, cid: str, side: Side, price: Decimal, amount: Decimal) -> bool:
        answered = asyncio.get_running_loop().create_future()
        self._creating.add(answered)
        try:
            return await self._send_create(cid, side, price, amount)
        finally:
            self._creating.discard(answered)
            answered.set_result(None)

    async def _send_create(self, cid: str, side: Side, price: Decimal, amount: Decimal) -> bool:
        params = {"meta": {"post_only": True, "note": cid}}
        try:
            resp = await self.client.create_order(
                self.symbol, "limit", side.value, float(amount), float(price), params
            )
        except Exception as exc:
            err = classify(exc, self.venue_id, "create_order", sent=True)
            if isinstance(err, VenueRejected) and not isinstance(err, AuthenticationFailed):
                self.rejected += 1  # post-only would take, funds, filters: this quote only
                log.debug("%s quote %s rejected: %s", self.symbol, cid, err)
            elif isinstance(err, UnknownOutcome):  # may rest: cancel_all finds it by its note
                self.errors.append(f"place {cid}: {err}")
            else:
                self._skip("place", str(err))
            return False
        info = resp.get("info") or {}
        order_id = str(resp.get("id") or info.get("id"))
        self._client_ids[order_id] = cid
        filled = Decimal(str(info.get("filled") or 0))
        if resp.get("status") == "open":
            self._open[order_id] = OpenQuote(cid, side, price, amount - filled)
        return True

    async def cancel_left_over(self) -> int:
        """Quotes of this market an earlier run (another session) left resting: a run that
        died could not cancel them, and nobody would book their fills."""
        mine = f"-{market_id(self.symbol)}"

        def left_over(note: str) -> bool:
            session, _, rest = note.partition(mine)
            return (
                bool(rest) and _RUN_ID.fullmatch(session) is not None and (session != self._session)
            )

        return await self._cancel_own(left_over)

    async def _cancel_own(self, own_note: Callable[[str], bool] | None = None) -> int:
        """Cancel the orders whose note `own_note` accepts (default: this session's)."""
        own_note = own_note or (lambda note: note.startswith(self._prefix))
        listed: list[dict[str, Any]] = []
        complete = False
        for page in range(1, MAX_PAGES + 1):  # others may trade with the same key
            try:
                orders = await self.client.fetch_open_orders(
                    self.symbol, params={"limit": PAGE_SIZE, "page": page}
                )
            except Exception as exc:
                raise classify(exc, self.venue_id, "fetch_open_orders") from None
            listed += orders
            if len(orders) < PAGE_SIZE:
                complete = True
                break
        own = [o for o in listed if own_note(order_note(o))]
        results = await asyncio.gather(
            *(self.client.cancel_order(o["id"], self.symbol) for o in own),
            return_exceptions=True,
        )
        cancelled, failure = 0, None
        for order, result in zip(own, results, strict=True):
            if isinstance(result, ccxt.OrderNotFound):  # filled or cancelled meanwhile
                self._open.pop(order["id"], None)
            elif isinstance(result, Exception):
                failure = classify(result, self.venue_id, "cancel_order")
            else:
                cancelled += 1
                self._open.pop(order["id"], None)
        if failure is not None:
            raise failure
        if complete:  # the venue listed them all: nothing else of ours rests
            self._open.clear()
        return cancelled

    async def _refresh_book(self, now_ns: int, *, raise_errors: bool = False) -> None:
        try:
            book = await self.client.fetch_order_book(self.symbol, self._venue_cfg.book_depth)
        except Exception as exc:
            err = classify(exc, self.venue_id, f"fetch_order_book {self.symbol}")
            if raise_errors:
                raise err from None
            self.errors.append(str(err))
            return
        self._bids = [(float(p), float(a)) for p, a, *_ in book["bids"]]
        self._asks = [(float(p), float(a)) for p, a, *_ in book["asks"]]
        self._book_ns = now_ns


def _depth(levels: list[tuple[float, float]], side: Side, mid: float, bps: float) -> float:
    """Quote notional of `levels` (best first) within `bps` of `mid`."""
    bound = mid * (1 - bps / 1e4) if side is Side.BUY else mid * (1 + bps / 1e4)
    total = 0.0
    for price, amount in levels:
        if (side is Side.BUY and price < bound) or (side is Side.SELL and price > bound):
            break
        total += price * amount
    return total


async def settle_earlier_runs(
    venue: VenueConfig,
    markets: Sequence[MarketConfig],
    *,
    session: str,
    earlier: str,
    booked: Mapping[str, int],
    since_ns: Mapping[str, int],
    now_ns: int,
    base_url: str | None,
    api_key: str | None,
    api_secret: str | None,
) -> tuple[int, list[Fill]]:
    """Before a run reads the home balances it opens at: cancel every quote earlier runs
    left resting, then return the fills run `earlier` got from `since_ns[symbol]` on that
    its ledger never booked (it had stopped): they moved the balances, their exposure is
    carried.

    `booked`: how many fills that run booked per `"{client order id}@{ts_ns}"`.
    """
    cancelled, late = 0, []
    left = dict(booked)
    for market in markets:
        home = CcxtHomeVenue(
            venue,
            market,
            session=session,
            base_url=base_url,
            api_key=api_key,
            api_secret=api_secret,
            enable_rate_limit=False,
        )
        try:
            cancelled += await retrying(home.cancel_left_over, venue.id, "cancel left-over")
            if not earlier:
                continue
            ours = f"{earlier}-{market_id(market.symbol)}"
            for fill in await home.poll_fills(now_ns, since_ns=since_ns[market.symbol]):
                key = f"{fill.order_id}@{fill.ts_ns}"
                if not fill.order_id.startswith(ours):
                    continue
                if left.get(key, 0) > 0:  # booked before it stopped
                    left[key] -= 1
                    continue
                late.append(fill)
        finally:
            await home.close()
    return cancelled, late
