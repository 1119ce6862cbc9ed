"""Up, down and since when: the state a private stream shows in `status()`.

`HomeStream` (the home venue's fills) and `AccountStream` (a hedge venue's
balances) each hold one private ccxt.pro connection whose health the router's
status, the `stream_down` alert and `marketmesh_stream_up` read the same way:
`state`, `reason` (why it is down), `down_for_s`, `epoch` (connections it
subscribed on: each one means "read REST once, something may have been
missed") and `reconnects`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from engine.venues.streams import StreamState

log = logging.getLogger(__name__)


class StreamHealth:
    """One private stream's state; `what` names it in the log ("fill stream")."""

    def __init__(self, venue_id: str, what: str, clock_ns: Callable[[], int]) -> None:
        self.venue_id = venue_id
        self.what = what
        self._clock_ns = clock_ns
        self.state = StreamState.CONNECTING
        self.epoch = 0
        self.reconnects = 0
        self.reason = ""
        self.down_since_ns: int | None = clock_ns()
        self._up_now = asyncio.Event()

    @property
    def up(self) -> bool:
        return self.state is StreamState.UP

    async def wait_up(self, timeout_s: float) -> bool:
        """Whether the stream is up within `timeout_s` (a market waits for its fills'
        stream before its first quote: a fill pushed before the subscription is read
        over REST, up to a poll later)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up_now.wait(), timeout_s)
        return self.up

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "reason": self.reason,
            "epoch": self.epoch,
            "reconnects": self.reconnects,
            "down_for_s": None
            if self.down_since_ns is None
            else (self._clock_ns() - self.down_since_ns) / 1e9,
        }

    def mark_up(self) -> None:
        if self.state is not StreamState.UP:
            log.info("%s: %s up (epoch %d)", self.venue_id, self.what, self.epoch)
        self.state = StreamState.UP
        self.down_since_ns = None
        self.reason = ""
        self._up_now.set()

    def mark_down(self, reason: str) -> None:
        if self.state is StreamState.UP:
            log.warning("%s: %s down: %s", self.venue_id, self.what, reason)
        self.state = StreamState.DOWN
        self._up_now.clear()
        self.reason = reason
        if self.down_since_ns is None:
            self.down_since_ns = self._clock_ns()
