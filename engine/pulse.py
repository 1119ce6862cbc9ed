"""A wake-up for whoever waits on the next change, with no flag left set after it.

`asyncio.Event` stays set until cleared, so a waiter that arrives after a change
returns at once for a change it did not wait for. A book stream's readers
(`BookStream.fresh_by`, `changed_after`) and the router's held hedges want the
*next* change: `Pulse.fire` wakes those waiting now and leaves nothing behind.
"""

from __future__ import annotations

import asyncio


class Pulse:
    """Wakes the current waiters on each `fire`; a fire with none waiting is lost."""

    def __init__(self) -> None:
        self._next: asyncio.Future[None] | None = None  # resolved and dropped by a fire

    async def wait(self, timeout_s: float) -> None:
        """Until the next `fire`, or `timeout_s`."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        await asyncio.wait({self._next}, timeout=timeout_s)

    def fire(self) -> None:
        """Wake every current waiter."""
        waiters, self._next = self._next, None
        if waiters is not None and not waiters.done():
            waiters.set_result(None)
