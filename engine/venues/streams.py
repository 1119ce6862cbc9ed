"""Books pushed over one websocket per venue, through the unmodified ccxt.pro client.

`BookStream` keeps the L2 books of many symbols of one venue fresh from a
single connection (`watch_order_book_for_symbols`); REST is left for what it
is good at: ccxt.pro reads the snapshot each diff stream is synced against
(Binance's local-book procedure), and the venue actor falls back to paced
REST polling while the stream is down.

* A gap in update ids (ccxt raises `ChecksumError` and drops the book) is a
  resync: watching again resubscribes and syncs on a fresh snapshot.
* A stream that stays open but sends nothing for `stale_after_s` is stale:
  the connection is dropped and opened again (a resync from a snapshot).
* A disconnect or any other error: reconnect after an exponential backoff
  with equal jitter (`ccxt_client.backoff_s`); `up` is False meanwhile, and
  `status()` says why and since when.

Each book's `ts_ns` is the venue's event time of its last update (`E`), or
the time it was received when the venue sends none, so its age at a decision
is what the router checks against `risk.max_book_age_ms`. A diff stream sends
nothing for a book that did not change, so a quiet symbol's last update can be
old while its book is current. `fresh_books()` gives the age the connection
vouches for: an event of any symbol at `E` on one in-order connection means a
book still in sync (ccxt holds it with its update id) had no change in the
buckets that closed before, so its book is current as of `E` less one
`DIFF_BUCKET_NS`. A stalled connection vouches for nothing newer; a book
dropped on a gap is not in sync until its snapshot is re-read.

With `touch` on, a second connection follows the venue's real-time best bid and
ask (`watch_bids_asks`, Binance `@bookTicker`) and lays each touch newer than a
book's last diff over it (`engine.venues.touch`): the diffs come every 100 ms,
the touch at once. It is an addition only: while its connection is down the
books are the diffs' alone, and the next diff always replaces a touch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import ccxt
import ccxt.pro as ccxt_pro

from engine.pulse import Pulse
from engine.types import BookSnapshot
from engine.venues.ccxt_client import backoff_s, point_api_urls
from engine.venues.ccxt_weights import capabilities_of
from engine.venues.errors import describe
from engine.venues.stream_view import BookChanges
from engine.venues.touch import Touch, touch_from_ccxt, touch_is_newer, with_touch

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_S = 1.0
DIFF_BUCKET_NS = 100_000_000  # `<symbol>@depth@100ms`: one symbol's changes, batched


class StreamState(StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"


@dataclass(slots=True)
class StreamStats:
    """What a stream went through: every count a metric."""

    connects: int = 0
    reconnects: int = 0
    resyncs: int = 0  # gaps in update ids: the book re-read from a snapshot
    stale: int = 0  # open but silent past stale_after_s: dropped and reopened
    updates: int = 0
    touches: int = 0  # books whose top a real-time touch moved between diffs
    touch_reconnects: int = 0
    last_error: str = ""
    down_since_ns: int | None = field(default=None)


def pro_client(
    exchange_id: str,
    base_url: str | None,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    timeout_s: float = 5.0,
    options: dict[str, Any] | None = None,
    keep_alive_ms: int | None = None,
) -> Any:
    """An unmodified ccxt.pro client of `exchange_id`, REST and websocket URLs on `base_url`.

    `keep_alive_ms`: how often ccxt pings; a connection whose answers stop is closed
    (ccxt's own liveness check), which is how a stalled private stream is noticed."""
    if not hasattr(ccxt_pro, exchange_id):
        raise ValueError(f"ccxt.pro has no exchange {exchange_id!r}")
    opts: dict[str, Any] = {
        "fetchCurrencies": False,
        **capabilities_of(exchange_id).client_options,
    }
    opts.update(options or {})
    params: dict[str, Any] = {"enableRateLimit": True, "timeout": int(timeout_s * 1000)}
    params["options"] = opts
    if keep_alive_ms is not None:
        params["streaming"] = {"keepAlive": keep_alive_ms}
    if api_key:
        params["apiKey"] = api_key
    if api_secret:
        params["secret"] = api_secret
    client = getattr(ccxt_pro, exchange_id)(params)
    if base_url:
        client.urls["api"] = point_api_urls(client.urls["api"], base_url)
    return client


class BookStream:
    """The books of one venue's symbols, kept from one websocket connection."""

    def __init__(
        self,
        venue_id: str,
        make_client: Callable[[], Any],
        symbols: list[str],
        depth: int,
        *,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        clock_ns: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
        touch: bool = False,
    ) -> None:
        """`make_client` builds a fresh ccxt.pro client (one per connection); `touch`:
        also follow the real-time touch where the client can (module doc)."""
        self.venue_id = venue_id
        self._make_client = make_client
        self.symbols = list(symbols)
        self.depth = depth
        self.stale_after_s = stale_after_s
        self._clock_ns = clock_ns
        self._rng = rng or random.Random()
        self.books: dict[str, BookSnapshot] = {}  # what readers get: diffs, touch laid over
        self._depth: dict[str, BookSnapshot] = {}  # the diffs' books alone
        self.touch = touch
        self._touches: dict[str, Touch] = {}
        self._tickers_seen: dict[str, Any] = {}  # ccxt's last ticker dict taken, per symbol
        # the update count at each symbol's last change, and this stream's id: a reader
        # asks what changed since a count it saw (`changed_since`) instead of every book
        self.epoch = clock_ns()
        self.versions: dict[str, int] = {}
        self._in_sync: set[str] = set()  # symbols ccxt holds a synced book of, last look
        self._heard_ns: int | None = None  # newest event time on this connection
        self._nonces: dict[str, Any] = {}
        self.state = StreamState.CONNECTING
        self.stats = StreamStats(down_since_ns=clock_ns())
        self._client: Any = None
        self._markets: tuple[Any, Any] | None = None
        self._restart = asyncio.Event()
        self._updates_at_connect = 0
        self._first_look = True
        self._taken = Pulse()  # each take of books wakes fresh_by's, changed_after's waits
        self._closed = False

    def __repr__(self) -> str:
        return f"BookStream(venue={self.venue_id!r}, state={self.state.value})"

    @property
    def up(self) -> bool:
        return self.state is StreamState.UP

    def status(self) -> dict[str, Any]:
        s = self.stats
        return {
            "state": self.state.value,
            "reason": s.last_error,
            "down_for_s": None
            if s.down_since_ns is None
            else (self._clock_ns() - s.down_since_ns) / 1e9,
            "connects": s.connects,
            "reconnects": s.reconnects,
            "resyncs": s.resyncs,
            "stale": s.stale,
            "updates": s.updates,
            "touches": s.touches,
            "touch_reconnects": s.touch_reconnects,
        }

    def use_markets(self, markets: Any, currencies: Any) -> None:
        """Markets the venue's REST client loaded: a connection need not load them again."""
        self._markets = (markets, currencies)

    def fresh_books(self) -> dict[str, BookSnapshot]:
        """The books, each stamped as current as the connection vouches (module doc)."""
        return {s: b for s in self.books if (b := self.fresh_book(s)) is not None}

    def fresh_book(self, symbol: str) -> BookSnapshot | None:
        """`symbol`'s book stamped as current as the connection vouches, or None."""
        book = self.books.get(symbol)
        heard = self._heard_ns
        if book is None or heard is None or not self.up or symbol not in self._in_sync:
            return book
        vouched = heard - DIFF_BUCKET_NS
        return dataclasses.replace(book, ts_ns=vouched) if book.ts_ns < vouched else book

    async def fresh_by(self, symbol: str, max_age_ns: int, timeout_s: float) -> BookSnapshot | None:
        """`symbol`'s book once it is at most `max_age_ns` old (`fresh_book`), waiting up
        to `timeout_s` for the books this connection takes next; the freshest there is
        when the wait runs out. A book a few ms past `max_book_age_ms` is usually one diff
        away from being young again: a hedge waits for it rather than being planned
        without that venue."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            book = self.fresh_book(symbol)
            left = deadline - loop.time()
            young = book is not None and self._clock_ns() - book.ts_ns <= max_age_ns
            if young or left <= 0 or self._closed:
                return book
            await self._taken.wait(left)

    async def changed_after(self, epoch: int | None, version: int, timeout_s: float) -> BookChanges:
        """`changed_since`, but when nothing changed since `version` of this `epoch` and
        the stream is up, wait up to `timeout_s` for the next book that does (a long
        poll): the reader's copy is then one answer behind the stream, not one polling
        interval. With `timeout_s` 0 it is `changed_since`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while epoch == self.epoch and self.stats.updates <= version and self.up:
            left = deadline - loop.time()
            if left <= 0 or self._closed:
                break
            await self._taken.wait(left)
        return self.changed_since(epoch, version)

    def changed_since(self, epoch: int | None, version: int) -> BookChanges:
        """What a reader that saw `version` of this stream (`epoch`) is missing: the books
        that changed since (all of them for another epoch: a new stream counts from 0),
        and the time the connection vouches every in-sync book current as of."""
        if epoch != self.epoch:
            version = 0
        books = {
            s: b
            for s, v in self.versions.items()
            if v > version and (b := self.fresh_book(s)) is not None
        }
        heard = self._heard_ns
        vouched = heard - DIFF_BUCKET_NS if heard is not None and self.up else None
        return BookChanges(self.epoch, self.stats.updates, books, vouched, frozenset(self._in_sync))

    def set_symbols(self, symbols: list[str]) -> None:
        """Watch these symbols from now on (a new connection subscribes them)."""
        self.symbols = list(symbols)
        for gone in set(self.books) - set(symbols):
            del self.books[gone]
            self._depth.pop(gone, None)
            self._touches.pop(gone, None)
        self._restart.set()

    async def run(self) -> None:
        """Stream until cancelled: reconnect with backoff, resync on gaps and silence."""
        touches = asyncio.ensure_future(self._follow_touches()) if self.touch else None
        try:
            await self._follow_depth()
        finally:
            if touches is not None:
                touches.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await touches

    async def _follow_depth(self) -> None:
        attempt = 0
        while True:
            self._restart.clear()
            try:
                await self._connection()
            except asyncio.CancelledError:
                await self._close_client()
                raise
            except _Restart:
                await self._close_client()
                continue
            except Exception as exc:  # disconnect, stale, venue error: all mean reconnect
                self._down(describe(exc))
                await self._close_client()
                await asyncio.sleep(backoff_s(attempt, self._rng, base_s=0.05, cap_s=5.0))
                attempt = attempt + 1 if self.stats.updates == self._updates_at_connect else 0
                self.stats.reconnects += 1
                continue

    async def close(self) -> None:
        """Close the connection for good; an ask held here (`changed_after`) answers now,
        so the venue's actor is not stopped with a call of the router's in flight."""
        self._closed = True
        self._taken.fire()
        await self._close_client()

    # --- one connection ----------------------------------------------------------------

    async def _with_markets(self, client: Any) -> Any:
        """`client` with the venue's markets: the ones loaded once, else loaded now."""
        if self._markets is not None:
            client.set_markets(*self._markets)
        else:
            await client.load_markets()
            self._markets = (client.markets, client.currencies)
        return client

    async def _connection(self) -> None:
        client = await self._with_markets(self._make_client())
        self._client = client
        self.stats.connects += 1
        self._updates_at_connect = self.stats.updates
        self._nonces.clear()
        self._in_sync.clear()
        self._heard_ns = None
        self._first_look = True
        restart = asyncio.ensure_future(self._restart.wait())
        books = functools.partial(client.watch_order_book_for_symbols, self.symbols, self.depth)
        watch = asyncio.ensure_future(books())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {watch, restart},
                    timeout=self.stale_after_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if restart in done:
                    watch.cancel()
                    raise _Restart()
                if not done:  # open, yet silent: resync from a fresh connection
                    watch.cancel()
                    self.stats.stale += 1
                    raise StaleStream(f"no book update for {self.stale_after_s:.1f}s")
                error = watch.exception()
                if error is not None and not isinstance(error, ccxt.ChecksumError):
                    raise error
                watch = await watch_registered(books)  # then read ccxt's books
                if error is not None:  # a gap: ccxt dropped the book
                    self._in_sync.intersection_update(
                        s for s in self.symbols if _synced(client.orderbooks.get(s))
                    )
                    self.stats.resyncs += 1
                    log.info("%s: update-id gap, resync from snapshot: %s", self.venue_id, error)
                    continue
                if self._reconnected(client):  # ccxt dialled again on its own
                    self.stats.reconnects += 1
                    self.stats.resyncs += 1
                self._take_books(client)
        finally:
            restart.cancel()
            watch.cancel()

    def _reconnected(self, client: Any) -> bool:
        """Whether ccxt opened a new connection since the last look (it re-dials on the
        next watch after the venue closed one, and re-reads the snapshot)."""
        fresh = new_connections(client)
        first, self._first_look = self._first_look, False
        return fresh > 0 and not first

    def _take_books(self, client: Any) -> None:
        """Every book of ours that moved since the last look (one resolve may carry many)."""
        now_ns = self._clock_ns()
        for symbol in self.symbols:
            ob = client.orderbooks.get(symbol)
            if not _synced(ob):
                self._in_sync.discard(symbol)
                continue
            self._in_sync.add(symbol)
            nonce = ob.get("nonce")
            if self._nonces.get(symbol) == nonce:
                continue
            self._nonces[symbol] = nonce
            ts_ms = ob.get("timestamp")
            ts_ns = min(now_ns, int(ts_ms) * 1_000_000) if ts_ms else now_ns
            self._heard_ns = ts_ns if self._heard_ns is None else max(self._heard_ns, ts_ns)
            depth = self._depth[symbol] = BookSnapshot(
                venue=self.venue_id,
                symbol=symbol,
                ts_ns=ts_ns,
                bids=tuple((float(p), float(a)) for p, a, *_ in ob["bids"][: self.depth]),
                asks=tuple((float(p), float(a)) for p, a, *_ in ob["asks"][: self.depth]),
            )
            self._publish(symbol, self._with_touch(symbol, depth))
        if self.state is not StreamState.UP:
            log.info("%s: book stream up", self.venue_id)
            self.state = StreamState.UP
            self.stats.down_since_ns = None
        self._taken.fire()

    def _with_touch(self, symbol: str, depth: BookSnapshot) -> BookSnapshot:
        """The diffs' book of `symbol`, with the held touch over it when that is newer."""
        touch = self._touches.get(symbol)
        nonce = self._nonces.get(symbol)  # ccxt's book: the last diff's update id
        book_id = nonce if isinstance(nonce, int) else None
        if touch is None or not touch_is_newer(touch, depth, book_id):
            return depth
        return with_touch(depth, touch)

    # --- the touch connection ----------------------------------------------------------

    async def _follow_touches(self) -> None:
        """Follow the real-time touch on a connection of its own until cancelled; after an
        error the touches held are dropped (the books are the diffs' alone) and it
        reconnects after a backoff. A client without `watchBidsAsks` ends it."""
        attempt = 0
        while not self._closed:
            client = self._make_client()
            try:
                if not client.has.get("watchBidsAsks"):
                    log.info("%s: no real-time touch in ccxt.pro", self.venue_id)
                    return
                await self._with_markets(client)
                symbols = list(self.symbols)
                watch = functools.partial(client.watch_bids_asks, symbols)
                pending = await watch_registered(watch)
                while symbols == self.symbols:
                    await pending
                    pending = await watch_registered(watch)
                    self._take_touches(client.bidsasks)
                    attempt = 0
                pending.cancel()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("%s: touch stream: %s: %s", self.venue_id, type(exc).__name__, exc)
                self._drop_touches()
                self.stats.touch_reconnects += 1
                await asyncio.sleep(backoff_s(attempt, self._rng, base_s=0.05, cap_s=5.0))
                attempt += 1
            finally:
                with contextlib.suppress(Exception):
                    await client.close()

    def _publish(self, symbol: str, book: BookSnapshot) -> None:
        """`book` is what readers get of `symbol` now (`changed_since` counts it)."""
        self.books[symbol] = book
        self.stats.updates += 1
        self.versions[symbol] = self.stats.updates

    def _take_touches(self, tickers: dict[str, Any]) -> None:
        """Lay every new touch over its book; readers hear of each book that moved."""
        now_ns = self._clock_ns()
        moved = False
        for symbol in self.symbols:
            ticker = tickers.get(symbol)
            if ticker is None or ticker is self._tickers_seen.get(symbol):
                continue  # ccxt parses each message into a new dict: the same one is old
            self._tickers_seen[symbol] = ticker
            touch = touch_from_ccxt(ticker, now_ns)
            if touch.same_top(self._touches.get(symbol)):
                continue
            self._touches[symbol] = touch
            depth = self._depth.get(symbol)
            if depth is None:
                continue
            book = self._with_touch(symbol, depth)
            if book == self.books.get(symbol):
                continue
            self._publish(symbol, book)
            self.stats.touches += 1
            moved = True
        if moved:
            self._taken.fire()

    def _drop_touches(self) -> None:
        """No touch is trusted past its connection: each book back to its diffs."""
        self._touches.clear()
        self._tickers_seen.clear()
        for symbol, depth in self._depth.items():
            if self.books.get(symbol) != depth:
                self._publish(symbol, depth)
        self._taken.fire()

    def _down(self, reason: str) -> None:
        if self.state is StreamState.UP:
            log.warning("%s: book stream down: %s", self.venue_id, reason)
        if self.stats.down_since_ns is None:
            self.stats.down_since_ns = self._clock_ns()
        self.state = StreamState.DOWN
        self.stats.last_error = reason
        self._taken.fire()  # a long poll answers now: its reader falls back to snapshots

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()


async def watch_registered(watch: Callable[[], Awaitable[Any]]) -> asyncio.Future[Any]:
    """Start a ccxt.pro `watch` and return once it is registered with its client (its
    first step, the next loop turn). ccxt resolves a message only to a watch waiting at
    that moment; the data of one handled while none waits stays in ccxt's cache, and
    one socket read often carries several. So every stream here watches again first and
    reads ccxt's cache after: what came before is in the cache, what comes after
    resolves this watch. Reading the answer and watching after had left a fill in the
    cache until the next push (200 ms to the 1 s safety read on a quiet market)."""
    future = asyncio.ensure_future(watch())
    try:
        await asyncio.sleep(0)
    except BaseException:  # cancelled meanwhile: the caller never holds it
        future.cancel()
        raise
    return future


def new_connections(client: Any, private: bool | None = None) -> int:
    """How many of a ccxt.pro client's websocket connections opened since the last call
    (each is marked when first seen; `private`: only signed URLs, True, or the others)."""
    fresh = 0
    for url, c in list((getattr(client, "clients", None) or {}).items()):
        if private is not None and ("api-key=" in url) is not private:
            continue
        if not getattr(c, "_marketmesh_seen", False):
            c._marketmesh_seen = True
            fresh += 1
    return fresh


class StaleStream(ccxt.NetworkError):
    """The connection is open but nothing arrived for longer than `stale_after_s`."""


class _Restart(Exception):
    """The symbols changed: open a new connection that subscribes them."""


def _synced(ob: Any) -> bool:
    """Whether ccxt holds a book synced on its snapshot (it drops one on a gap)."""
    return ob is not None and ob.get("nonce") is not None
