"""`BookStream.fresh_books`: how current the connection vouches each book is.

A diff stream sends nothing for a book that did not change; an event of another
symbol on the same in-order connection says the quiet book is still current
(less one 100 ms bucket), but only while ccxt holds it in sync and the stream
is up.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine.types import BookSnapshot
from engine.venues.streams import DIFF_BUCKET_NS, BookStream, StreamState

MS = 1_000_000


class _Client:
    """What `BookStream` reads of a ccxt.pro client: its `orderbooks`."""

    def __init__(self) -> None:
        self.orderbooks: dict[str, dict[str, Any]] = {}

    def book(self, symbol: str, nonce: int | None, ts_ms: int) -> None:
        self.orderbooks[symbol] = {
            "nonce": nonce,
            "timestamp": ts_ms,
            "bids": [[99.0, 1.0]],
            "asks": [[101.0, 1.0]],
        }


def _synced(a_ms: int, b_ms: int, now_ms: int = 10_000) -> tuple[BookStream, _Client]:
    """A stream that took both books (A last updated at `a_ms`, B at `b_ms`)."""
    stream = BookStream("v", lambda: None, ["A/USDT", "B/USDT"], 5, clock_ns=lambda: now_ms * MS)
    client = _Client()
    client.book("A/USDT", 1, a_ms)
    client.book("B/USDT", 1, b_ms)
    stream._take_books(client)
    return stream, client


def test_a_quiet_book_in_sync_is_vouched_for_by_another_symbols_event():
    stream, client = _synced(9_000, 9_000)
    client.book("A/USDT", 2, 9_900)  # only A changed since
    stream._take_books(client)
    books = stream.fresh_books()
    assert stream.state is StreamState.UP
    assert books["A/USDT"].ts_ns == 9_900 * MS
    assert books["B/USDT"].ts_ns == 9_900 * MS - DIFF_BUCKET_NS
    assert stream.books["B/USDT"].ts_ns == 9_000 * MS  # its own last update is kept


def test_a_book_ccxt_dropped_on_a_gap_is_not_vouched_for():
    stream, client = _synced(9_000, 9_000)
    del client.orderbooks["B/USDT"]  # ccxt: a gap drops the book until a new snapshot
    client.book("A/USDT", 2, 9_900)
    stream._take_books(client)
    assert stream.fresh_books()["B/USDT"].ts_ns == 9_000 * MS
    client.book("B/USDT", None, 9_950)  # resubscribed, snapshot not read yet
    client.book("A/USDT", 3, 9_990)
    stream._take_books(client)
    assert stream.fresh_books()["B/USDT"].ts_ns == 9_000 * MS


def test_a_stream_that_is_down_vouches_for_nothing():
    stream, _ = _synced(9_000, 8_000)
    stream.state = StreamState.DOWN
    assert stream.fresh_books()["B/USDT"].ts_ns == 8_000 * MS


def test_vouching_never_makes_a_book_older():
    stream, _ = _synced(9_950, 9_990)
    assert stream.fresh_books()["B/USDT"].ts_ns == 9_990 * MS


def test_a_hedge_waits_for_the_next_diff_to_bring_a_young_book():
    """`fresh_by`: a book past the age limit is returned as soon as the connection takes
    a younger one, not after the whole wait."""
    now = [10_000 * MS]
    stream = BookStream("v", lambda: None, ["A/USDT"], 5, clock_ns=lambda: now[0])
    client = _Client()
    client.book("A/USDT", 1, 9_600)
    stream._take_books(client)

    async def scenario() -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting = asyncio.create_task(stream.fresh_by("A/USDT", 300 * MS, 5.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # 400 ms old: waits
        now[0] = 10_050 * MS
        client.book("A/USDT", 2, 10_040)
        stream._take_books(client)
        book = await waiting
        assert book is not None
        return book.ts_ns, loop.time() - started

    ts_ns, waited_s = asyncio.run(scenario())
    assert ts_ns == 10_040 * MS
    assert waited_s < 1.0  # woken by the take, not by the 5 s bound


def test_a_book_that_stays_old_is_returned_as_it_is_when_the_wait_runs_out():
    now = [10_000 * MS]
    stream = BookStream("v", lambda: None, ["A/USDT"], 5, clock_ns=lambda: now[0])
    client = _Client()
    client.book("A/USDT", 1, 9_000)
    stream._take_books(client)

    async def scenario() -> BookSnapshot | None:
        return await stream.fresh_by("A/USDT", 300 * MS, 0.05)

    book = asyncio.run(scenario())
    assert book is not None and book.ts_ns == 9_000 * MS  # the caller leaves it out
    young = asyncio.run(stream.fresh_by("A/USDT", 2_000 * MS, 0.0))
    assert young is not None and young.ts_ns == 9_000 * MS  # young enough: no wait


def _ticker(bid: float, ask: float, update_id: int) -> dict[str, Any]:
    return {"bid": bid, "bidVolume": 0.5, "ask": ask, "askVolume": 0.25, "info": {"u": update_id}}


def test_a_touch_newer_than_the_last_diff_moves_the_top_until_the_diff_that_carries_it():
    stream, client = _synced(9_000, 9_000)
    version = stream.changed_since(stream.epoch, 0).version
    stream._take_touches({"A/USDT": _ticker(98.0, 100.0, update_id=2)})
    book = stream.books["A/USDT"]
    assert (book.bids[0], book.asks[0]) == ((98.0, 0.5), (100.0, 0.25))
    assert book.ts_ns == 9_000 * MS  # as old as its depth: the age checks keep their meaning
    changed = stream.changed_since(stream.epoch, version)
    assert set(changed.books) == {"A/USDT"}  # a reader following the stream hears of it
    assert stream.status()["touches"] == 1

    client.book("A/USDT", 2, 9_950)  # the diff with id 2 carries the change: it wins
    stream._take_books(client)
    assert stream.books["A/USDT"].asks[0] == (101.0, 1.0)


def test_a_touch_the_last_diff_already_carried_changes_nothing():
    stream, _ = _synced(9_000, 9_000)
    before = stream.books["A/USDT"]
    stream._take_touches({"A/USDT": _ticker(98.0, 100.0, update_id=1)})
    assert stream.books["A/USDT"] is before
    assert stream.status()["touches"] == 0


def test_touches_are_dropped_with_their_connection():
    stream, _ = _synced(9_000, 9_000)
    stream._take_touches({"B/USDT": _ticker(98.0, 100.0, update_id=5)})
    assert stream.books["B/USDT"].asks[0] == (100.0, 0.25)
    stream._drop_touches()
    assert stream.books["B/USDT"].asks[0] == (101.0, 1.0)  # the diffs' book again
