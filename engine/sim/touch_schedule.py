"""When each watched symbol's best bid and ask may next change: its book's next refresh.

Binance pushes `<symbol>@bookTicker` "in real-time" on any change of the best bid
or ask (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams,
"Individual Symbol Book Ticker Streams"), unlike the diff depth, batched every
100 ms. A simulated book changes at its refresh (each symbol on its own phase,
`engine.sim.books`) and when a taker consumes it; the second is pushed where the
order is handled, the first is due here. A heap of (when, symbol) wakes the
venue's touch loop once per refresh of a watched symbol instead of checking every
symbol on a short timer (150 books at 50 markets).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable


class TouchSchedule:
    """The next refresh of each watched symbol's book, earliest first."""

    def __init__(self, next_change_ns: Callable[[str, int], int]) -> None:
        """`next_change_ns(symbol, now_ns)`: when the book after the one at `now_ns` starts."""
        self._next_change_ns = next_change_ns
        self._heap: list[tuple[int, str]] = []
        self._scheduled: set[str] = set()

    def due(self, now_ns: int, watched: Iterable[str]) -> list[str]:
        """The watched symbols whose book may have changed by `now_ns`: each newly watched
        one, and each whose refresh came (then scheduled for its next); a symbol no
        longer watched leaves the schedule."""
        watching = set(watched)
        out = sorted(watching - self._scheduled)
        for symbol in out:
            heapq.heappush(self._heap, (self._next_change_ns(symbol, now_ns), symbol))
        self._scheduled |= watching
        while self._heap and self._heap[0][0] <= now_ns:
            _, symbol = heapq.heappop(self._heap)
            if symbol not in watching:
                self._scheduled.discard(symbol)
                continue
            out.append(symbol)
            heapq.heappush(self._heap, (self._next_change_ns(symbol, now_ns), symbol))
        return out

    def next_due_ns(self) -> int | None:
        """When the next watched book refreshes (None: nothing watched)."""
        return self._heap[0][0] if self._heap else None
