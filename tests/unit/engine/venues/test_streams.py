"""`BookStream` against venue-sim's Binance streams with seeded stream faults.

One connection for every symbol; a disconnect, an update-id gap and a stream
that stalls while staying open each end in fresh books again, counted.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.config import FaultConfig, FaultsFileConfig
from engine.venues.streams import BookStream, StreamState, pro_client
from tests.integration.test_stream_contract import HEDGE, SYMBOLS, served

pytestmark = pytest.mark.timeout(60)


def test_disconnects_gaps_and_a_stall_all_end_in_fresh_books_and_are_counted():
    faults = FaultsFileConfig(
        seed=11,
        venues={
            HEDGE: FaultConfig(
                stream_disconnect_every_s=1.5, depth_gap_rate=0.05, stream_stall_at_s=0.8
            )
        },
    )

    async def scenario() -> None:
        async with served(faults=faults) as (server, urls):
            stream = BookStream(
                HEDGE,
                lambda: pro_client("binance", urls[HEDGE]),
                SYMBOLS,
                20,
                stale_after_s=0.4,
            )
            task = asyncio.create_task(stream.run())
            try:
                await asyncio.sleep(6)
                stats = stream.status()
                assert stats["stale"] >= 1  # the stall: open but silent, resynced
                assert stats["reconnects"] >= 2  # the disconnects
                assert stats["resyncs"] >= 1  # the gaps: books re-read from snapshots
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline and not (
                    stream.up and all(s in stream.books for s in SYMBOLS)
                ):
                    await asyncio.sleep(0.05)
                assert stream.state is StreamState.UP
                now = time.time_ns()
                for symbol in SYMBOLS:
                    book = stream.books[symbol]
                    assert book.bids and book.asks and book.bids[0][0] < book.asks[0][0]
                    assert now - book.ts_ns < 2e9
                # the venue dropped connections (the client's reconnects above count each
                # way back; how many the venue dropped depends on when the stall reset them)
                assert server.streams(HEDGE).stats["disconnects"] >= 1
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await stream.close()

    asyncio.run(scenario())


def test_the_real_time_touch_is_laid_over_the_diffs_through_ccxt_pro():
    """venue-sim pushes `@bookTicker` at each refresh, the diffs every 100 ms: the stream's
    books move between diffs, on a connection of their own that adds no reconnects."""

    async def scenario() -> None:
        async with served() as (_, urls):
            stream = BookStream(
                HEDGE, lambda: pro_client("binance", urls[HEDGE]), SYMBOLS, 20, touch=True
            )
            task = asyncio.create_task(stream.run())
            try:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and stream.status()["touches"] < 3:
                    await asyncio.sleep(0.05)
                stats = stream.status()
                assert stats["touches"] >= 3
                assert stats["touch_reconnects"] == 0 and stats["reconnects"] == 0
                for symbol in SYMBOLS:
                    book = stream.books[symbol]
                    assert book.bids[0][0] < book.asks[0][0]
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await stream.close()

    asyncio.run(scenario())
