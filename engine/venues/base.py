"""One async interface per kind of venue, so actors never care which is behind it.

`HedgeVenue` is what the router trades on (external venues); `HomeVenue` is
the operator's own exchange where the bot quotes. `CcxtVenue` implements the
first for any ccxt exchange; `HomeSimVenue` the second in-process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from engine.types import BookSnapshot, ChildOrder, ChildOrderResult, Fill, MarketSpec, Side


class HedgeVenue(Protocol):
    venue_id: str

    async def start(self) -> dict[str, MarketSpec]:
        """Connect, load markets once; return the specs of the configured symbols."""
        ...

    async def fetch_book(self, symbol: str, depth: int, now_ns: int) -> BookSnapshot: ...

    async def execute(self, order: ChildOrder) -> ChildOrderResult:
        """Send one child order; never raises for a venue answer, reports it in the result."""
        ...

    async def fetch_balances(self) -> dict[str, Decimal]: ...

    async def close(self) -> None: ...


class HomeVenue(Protocol):
    venue_id: str
    # set while pushed fills wait for `poll_fills` (None: the venue is only polled)
    fills_arrived: asyncio.Event | None

    async def place(
        self, quotes: Sequence[tuple[Side, Decimal, Decimal]], now_ns: int
    ) -> list[str]:
        """Place post-only limit orders; return their client order ids."""
        ...

    async def cancel_all(self, now_ns: int) -> int: ...

    async def poll_fills(self, now_ns: int) -> list[Fill]: ...

    def take_pushed_fills(self) -> list[Fill]:
        """The fills booked from pushes and not yet returned, without I/O ([] if none)."""
        ...

    async def open_quotes(self) -> list[tuple[Side, Decimal, Decimal]]: ...

    async def close(self) -> None:
        """Release what the venue holds open (a ccxt client's connections)."""
        ...
