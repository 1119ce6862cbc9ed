"""`DepthFeed` and `ListenKeys`: the state venue-sim's streams publish from."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from engine.sim.stream_hub import DepthFeed, ListenKeys

D = Decimal


def replay(snapshot_id: int, snapshot: dict, events: list) -> dict:
    """Binance's local-book procedure over (U, u, changes) events from a snapshot."""
    book, last = dict(snapshot), snapshot_id
    for update in events:
        if update.last_id <= last:
            continue  # already in the snapshot
        assert update.first_id <= last + 1 <= update.last_id  # no gap
        for price, amount in update.bids:
            if amount == 0:
                book.pop(price, None)
            else:
                book[price] = amount
        last = update.last_id
    return book


def test_each_changed_level_is_one_update_id_and_a_snapshot_resumes_exactly():
    feed = DepthFeed("BTC/USDT", first_id=100)
    books = [
        {D(10): D(1), D(9): D(2)},
        {D(10): D(1), D(9): D(3), D(8): D(1)},  # one changed, one new
        {D(9): D(3), D(8): D(1)},  # one gone
        {D(9): D(3), D(8): D(1)},  # unchanged: no event
        {D(11): D(5), D(9): D(3)},
    ]
    events, snapshots = [], []
    for i, bids in enumerate(books):
        update = feed.advance(bids.items(), [], i)
        if update is not None:
            events.append(update)
        snapshots.append((feed.last_id, dict(feed.levels(100)[0])))
    assert [(e.first_id, e.last_id) for e in events] == [
        (100, 101),
        (102, 103),
        (104, 104),
        (105, 106),
    ]
    assert all(b.first_id == a.last_id + 1 for a, b in pairwise(events))
    assert events[2].bids == ((D(10), D(0)),)  # a removed level: amount 0
    for snapshot_id, snapshot in snapshots:  # from any snapshot, the events rebuild the end
        assert replay(snapshot_id, snapshot, events) == books[-1]


def test_listen_keys_live_an_hour_after_their_last_keep_alive():
    keys = ListenKeys(ttl_s=3_600)
    key = keys.create("acct", 0)
    assert keys.create("acct", 10) == key  # one active key per account, renewed
    assert keys.keep_alive(key, "acct", 1_000 * 10**9)
    assert not keys.keep_alive(key, "other", 0)
    assert keys.expired((1_000 + 3_599) * 10**9) == []
    assert keys.expired((1_000 + 3_600) * 10**9) == [key]
    assert keys.account_of(key) is None and "acct" not in repr(keys)
