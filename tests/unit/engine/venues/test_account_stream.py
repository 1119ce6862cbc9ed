"""A hedge venue's balances pushed over Binance's user data stream into `AccountBook`.

venue-sim in-process on 127.0.0.1 (wall clock, no synthetic takers), the
unmodified ccxt.pro binance client subscribing through the WebSocket API. Our
own IOC orders move the account; the book ends on the venue's REST figures to
the unit whether the push or the order's answer arrives first, and a stream
dropped every 0.5 s by the seeded faults reconnects into a new epoch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from engine.config import FaultConfig, FaultsFileConfig
from engine.sim.server import SimCredentials, VenueSimServer
from engine.types import ChildOrder, Side
from engine.venues.account_stream import AccountStream
from engine.venues.balance_cache import AccountBook
from engine.venues.ccxt_venue import CcxtVenue
from engine.venues.streams import pro_client
from tests.integration.test_stream_contract import CONFIG, HEDGE, KEY, SECRET

pytestmark = pytest.mark.timeout(60)
ASSETS = ("BTC", "USDT")


@contextlib.asynccontextmanager
async def hedge_venue(faults: FaultConfig) -> AsyncIterator[str]:
    server = VenueSimServer(
        CONFIG,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        run_takers=False,
        faults=FaultsFileConfig(seed=3, venues={HEDGE: faults}),
    )
    try:
        yield next(v.url for v in await server.start() if v.venue_id == HEDGE)
    finally:
        await server.stop()


def _stream(url: str, book: AccountBook) -> AccountStream:
    return AccountStream(
        HEDGE,
        lambda: pro_client("binance", url, api_key=KEY, api_secret=SECRET),
        book.on_push,
    )


@contextlib.asynccontextmanager
async def streamed_account(
    faults: FaultConfig,
) -> AsyncIterator[tuple[CcxtVenue, AccountBook, AccountStream]]:
    """The hedge venue's REST client, its balances booked from REST, their stream running."""
    async with hedge_venue(faults) as url:
        venue = CcxtVenue(
            HEDGE, "binance", ["BTC/USDT"], api_key=KEY, api_secret=SECRET, base_url=url
        )
        await venue.start()
        book = AccountBook(await venue.fetch_balances())
        stream = _stream(url, book)
        task = asyncio.create_task(stream.run())
        try:
            yield venue, book, stream
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await venue.close()


async def _until(check: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


async def _buy_and_sell(venue: CcxtVenue, n: int, book: AccountBook | None) -> int:
    """`n` marketable IOC orders, alternating sides; their executions go to `book`."""
    executed = 0
    for i in range(n):
        depth = await venue.fetch_book("BTC/USDT", 5, time.time_ns())
        side = Side.BUY if i % 2 == 0 else Side.SELL
        price = depth.asks[2][0] if side is Side.BUY else depth.bids[2][0]
        order = ChildOrder(f"h{i}", f"mm-acct-{i}", HEDGE, "BTC/USDT", side, 0.013, price)
        result = await venue.execute(order)
        executed += len(result.executions)
        if book is not None:
            book.on_executions(result.executions)
    return executed


def _rest_totals(balances: dict[str, Decimal]) -> dict[str, Decimal]:
    return {a: balances[a] for a in ASSETS}


@pytest.mark.parametrize("answers_applied", [True, False])
def test_pushed_balances_end_on_the_venues_figures_to_the_unit(answers_applied):
    """With or without our order answers laid on top, the book ends where REST says."""

    async def scenario() -> None:
        async with streamed_account(FaultConfig()) as (venue, book, stream):
            assert await _until(lambda: stream.up, 5), stream.status()
            start = _rest_totals(book.balances)
            executed = await _buy_and_sell(venue, 6, book if answers_applied else None)
            assert executed >= 1, "no IOC order crossed the book"
            rest = _rest_totals(await venue.fetch_balances())
            assert rest != start  # the orders moved the account
            assert await _until(lambda: _rest_totals(book.balances) == rest, 5), (
                book.balances,
                rest,
            )
            assert stream.pushes >= 1 and stream.epoch >= 1

    asyncio.run(scenario())


def test_a_dropped_account_stream_reconnects_into_a_new_epoch():
    async def scenario() -> None:
        async with streamed_account(FaultConfig(stream_disconnect_every_s=0.5)) as (
            venue,
            book,
            stream,
        ):
            assert await _until(lambda: stream.epoch >= 3, 10), stream.status()
            assert stream.reconnects >= 2
            assert "disconnect" in stream.status()["reason"] or stream.up
            await _buy_and_sell(venue, 4, book)
            rest = _rest_totals(await venue.fetch_balances())
            assert await _until(lambda: _rest_totals(book.balances) == rest, 5)

    asyncio.run(scenario())


class _FlakyClient:
    """A ccxt.pro client stand-in: `pushes` balances on one connection, then it drops."""

    def __init__(self, pushes: int) -> None:
        self.clients: dict[str, object] = {}
        self._left = pushes

    def set_markets(self, markets: Any, currencies: Any) -> None:
        pass

    async def watch_balance(self) -> dict[str, Any]:
        await asyncio.sleep(0)
        if self._left == 0:
            raise ConnectionError("closed by the venue")
        self._left -= 1
        self.clients.setdefault("wss://venue/ws", type("Conn", (), {})())
        return {"timestamp": 1_700_000_000_000, "BTC": {"free": 1.0, "used": 0.0}}

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(("pushes", "expected"), [(1, [0, 0, 0, 0]), (0, [0, 1, 2, 3])])
def test_the_backoff_starts_over_after_a_connection_that_came_up(monkeypatch, pushes, expected):
    """A stream that keeps coming up and dropping waits the short first step each time;
    one that never comes up backs off further on every attempt."""
    attempts: list[int] = []

    def no_wait(attempt: int, rng: Any, **kwargs: Any) -> float:
        attempts.append(attempt)
        return 0.0

    monkeypatch.setattr("engine.venues.account_stream.backoff_s", no_wait)

    async def scenario() -> None:
        stream = AccountStream(HEDGE, lambda: _FlakyClient(pushes), AccountBook().on_push)
        task = asyncio.create_task(stream.run())
        assert await _until(lambda: len(attempts) >= len(expected), 5)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert attempts[: len(expected)] == expected
