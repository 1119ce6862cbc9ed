"""What a reader of a venue's book stream gets: the books changed since its last look
(`BookChanges`), and the names of the stream's event counts.

Apart from `engine.venues.streams` because the readers are other processes (the
router): a `BookChanges` unpickled there imports only this module, not ccxt.pro and
every exchange with it (~1.2 s of a core at each router start).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from engine.types import BookSnapshot

# the counts of `BookStream.status()` that are events (the router's status and the
# marketmesh_stream_events metric both list them from here)
STREAM_EVENTS = ("reconnects", "resyncs", "stale", "touches", "touch_reconnects")


@dataclass(frozen=True, slots=True)
class BookChanges:
    """The books of one stream that changed since a reader's last look (`changed_since`).

    `vouched_ns`: the connection is in order up to then, so a book in `in_sync` that
    did not change is current as of it (None while the stream is not up)."""

    epoch: int
    version: int
    books: dict[str, BookSnapshot]
    vouched_ns: int | None = None
    in_sync: frozenset[str] = frozenset()

    def apply(self, books: dict[str, BookSnapshot]) -> dict[str, BookSnapshot]:
        """`books` (a reader's copies) brought up to date: the changed ones replaced when
        newer, the unchanged in-sync ones stamped as current as the stream vouches."""
        out = {**books, **newer_books(books, self.books)}
        if self.vouched_ns is not None:
            for symbol in self.in_sync:
                old = out.get(symbol)
                if old is not None and old.ts_ns < self.vouched_ns and symbol not in self.books:
                    out[symbol] = dataclasses.replace(old, ts_ns=self.vouched_ns)
        return out


def newer_books(
    held: dict[str, BookSnapshot], fresh: dict[str, BookSnapshot]
) -> dict[str, BookSnapshot]:
    """`fresh` (a venue snapshot's books), except where `held` has a newer book of a
    symbol: a snapshot read before the follower's last answer must not undo it."""
    out = dict(fresh)
    for symbol, book in held.items():
        new = out.get(symbol)
        if new is not None and book.ts_ns > new.ts_ns:
            out[symbol] = book
    return out
