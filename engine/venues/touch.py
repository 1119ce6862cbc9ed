"""The touch (best bid and ask) a venue pushes in real time, laid over a diff-depth book.

A diff depth stream is batched: Binance's `<symbol>@depth@100ms` sends a book's
changes every 100 ms, so between two events the copy can show a top the venue
no longer has. Its `<symbol>@bookTicker` pushes "any update to the best bid or
ask's price or quantity in real-time"
(https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams),
with the update id of the same order book. A hedge mostly takes the first level,
so a router that plans on the depth copy with a newer touch over it pays what it
planned far more often (BENCHMARKS.md, "real-time touch"). Professional books
are built the same way: the ticker for the top, the diffs for the depth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.types import BookSnapshot

Levels = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Touch:
    """Best bid and ask with their amounts; a side is None when the venue sent none."""

    bid: float | None
    bid_amount: float
    ask: float | None
    ask_amount: float
    update_id: int | None  # the book's update id the venue stamped it with (Binance `u`)
    received_ns: int

    def same_top(self, other: Touch | None) -> bool:
        return other is not None and (self.bid, self.bid_amount, self.ask, self.ask_amount) == (
            other.bid,
            other.bid_amount,
            other.ask,
            other.ask_amount,
        )


def touch_from_ccxt(ticker: Mapping[str, Any], received_ns: int) -> Touch:
    """A ccxt bids/asks ticker (`watch_bids_asks`) as a `Touch`; a zero price or amount
    (an empty side on the wire) is no side."""
    info = ticker.get("info") or {}
    raw_id = info.get("u") if isinstance(info, Mapping) else None
    bid, bid_amount = _side(ticker.get("bid"), ticker.get("bidVolume"))
    ask, ask_amount = _side(ticker.get("ask"), ticker.get("askVolume"))
    return Touch(
        bid, bid_amount, ask, ask_amount, int(raw_id) if raw_id is not None else None, received_ns
    )


def touch_is_newer(touch: Touch, book: BookSnapshot, book_update_id: int | None) -> bool:
    """Whether `touch` came after the depth copy `book`: by the venue's update ids when
    both carry one (one sequence on Binance), else by time."""
    if touch.update_id is not None and book_update_id is not None:
        return touch.update_id > book_update_id
    return touch.received_ns > book.ts_ns


def with_touch(book: BookSnapshot, touch: Touch) -> BookSnapshot:
    """`book` with its top replaced by the newer `touch`: levels better than the touch are
    gone, the touch's own level holds the touch's amount, deeper levels stay as the depth
    copy had them until the next diff. `ts_ns` stays the copy's: the deeper levels are
    that old, so the age checks (`risk.max_book_age_ms`) keep their meaning."""
    bids = _laid_over(book.bids, touch.bid, touch.bid_amount, lambda p, t: p < t)
    asks = _laid_over(book.asks, touch.ask, touch.ask_amount, lambda p, t: p > t)
    if bids is book.bids and asks is book.asks:
        return book
    return dataclasses.replace(book, bids=bids, asks=asks)


def _laid_over(
    levels: Levels, price: float | None, amount: float, deeper: Callable[[float, float], bool]
) -> Levels:
    if price is None or (levels and levels[0] == (price, amount)):
        return levels
    rest = tuple(level for level in levels if deeper(level[0], price))
    return ((price, amount), *rest)[: max(len(levels), 1)]


def _side(price: Any, amount: Any) -> tuple[float | None, float]:
    if price is None or amount is None or float(price) <= 0 or float(amount) <= 0:
        return None, 0.0
    return float(price), float(amount)
