"""A push ccxt.pro handles while no watch waits is still taken at once.

ccxt.pro resolves a message only to a watch waiting at that moment
(`Client.resolve` drops it otherwise, ccxt 4.5 `async_support/base/ws/client.py`):
the data waits in the client's cache (`myTrades`, `orderbooks`) until the next
message wakes a watch. One socket read often carries several messages, so a
consumer that reads what the watch answered and only then watches again loses
the wake of what arrived in between: a fill waited for the next push, 200 ms to
a second on a quiet market. These fakes keep ccxt's rule and push bursts at
random points of the consumer's loop; after each burst, with no push after it,
everything must be taken within a few loop turns (fills, books, balances).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from engine.venues.account_stream import AccountStream
from engine.venues.home_stream import HomeStream
from engine.venues.streams import BookStream

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
BURSTS = 300
SETTLE_TURNS = 6  # loop turns a consumer gets to take a burst (its own wake, one re-arm)


class _Pushes:
    """ccxt.pro's resolve rule: a message resolves the future of a watch waiting on its
    hash, and is otherwise dropped (its data stays in the cache)."""

    def __init__(self) -> None:
        self.futures: dict[str, asyncio.Future[Any]] = {}
        self.markets = {s: {"symbol": s} for s in SYMBOLS}
        self.currencies: dict[str, Any] = {}
        self.options: dict[str, Any] = {}

    async def wait_for(self, message_hash: str) -> Any:
        future = self.futures.get(message_hash)
        if future is None or future.done():
            future = self.futures[message_hash] = asyncio.get_running_loop().create_future()
        return await future

    def resolve(self, result: Any, message_hash: str) -> None:
        future = self.futures.pop(message_hash, None)
        if future is not None and not future.done():
            future.set_result(result)

    def set_markets(self, markets: Any, currencies: Any = None) -> None:
        self.markets = markets

    async def load_markets(self) -> Any:
        return self.markets

    async def close(self) -> None:
        for future in self.futures.values():
            future.cancel()


class _HollaexClient(_Pushes):
    """The fills half of ccxt.pro's hollaex: `usertrade` into `myTrades`."""

    def __init__(self) -> None:
        super().__init__()
        self.myTrades: list[dict[str, Any]] = []

    async def watch_my_trades(self) -> list[dict[str, Any]]:
        return await self.wait_for("usertrade")

    async def watch_balance(self) -> dict[str, Any]:
        return {}  # the wallet partial: subscribed

    async def watch_order_book(self, symbol: str) -> Any:
        return await self.wait_for(f"orderbook:{symbol}")  # never pushed here

    def push_trade(self, n: int, symbol: str) -> None:
        self.myTrades.append({"symbol": symbol, "info": {"n": n, "symbol": symbol}})
        self.resolve(self.myTrades, "usertrade")


class _BinanceClient(_Pushes):
    """The books half of ccxt.pro's binance: one diff updates `orderbooks[symbol]`."""

    def __init__(self) -> None:
        super().__init__()
        self.orderbooks: dict[str, dict[str, Any]] = {}

    async def watch_order_book_for_symbols(self, symbols: list[str], depth: int) -> Any:
        return await self.wait_for("depth")

    def push_book(self, symbol: str, nonce: int) -> None:
        self.orderbooks[symbol] = {
            "nonce": nonce,
            "timestamp": None,
            "bids": [[100.0 - nonce * 1e-6, 1.0]],
            "asks": [[101.0, 1.0]],
        }
        self.resolve(self.orderbooks[symbol], "depth")


class _BinanceAccount(_Pushes):
    """The balance half of ccxt.pro's binance: each push replaces `balance["spot"]`."""

    def __init__(self) -> None:
        super().__init__()
        self.balance: dict[str, Any] = {"spot": None}

    async def watch_balance(self) -> Any:
        return await self.wait_for("spot:balance")

    def push_balance(self, n: int) -> None:
        self.balance["spot"] = {"timestamp": n, "USDT": {"free": n, "used": 0}}
        self.resolve(self.balance["spot"], "spot:balance")


async def _turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def _bursts(push: Any, taken: Any, rng: random.Random) -> list[int]:
    """Push bursts of 1-3 messages at random loop turns; after each, with no push
    after it, count the turns until everything pushed so far is taken."""
    late: list[int] = []
    n = 0
    for _ in range(BURSTS):
        await _turns(rng.randrange(0, 4))  # anywhere in the consumer's loop
        for _ in range(rng.randint(1, 3)):  # one socket read: messages back to back
            n += 1
            push(n)
        turns = 0
        while not taken(n) and turns < 50:
            await asyncio.sleep(0)
            turns += 1
        late.append(turns)
    return late


def test_every_pushed_fill_is_queued_within_a_few_loop_turns():
    client = _HollaexClient()
    clients = iter([client, _HollaexClient()])  # the private and the books connection
    stream = HomeStream("home", lambda: next(clients))
    rng = random.Random(3)

    async def scenario() -> list[int]:
        feeds = {s: stream.attach(s) for s in SYMBOLS}
        queued: set[int] = set()

        def taken(n: int) -> bool:
            for feed in feeds.values():
                while feed.trades:
                    queued.add(feed.trades.popleft()["n"])
            return all(k in queued for k in range(1, n + 1))

        try:
            assert await stream.wait_up(1.0)
            return await _bursts(
                lambda n: client.push_trade(n, SYMBOLS[n % len(SYMBOLS)]), taken, rng
            )
        finally:
            for s in SYMBOLS:
                await stream.detach(s)

    late = asyncio.run(scenario())
    assert max(late) <= SETTLE_TURNS, sorted(late)[-10:]


def test_every_pushed_book_is_taken_within_a_few_loop_turns():
    client = _BinanceClient()
    stream = BookStream("v", lambda: client, SYMBOLS, 5)
    rng = random.Random(4)
    nonces: dict[str, int] = {}

    def push(n: int) -> None:
        symbol = SYMBOLS[rng.randrange(len(SYMBOLS))]
        nonces[symbol] = n
        client.push_book(symbol, n)

    def taken(_n: int) -> bool:
        return all(
            s in stream.books and stream.books[s].bids[0][0] == 100.0 - nonce * 1e-6
            for s, nonce in nonces.items()
        )

    async def scenario() -> list[int]:
        task = asyncio.create_task(stream.run())
        try:
            await _turns(5)  # connected and watching
            return await _bursts(push, taken, rng)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    late = asyncio.run(scenario())
    assert max(late) <= SETTLE_TURNS, sorted(late)[-10:]


def test_every_pushed_balance_is_taken_within_a_few_loop_turns():
    client = _BinanceAccount()
    pushed_at: list[int] = []
    stream = AccountStream(
        "v", lambda: client, lambda _totals, event_ns: pushed_at.append(event_ns)
    )
    rng = random.Random(5)

    async def scenario() -> list[int]:
        task = asyncio.create_task(stream.run())
        try:
            await _turns(5)  # watching
            return await _bursts(
                client.push_balance,
                lambda n: bool(pushed_at) and pushed_at[-1] == n * 1_000_000,
                rng,
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    late = asyncio.run(scenario())
    assert max(late) <= SETTLE_TURNS, sorted(late)[-10:]
