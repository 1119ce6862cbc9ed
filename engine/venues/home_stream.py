"""The home venue's own fills and books pushed over websockets (ccxt.pro, unmodified).

One `HomeStream` per (venue, key) in a process, shared by every market of
that venue the process quotes (`home_stream_for`): one private connection
carries every fill of the account (`watch_my_trades`, HollaEx `usertrade`)
and its wallet, one public connection every book (`watch_order_book`), each
on its own ccxt client: ccxt.pro's hollaex re-signs its private URL after
*any* of a client's connections closes, and a second private connection
would receive every fill twice.
Each market's `CcxtHomeVenue` reads its `HomeFeed`: the raw trades pushed
for its symbol, in order (its cue to read them over REST), and its book.

`epoch` counts the private connection's successful subscriptions (the wallet
`partial` proves the connection is subscribed); a market that sees it move
(or sees the stream down) reads its trades over REST once, so nothing pushed
while it was down is lost; `CcxtHomeVenue` reads what the pushes announce
over REST, so a trade pushed twice is still delivered once. Reconnects back off with
equal jitter; `status()` says whether it is up, why not and since when.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.venues.ccxt_client import backoff_s
from engine.venues.errors import describe
from engine.venues.stream_health import StreamHealth
from engine.venues.streams import new_connections, pro_client, watch_registered

log = logging.getLogger(__name__)

CHECK_S = 0.25  # how often the private connection's identity is checked
KEEP_ALIVE_MS = 2_000  # ccxt pings this often; a stream that stops answering is closed
WS_EXPIRES_S = 3_600  # a private connection's signature is valid this long (re-signed after)


@dataclass(slots=True)
class HomeFeed:
    """What the stream pushed for one symbol: raw trades (oldest first) and the book."""

    symbol: str
    trades: deque[dict[str, Any]] = field(default_factory=deque)
    pushed: asyncio.Event = field(default_factory=asyncio.Event)  # set with each trade
    bids: list[tuple[float, float]] = field(default_factory=list)
    asks: list[tuple[float, float]] = field(default_factory=list)
    book_ns: int = 0


class HomeStream(StreamHealth):
    """Fills, wallet and books of one home venue account over two ccxt.pro connections."""

    def __init__(
        self,
        venue_id: str,
        make_client: Callable[[], Any],
        *,
        clock_ns: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(venue_id, "fill stream", clock_ns)
        self._make_client = make_client
        self._rng = rng or random.Random()
        self.feeds: dict[str, HomeFeed] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._client: Any = None  # the private connection's client
        self._books_client: Any = None  # its own client: a public close must not re-sign
        self._expires: str | None = None  # the private URL's api-expires, fixed per client
        self._users = 0

    def __repr__(self) -> str:
        return f"HomeStream(venue={self.venue_id!r}, state={self.state.value})"

    def attach(self, symbol: str) -> HomeFeed:
        """The feed of `symbol`; the first market to attach starts the connections."""
        self._users += 1
        feed = self.feeds.setdefault(symbol, HomeFeed(symbol))
        if self._client is None:
            self._client = self._make_client()
            self._books_client = self._make_client()
        if "private" not in self._tasks:
            self._tasks["private"] = asyncio.create_task(self._private())
        if symbol not in self._tasks:
            self._tasks[symbol] = asyncio.create_task(self._books(symbol))
        return feed

    async def detach(self, symbol: str) -> None:
        """A market is done; the last one closes the connections."""
        self._users -= 1
        task = self._tasks.pop(symbol, None)
        if task is not None:
            task.cancel()
        if self._users > 0:
            return
        for t in self._tasks.values():
            t.cancel()
        self._tasks.clear()
        clients = (self._client, self._books_client)
        self._client = self._books_client = None
        for client in clients:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()

    # --- the connections ---------------------------------------------------------------

    async def _private(self) -> None:
        """Fills and the wallet; any error: down, back off, subscribe again (new epoch)."""
        attempt = 0
        while True:
            try:
                if not self._client.markets:
                    await self._client.load_markets()
                self._pin_private_url()
                trades = asyncio.ensure_future(self._client.watch_my_trades())
                wallet = asyncio.ensure_future(self._client.watch_balance())
                await wallet  # the partial: subscribed (usertrade was asked first)
                self.epoch += 1
                self.mark_up()
                attempt = 0
                new_connections(self._client, private=True)
                while True:
                    done, _ = await asyncio.wait({trades}, timeout=CHECK_S)
                    if done:
                        trades.result()  # raises what the connection met
                        self._pin_private_url()
                        trades = await watch_registered(self._client.watch_my_trades)
                    self._take_cached()
                    if new_connections(self._client, private=True):  # ccxt dialled again:
                        self.epoch += 1  # what the gap held is read over REST by the markets
                        self.reconnects += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.mark_down(describe(exc))
                await self._fresh_private_client()
                await asyncio.sleep(backoff_s(attempt, self._rng, base_s=0.05, cap_s=5.0))
                attempt += 1
                self.reconnects += 1

    def _pin_private_url(self) -> None:
        """Keep the private URL of this client stable (`ws-expires`, ccxt's option): ccxt
        re-signs it after any close, and a second URL is a second private connection,
        which would receive every fill twice. A fresh client signs anew."""
        if self._expires is None:
            self._expires = str(int(time.time()) + WS_EXPIRES_S)
        self._client.options["ws-expires"] = self._expires

    async def _fresh_private_client(self) -> None:
        """Close every connection of the private client and start from a new one: ccxt may
        have dialled a second private connection already, which would double every fill."""
        old, self._client = self._client, self._make_client()
        self._expires = None
        if old is not None:
            if old.markets:
                self._client.set_markets(old.markets, old.currencies)
            with contextlib.suppress(Exception):
                await old.close()

    def _take_cached(self) -> None:
        """Queue every trade in ccxt's cache not queued yet, newest back to the last one
        queued: the cache, not the watch's answer (`watch_registered`)."""
        cache = getattr(self._client, "myTrades", None)
        if not cache:
            return
        new: list[dict[str, Any]] = []
        for trade in reversed(cache):
            info = trade.get("info")
            if not isinstance(info, dict):
                continue
            if info.get("_queued"):
                break
            info["_queued"] = True
            new.append(trade)
        for trade in reversed(new):
            self._take_trade(trade)

    def _take_trade(self, trade: dict[str, Any]) -> None:
        """Queue one pushed trade for its market (one this process does not quote is
        left: its market reads it over REST when it attaches)."""
        feed = self.feeds.get(str(trade.get("symbol")))
        if feed is None:
            return
        feed.trades.append(trade["info"])
        feed.pushed.set()

    async def _books(self, symbol: str) -> None:
        """Each book update copied into the feed, read from ccxt's book once the next
        watch is registered (`watch_registered`), so none waits for the next update."""
        attempt = 0
        book = functools.partial(self._books_client.watch_order_book, symbol)
        watch: asyncio.Future[Any] | None = None
        try:
            while True:
                try:
                    ob = await (watch or book())
                    watch = await watch_registered(book)
                    ob = self._books_client.orderbooks.get(symbol) or ob
                    feed = self.feeds[symbol]
                    feed.bids = [(float(p), float(a)) for p, a, *_ in ob["bids"]]
                    feed.asks = [(float(p), float(a)) for p, a, *_ in ob["asks"]]
                    feed.book_ns = self._clock_ns()
                    attempt = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    watch = None
                    log.info("%s %s: book stream: %s", self.venue_id, symbol, exc)
                    await asyncio.sleep(backoff_s(attempt, self._rng, base_s=0.05, cap_s=5.0))
                    attempt += 1
        finally:
            if watch is not None:
                watch.cancel()


_SHARED: dict[tuple[str, str, str], HomeStream] = {}


def home_stream_for(
    venue_id: str,
    exchange_id: str,
    base_url: str | None,
    *,
    api_key: str | None,
    api_secret: str | None,
    timeout_s: float,
) -> HomeStream:
    """This process's stream of the venue account: one per (venue, url, key), shared by
    its markets (the event loop of a Ray actor is the process's)."""
    key = (venue_id, base_url or "", api_key or "")
    stream = _SHARED.get(key)
    if stream is None or (stream._client is None and stream._users == 0):
        stream = HomeStream(
            venue_id,
            lambda: pro_client(
                exchange_id,
                base_url,
                api_key=api_key,
                api_secret=api_secret,
                timeout_s=timeout_s,
                options={},
                keep_alive_ms=KEEP_ALIVE_MS,
            ),
        )
        _SHARED[key] = stream
    return stream
