"""The consolidated external book: every fresh hedge-venue book as one, and its mid.

One definition of the reference mid for the whole engine (quotes, hedges, RFQ):
the best bid and the best ask across the venues' books that are no older than
`max_age_ns` at `now_ns`. A book past that age says nothing about the price now,
so it is left out rather than averaged in.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.types import BookSnapshot


def consolidate_books(symbol: str, books: Iterable[BookSnapshot]) -> BookSnapshot:
    """One book from many: levels merged by price, best first; ts is the oldest book's."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    oldest: int | None = None
    for book in books:
        oldest = book.ts_ns if oldest is None else min(oldest, book.ts_ns)
        for price, amount in book.bids:
            bids[price] = bids.get(price, 0.0) + amount
        for price, amount in book.asks:
            asks[price] = asks.get(price, 0.0) + amount
    return BookSnapshot(
        venue="consolidated",
        symbol=symbol,
        ts_ns=oldest or 0,
        bids=tuple(sorted(bids.items(), reverse=True)),
        asks=tuple(sorted(asks.items())),
    )


def fresh(books: Iterable[BookSnapshot], now_ns: int, max_age_ns: float) -> list[BookSnapshot]:
    """The books no older than `max_age_ns` at `now_ns`."""
    return [b for b in books if now_ns - b.ts_ns <= max_age_ns]


def consolidated_mid(
    books: Iterable[BookSnapshot], now_ns: int, max_age_ns: float
) -> tuple[float, int] | None:
    """(mid, oldest book's ts) of the best bid and best ask across the fresh books, or
    None when no fresh book has both sides."""
    usable = fresh(books, now_ns, max_age_ns)
    bids = [b.best_bid for b in usable if b.best_bid is not None]
    asks = [b.best_ask for b in usable if b.best_ask is not None]
    if not bids or not asks:
        return None
    return (max(bids) + min(asks)) / 2.0, min(b.ts_ns for b in usable)
