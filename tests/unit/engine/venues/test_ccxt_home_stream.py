"""`CcxtHomeVenue` booking fills from HollaEx `usertrade` pushes (venue-sim, 127.0.0.1).

The venues' clock is frozen, so every trade lands in the same millisecond and two
trades of equal size are equal in every field: the case where a pushed copy and a
second real trade cannot be told apart by content. A push of new content is booked
at once; anything else is left to REST's count, so nothing is lost or doubled.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest

from engine.types import Fill, Side
from engine.venues.ccxt_home import CcxtHomeVenue
from engine.venues.ccxt_home_trades import TRADE_LOOKBACK_MS
from tests.integration.test_hollaex_dialect import KEY2, SECRET2, FrozenClock, hollaex
from tests.unit.engine.venues.test_ccxt_home import home_at, home_served

pytestmark = pytest.mark.timeout(60)
D = Decimal


async def fills_until(venue: CcxtHomeVenue, count: int, timeout_s: float = 5.0) -> list[Fill]:
    """Poll until `count` fills came (or the timeout), then once more for any extra."""
    fills: list[Fill] = []
    deadline = time.monotonic() + timeout_s
    while len(fills) < count and time.monotonic() < deadline:
        fills += await venue.poll_fills(time.time_ns())
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    return fills + await venue.poll_fills(time.time_ns())


async def streaming_home(url: str) -> CcxtHomeVenue:
    """The home venue started with its fill stream up and its catch-up read done."""
    venue = home_at(url, market_data="stream")
    await venue.start(time.time_ns())
    deadline = time.monotonic() + 10
    while venue.stream_status()["state"] != "up":
        assert time.monotonic() < deadline, venue.stream_status()
        await asyncio.sleep(0.02)
    assert await venue.poll_fills(time.time_ns()) == []  # the catch-up read
    return venue


def push(venue: CcxtHomeVenue, rows: list[dict[str, Any]]) -> None:
    """Deliver raw rows as the stream would (a copy from a second connection, say)."""
    feed = venue._feed
    assert feed is not None
    feed.trades.extend(dict(r) for r in rows)
    feed.pushed.set()


def test_pushed_fills_are_booked_once_even_when_copied_or_identical():
    async def scenario() -> None:
        async with home_served() as url, hollaex(url, KEY2, SECRET2) as taker:
            venue = await streaming_home(url)
            try:
                (ask,) = await venue.place([(Side.SELL, D("65000.5"), D("0.3"))], 0)
                # two trades equal in every field (same millisecond), then a third
                for amount in (0.01, 0.01, 0.12345):
                    await taker.create_order("BTC/USDT", "market", "buy", amount)
                fills = await fills_until(venue, 3)
                assert sorted(f.amount for f in fills) == [D("0.01"), D("0.01"), D("0.12345")]
                assert sorted(f.fill_id for f in fills) == [f"{ask}-f{i}" for i in (1, 2, 3)]
                reads = venue.stream_status()["reads"]
                assert reads["booked_from_push"] >= 1  # at least one never waited for REST

                # every trade pushed again (a second private connection during a
                # re-dial), and rows that are no trade: nothing new is booked
                rows = [t["info"] for t in await venue.client.fetch_my_trades("BTC/USDT")]
                assert len(rows) == 3
                push(venue, rows)
                push(venue, [{"order_id": "x", "timestamp": "not a time"}, {"size": "NaN"}])
                assert await fills_until(venue, 1, timeout_s=0.5) == []
                after = venue.stream_status()["reads"]
                assert after["booked_from_push"] == reads["booked_from_push"]

                # a fourth trade: booked by the reader from its push alone (no poll runs
                # meanwhile, so no REST read could), numbered after the others
                assert venue.fills_arrived is not None and not venue.fills_arrived.is_set()
                await taker.create_order("BTC/USDT", "market", "buy", 0.02)
                await asyncio.wait_for(venue.fills_arrived.wait(), 5)
                booked = venue.stream_status()["reads"]
                assert booked["booked_from_push"] == after["booked_from_push"] + 1
                assert booked["pushed"] == after["pushed"]
                (fourth,) = await venue.poll_fills(time.time_ns())
                assert (fourth.fill_id, fourth.amount) == (f"{ask}-f4", D("0.02"))
                assert await venue.open_quotes() == [(Side.SELL, D("65000.5"), D("0.13655"))]
            finally:
                await venue.close()

    asyncio.run(scenario())


def test_a_push_that_outruns_its_orders_answer_is_named_by_that_answer():
    """A taker fills the quote while the answer to its create is still on the way: the
    fill waits for that answer (no fetch_order) and carries the quote's client id."""

    async def scenario() -> None:
        async with home_served() as url, hollaex(url, KEY2, SECRET2) as taker:
            venue = await streaming_home(url)
            try:
                create, book_pushed, lookups = venue.client.create_order, venue._book_pushed, []
                pushed_in = asyncio.Event()

                async def reading(pushed: list[dict[str, Any]]) -> bool:
                    pushed_in.set()
                    return await book_pushed(pushed)

                async def slow_answer(*args: Any) -> Any:
                    answer = await create(*args)  # resting at the venue now
                    await taker.create_order("BTC/USDT", "market", "buy", 0.01)
                    await asyncio.wait_for(pushed_in.wait(), 5)  # the reader has the push
                    await asyncio.sleep(0.05)
                    assert venue.fills_arrived is not None and not venue.fills_arrived.is_set()
                    return answer

                async def no_lookup(*args: Any) -> Any:
                    lookups.append(args)
                    raise AssertionError("fetch_order: the answer names the order")

                venue.client.create_order = slow_answer
                venue.client.fetch_order = no_lookup
                venue._book_pushed = reading  # type: ignore[method-assign]
                (cid,) = await venue.place([(Side.SELL, D("65000.5"), D("0.3"))], 0)
                assert pushed_in.is_set()  # the push came before the answer
                fills = await fills_until(venue, 1)
                assert [(f.fill_id, f.amount) for f in fills] == [(f"{cid}-f1", D("0.01"))]
                reads = venue.stream_status()["reads"]
                assert (reads["named_after_answer"], reads["order_lookups"]) == (1, 0)
                assert lookups == []
            finally:
                await venue.close()

    asyncio.run(scenario())


