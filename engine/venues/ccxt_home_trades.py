"""How the home venue reads its trades: REST reads on a push or a catch-up, deduplicated.

Split out of `engine/venues/ccxt_home.py` (issue 12); see that module's docstring for
the rules. HollaEx trades carry no id: fills are read with `fetch_my_trades` from the
last seen trade's millisecond (minus `TRADE_LOOKBACK_MS`) and deduplicated as a
multiset of their full content per order; a fill's id is its order's client id plus
its ordinal among that order's fills, so the same trade always gets the same id.
`HomeTradeReading` is a mixin of `CcxtHomeVenue`, which owns the state declared here.

A pushed trade is booked from the push at once when its content is new (no trade of
that content seen, and inside the window REST still remembers); any other push (a
second trade of equal content, a copy from a second connection during a re-dial, a
row that does not parse) is read over REST, whose multiset count is the truth. So
at most one trade of each content is booked from pushes, never more than the venue
lists, and the fill reaches the MarketActor without waiting for a REST round trip.

The REST read window starts `TRADE_LOOKBACK_MS` before the newest trade a REST read
listed, never before a pushed one: a push says nothing of the trades before it. Moved
by pushes, the window skipped a trade whose push was lost (a connection dying) once a
trade more than the look-back later was pushed and booked before the next read; that
fill was never booked (a loopback run's ledger differed from the venue by it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.config import MarketConfig
from engine.types import Fill, Liquidity, Side
from engine.venues.errors import VenueError, classify
from engine.venues.home_stream import HomeFeed, HomeStream

log = logging.getLogger("engine.venues.ccxt_home")  # the venue's own logger, as before the split

PAGE_SIZE = 100  # HollaEx's maximum page size (trades, orders)
MAX_PAGES = 20
TRADE_LOOKBACK_MS = 2_000  # re-read this much before the last seen trade
FALLBACK_POLL_S = 0.1  # while the fill stream is down, trades are read this often
SAFETY_READ_S = 1.0  # while it is up, trades are also read this often without a push


@dataclass(slots=True)
class OpenQuote:
    client_order_id: str
    side: Side
    price: Decimal
    remaining: Decimal


TradeKey = tuple[str, int, str, str, str, str]  # order, ts_ms, side, price, size, fee


def _canonical(number: Any) -> str:
    """One spelling per value: "0.10", "0.1" and 0.1 all give "0.1"."""
    value = Decimal(str(number))
    if not value.is_finite():
        raise ValueError(f"trade number {number!r} is not finite")
    return format(value.normalize(), "f")


def order_note(order: dict[str, Any]) -> str:
    meta = (order.get("info") or {}).get("meta") or {}
    return str(meta.get("note") or "")


class HomeTradeReading:
    """The trade-reading half of `CcxtHomeVenue` (which sets every attribute below)."""

    venue_id: str
    symbol: str
    market: MarketConfig
    client: Any
    errors: deque[str]
    skipped_cycles: int
    fills_arrived: asyncio.Event | None
    reads: dict[str, int]
    _stream: HomeStream | None
    _feed: HomeFeed | None
    _epoch_read: int
    _last_rest_s: float
    _read_lock: asyncio.Lock
    _read_due: bool
    _prefix: str
    _session: str
    _open: dict[str, OpenQuote]
    _client_ids: dict[str, str]
    _creating: set[asyncio.Future[None]]
    _fills_per_order: dict[str, int]
    _seen: dict[TradeKey, int]
    _unreturned: list[Fill]
    _since_ms: int
    _trades: list[tuple[int, float, float]]

    def _skip(self, operation: str, reason: str) -> None:
        self.skipped_cycles += 1
        self.errors.append(f"{operation}: {reason}")
        log.warning("%s %s: %s skipped: %s", self.venue_id, self.symbol, operation, reason)

    def _take_push(self) -> list[dict[str, Any]]:
        """The raw trades pushed since the last look, oldest first."""
        feed = self._feed
        if self._stream is None or feed is None or not feed.trades:
            return []
        pushed = list(feed.trades)
        feed.trades.clear()
        return pushed

    async def _book_pushed(self, pushed: list[dict[str, Any]]) -> bool:
        """Book the pushed trades whose content is new; whether REST must read the rest.

        Not under the read lock: a push must not wait behind a REST read's round trip
        (the safety read every second held ~1 % of pushes 5-20 ms). Each booking checks
        and marks `_seen` in one step (`_keep_fill`), so whichever of a push and a REST
        read books a trade first, the other sees it.
        """
        horizon = self._since_ms - TRADE_LOOKBACK_MS  # older keys may be forgotten
        uncertain = False
        for info in pushed:
            try:
                key = self._trade_key(info)
            except (KeyError, TypeError, ValueError, ArithmeticError):
                uncertain = True  # not a trade we can read: REST lists what it was
                continue
            if key[1] < horizon:
                uncertain = True
                continue
            if await self._keep_fill(info, key, 1, listed=False):
                self.reads["booked_from_push"] += 1
            else:  # seen: a copy, a second trade of equal content, or booked by REST
                uncertain = True
        return uncertain

    async def _read_trades(self, pushed: bool) -> None:
        """Read our trades over REST and keep the new ones in `_unreturned` (one REST read
        at a time; a push may be booked meanwhile, and is then seen here as booked)."""
        async with self._read_lock:
            stream = self._stream
            epoch = stream.epoch if stream is not None else 0
            up = stream is not None and stream.up
            self._last_rest_s = time.monotonic()
            self._read_due = False
            try:
                raw = await self._fetch_trades()
            except VenueError as err:
                self._skip("poll_fills", str(err))
                raw = []
            else:
                self.reads["pushed" if pushed else "catch_up"] += 1
                if up:  # what was pushed before this epoch's subscription is now read
                    self._epoch_read = epoch
            in_batch: dict[TradeKey, int] = {}
            for info in raw:
                await self._new_fill(info, in_batch)

    async def _read_on_push(self) -> None:
        """Read what a push announces at once, not at the next poll: by then its fills
        wait in `_unreturned` and the poll hands them over without a request."""
        feed = self._feed
        assert feed is not None
        while True:
            await feed.pushed.wait()
            feed.pushed.clear()
            try:
                if await self._book_pushed(self._take_push()):
                    await self._read_trades(True)
            except Exception:  # the next poll reads again; never end the reader
                log.exception("%s %s: reading pushed trades failed", self.venue_id, self.symbol)

    def _rest_due(self, now_ns: int) -> bool:
        """Polling: always. Streaming (besides each push): once after each (re)subscription,
        to read what the stream missed; every `FALLBACK_POLL_S` while it is down; every
        `SAFETY_READ_S` while it is up (a push lost in a silent re-dial)."""
        stream = self._stream
        if stream is None or self._feed is None:
            return True
        since_s = time.monotonic() - self._last_rest_s
        if self._read_due:
            return True
        if stream.up:
            return stream.epoch != self._epoch_read or since_s >= SAFETY_READ_S
        return since_s >= FALLBACK_POLL_S

    async def _fetch_trades(self) -> list[dict[str, Any]]:
        """Our trades on this market from `_since_ms` on, oldest first (raw venue dicts)."""
        since = max(0, self._since_ms - TRADE_LOOKBACK_MS)
        out: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"limit": PAGE_SIZE, "page": page, "order": "asc", "order_by": "timestamp"}
            try:
                trades = await self.client.fetch_my_trades(self.symbol, since, None, params)
            except Exception as exc:
                raise classify(exc, self.venue_id, "fetch_my_trades") from None
            out += [t["info"] for t in trades]
            if len(trades) < PAGE_SIZE:
                break
        self._seen = {k: n for k, n in self._seen.items() if k[1] >= since}
        return out

    def _trade_key(self, info: dict[str, Any]) -> TradeKey:
        """A trade's content; numbers canonical, so a push and a REST row of one trade
        agree however each spells them ("0.10" and 0.1)."""
        ts_ms = self.client.parse8601(str(info["timestamp"]))
        if not isinstance(ts_ms, int):
            raise ValueError(f"trade timestamp {info['timestamp']!r} is not ISO 8601")
        return (
            str(info["order_id"]),
            ts_ms,
            str(info["side"]),
            _canonical(info["price"]),
            _canonical(info["size"]),
            _canonical(info.get("fee", 0)),
        )

    async def _new_fill(self, info: dict[str, Any], in_batch: dict[TradeKey, int]) -> None:
        """Keep the fill of one listed trade in `_unreturned`, unless a poll saw it before.

        Trades without an id are told apart by content: the k-th trade of a
        batch with some content is new when fewer than k were seen before.
        """
        key = self._trade_key(info)
        occurrence = in_batch.get(key, 0) + 1
        in_batch[key] = occurrence
        await self._keep_fill(info, key, occurrence)

    async def _keep_fill(
        self, info: dict[str, Any], key: TradeKey, occurrence: int, *, listed: bool = True
    ) -> bool:
        """Keep the `occurrence`-th trade of content `key` unless one was kept already;
        whether this call kept it. `listed`: REST listed it, so the read window may move
        up to it; a pushed trade never moves the window (module doc)."""
        if occurrence <= self._seen.get(key, 0):
            return False
        ts_ms = key[1]
        order_id = key[0]
        if (cid := self._client_ids.get(order_id)) is None:
            cid = await self._client_id_after_creates(order_id)
            if occurrence <= self._seen.get(key, 0):  # kept by the other reader meanwhile
                return False
        # no await below: the fill is marked seen and kept in one step
        self._seen[key] = occurrence
        if listed:
            self._since_ms = max(self._since_ms, ts_ms)
        n = self._fills_per_order.get(order_id, 0) + 1
        self._fills_per_order[order_id] = n
        side = Side(key[2])
        price, amount = Decimal(str(info["price"])), Decimal(str(info["size"]))
        fee_coin = info.get("fee_coin")
        fill = Fill(
            ts_ns=ts_ms * 1_000_000,
            venue=self.venue_id,
            market=self.symbol,
            fill_id=f"{cid}-f{n}"
            if cid.startswith(self._prefix)
            else f"{self._session}-{cid}-f{n}",
            order_id=cid,
            side=side,
            price=price,
            amount=amount,
            fee=Decimal(str(info.get("fee", 0))),
            fee_currency=self.client.safe_currency_code(fee_coin)
            if fee_coin
            else self.market.quote,
            liquidity=Liquidity.MAKER,  # every order we send is post-only
        )
        quote = self._open.get(order_id)
        if quote is not None:
            quote.remaining -= amount
            if quote.remaining <= 0:
                del self._open[order_id]
        self._trades.append((fill.ts_ns, float(price), float(amount)))
        self._unreturned.append(fill)
        if self.fills_arrived is not None:
            self.fills_arrived.set()
        return True

    async def _client_id_after_creates(self, order_id: str) -> str:
        """The client id of an order no answer named yet. A push can outrun the answer
        to the create it fills (a taker hits a quote the moment it rests): the creates in
        flight are waited for first, their answers already on the way, before asking the
        venue: a second request, and a round trip, the answer makes needless."""
        if in_flight := list(self._creating):
            await asyncio.wait(in_flight)
            if cid := self._client_ids.get(order_id):
                self.reads["named_after_answer"] += 1
                return cid
        self.reads["order_lookups"] += 1
        return await self._client_id_of(order_id)

    async def _client_id_of(self, order_id: str) -> str:
        """The note of an order we have no answer for (its create timed out); else its id."""
        try:
            order = await self.client.fetch_order(order_id, self.symbol)
            cid = order_note(order) or order_id
        except Exception as exc:  # keep its fill ids stable: name it by its venue id
            self.errors.append(
                f"fetch_order {order_id}: {classify(exc, self.venue_id, 'fetch_order')}"
            )
            cid = order_id
        self._client_ids[order_id] = cid
        return cid
