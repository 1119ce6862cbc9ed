"""`BookStream.changed_since` and `BookChanges.apply`: how a reader (the router) keeps
copies of a stream's books as young as the stream with small reads, and `newer_books`:
a full snapshot read earlier never undoes a newer copy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from engine.types import BookSnapshot
from engine.venues.stream_view import BookChanges, newer_books
from engine.venues.streams import DIFF_BUCKET_NS, BookStream
from tests.unit.engine.venues.test_stream_freshness import MS, _synced


def book(symbol: str, ts_ms: int, bid: float = 99.0) -> BookSnapshot:
    return BookSnapshot("v", symbol, ts_ms * MS, ((bid, 1.0),), ((101.0, 1.0),))


def test_a_reader_gets_every_book_first_then_only_the_ones_that_changed():
    stream, client = _synced(9_000, 9_000)
    first = stream.changed_since(None, 0)
    assert set(first.books) == {"A/USDT", "B/USDT"}
    client.book("A/USDT", 2, 9_900)
    stream._take_books(client)
    later = stream.changed_since(first.epoch, first.version)
    assert set(later.books) == {"A/USDT"} and later.version > first.version
    assert stream.changed_since(later.epoch, later.version).books == {}


def test_another_epoch_means_a_new_stream_and_everything_again():
    stream, _ = _synced(9_000, 9_000)
    seen = stream.changed_since(None, 0)
    assert set(stream.changed_since(seen.epoch + 1, seen.version).books) == {"A/USDT", "B/USDT"}


def test_unchanged_copies_are_stamped_as_current_as_the_stream_vouches():
    stream, client = _synced(9_000, 9_000)
    copies = stream.changed_since(None, 0).apply({})
    seen = stream.changed_since(None, 0)
    client.book("A/USDT", 2, 9_900)
    stream._take_books(client)
    copies = stream.changed_since(seen.epoch, seen.version).apply(copies)
    assert copies["A/USDT"].ts_ns == 9_900 * MS
    assert copies["B/USDT"].ts_ns == 9_900 * MS - DIFF_BUCKET_NS  # quiet, still in sync
    assert copies["B/USDT"].bids == ((99.0, 1.0),)


def test_a_book_out_of_sync_or_a_stream_down_is_not_stamped():
    held = {"B/USDT": book("B/USDT", 9_000)}
    out_of_sync = BookChanges(1, 5, {}, 9_800 * MS, frozenset({"A/USDT"}))
    assert out_of_sync.apply(held)["B/USDT"].ts_ns == 9_000 * MS
    down = BookChanges(1, 5, {}, None, frozenset({"B/USDT"}))
    assert down.apply(held)["B/USDT"].ts_ns == 9_000 * MS


def test_an_older_answer_never_replaces_a_newer_copy():
    held = {"A/USDT": book("A/USDT", 9_900, bid=99.5)}
    late = BookChanges(1, 5, {"A/USDT": book("A/USDT", 9_800)}, None)
    assert late.apply(held)["A/USDT"].bids == ((99.5, 1.0),)


def test_a_snapshot_read_earlier_keeps_the_newer_copies():
    held = {"A/USDT": book("A/USDT", 9_900, bid=99.5), "B/USDT": book("B/USDT", 9_000)}
    snapshot = {"A/USDT": book("A/USDT", 9_850), "B/USDT": book("B/USDT", 9_950, bid=98.0)}
    merged = newer_books(held, snapshot)
    assert merged["A/USDT"].bids == ((99.5, 1.0),)  # the follower's newer copy stays
    assert merged["B/USDT"].bids == ((98.0, 1.0),)  # the snapshot's newer book wins


def test_a_long_poll_answers_at_once_when_something_changed_since():
    stream, _ = _synced(9_000, 9_000)

    async def ask() -> BookChanges:
        return await stream.changed_after(None, 0, 5.0)

    first = asyncio.run(asyncio.wait_for(ask(), 1.0))  # a new reader: everything, no wait
    assert set(first.books) == {"A/USDT", "B/USDT"}


async def _held_until(
    stream: BookStream, seen: BookChanges, event: Callable[[], Awaitable[None]]
) -> tuple[BookChanges, float]:
    """A long poll with nothing new (held: checked 50 ms in), answered once `event` ran;
    (its answer, seconds from the ask to the answer)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(stream.changed_after(seen.epoch, seen.version, 5.0))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # nothing new: the ask is held
    await event()
    return await waiting, loop.time() - started


def test_a_long_poll_holds_the_ask_until_the_next_change_and_carries_only_it():
    stream, client = _synced(9_000, 9_000)
    seen = stream.changed_since(None, 0)

    async def change() -> None:
        client.book("B/USDT", 2, 9_950)
        stream._take_books(client)

    changes, waited_s = asyncio.run(_held_until(stream, seen, change))
    assert set(changes.books) == {"B/USDT"} and changes.version > seen.version
    assert changes.books["B/USDT"].ts_ns == 9_950 * MS
    assert waited_s < 1.0  # answered by the take, not by the 5 s bound


def test_a_long_poll_with_nothing_new_answers_empty_when_its_wait_runs_out_or_the_stream_drops():
    stream, _ = _synced(9_000, 9_000)
    seen = stream.changed_since(None, 0)

    async def drop() -> None:
        stream._down("ConnectionClosed: test")

    async def scenario() -> tuple[BookChanges, tuple[BookChanges, float]]:
        quiet = await stream.changed_after(seen.epoch, seen.version, 0.05)
        return quiet, await _held_until(stream, seen, drop)

    quiet, (dropped, waited_s) = asyncio.run(scenario())
    assert quiet.books == {} and quiet.version == seen.version  # the wait ran out
    assert dropped.books == {} and dropped.vouched_ns is None  # the reader vouches nothing
    assert waited_s < 1.0  # the drop answers the ask at once


def test_closing_the_stream_answers_a_held_ask_at_once():
    """The venue's actor closes its stream on stop: the router's long poll must not be
    in flight when the actor is killed (Ray would report the call failed and retry it)."""
    stream, _ = _synced(9_000, 9_000)
    seen = stream.changed_since(None, 0)
    changes, waited_s = asyncio.run(_held_until(stream, seen, stream.close))
    assert changes.books == {} and waited_s < 1.0