def test_a_push_is_booked_while_a_rest_read_is_on_the_way_and_delivered_once():
    """A REST read (the safety read every second) is slow: a fill pushed meanwhile is
    booked from its push at once, not after that round trip, and the read that lists it
    afterwards books nothing more."""

    async def scenario() -> None:
        async with home_served() as url, hollaex(url, KEY2, SECRET2) as taker:
            venue = await streaming_home(url)
            try:
                (ask,) = await venue.place([(Side.SELL, D("65000.5"), D("0.3"))], 0)
                fetch, listing, release = (
                    venue.client.fetch_my_trades,
                    asyncio.Event(),
                    asyncio.Event(),
                )

                async def slow_listing(*args: Any) -> Any:
                    listing.set()
                    await asyncio.wait_for(release.wait(), 5)  # held until the push is in
                    return await fetch(*args)

                venue.client.fetch_my_trades = slow_listing
                read = asyncio.create_task(venue._read_trades(False))
                await asyncio.wait_for(listing.wait(), 5)
                assert venue.fills_arrived is not None and not venue.fills_arrived.is_set()
                await taker.create_order("BTC/USDT", "market", "buy", 0.01)
                await asyncio.wait_for(venue.fills_arrived.wait(), 5)  # the read still waits
                assert not read.done()
                (pushed,) = venue.take_pushed_fills()
                release.set()
                await read  # it lists the trade the push booked: nothing new
                venue.client.fetch_my_trades = fetch
                assert await fills_until(venue, 1, timeout_s=0.5) == []
                assert (pushed.fill_id, pushed.amount) == (f"{ask}-f1", D("0.01"))
                assert venue.stream_status()["reads"]["booked_from_push"] == 1
            finally:
                await venue.close()

    asyncio.run(scenario())


def test_a_trade_whose_push_was_lost_is_read_after_a_later_pushed_trade_was_booked():
    """A trade's push is lost (its connection dying), and a trade more than the REST
    read's look-back later is pushed and booked before the next read: that read must
    still list the first. The read window had started at the newest booked trade,
    pushed or read, so the first trade fell out of it and was never booked: the
    ledger then differed from the venue by one fill (a loopback run's reconciliation,
    2026-12-07)."""

    async def scenario() -> None:
        clock = FrozenClock()
        async with home_served(clock=clock) as url, hollaex(url, KEY2, SECRET2) as taker:
            venue = await streaming_home(url)
            try:
                (ask,) = await venue.place([(Side.SELL, D("65000.5"), D("0.3"))], 0)
                take_push, dropped = venue._take_push, []

                def losing() -> list[dict[str, Any]]:  # the first trade's push never comes
                    rows = take_push()
                    if rows and not dropped:
                        dropped.extend(rows)
                        return []
                    return rows

                venue._take_push = losing  # type: ignore[method-assign]
                await taker.create_order("BTC/USDT", "market", "buy", 0.01)
                deadline = time.monotonic() + 5
                while not dropped:
                    assert time.monotonic() < deadline, "the first trade was never pushed"
                    await asyncio.sleep(0.01)
                clock.now_ns += (TRADE_LOOKBACK_MS + 1_000) * 1_000_000
                assert venue.fills_arrived is not None and not venue.fills_arrived.is_set()
                await taker.create_order("BTC/USDT", "market", "buy", 0.02)
                await asyncio.wait_for(venue.fills_arrived.wait(), 5)  # booked from its push
                venue._read_due = True  # what a cancel_all asks for (the close's read)
                fills = await venue.poll_fills(time.time_ns())
                assert sorted(f.amount for f in fills) == [D("0.01"), D("0.02")], fills
                assert sorted(f.fill_id for f in fills) == [f"{ask}-f1", f"{ask}-f2"]
                assert await venue.poll_fills(time.time_ns()) == []  # once, not twice
            finally:
                await venue.close()

    asyncio.run(scenario())
