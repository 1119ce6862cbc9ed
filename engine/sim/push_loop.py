"""The timer that drives a simulated venue's websocket pushes, shared by its dialects.

Each dialect's streams (`binance_ws`, `hollaex_ws`) compute what changed since the
last tick; this loop calls their `tick(now_ns)` every push interval on venue-sim's
event loop, keeps going when one tick fails (a bad tick must not end every
client's stream), and at shutdown stops before closing the open connections.

Two things keep a busy venue's pushes on time (issue 14, `bench/venue_sim_streams.py`):
* Ticks keep a fixed cadence (`@depth@100ms` is every 100 ms): the next one is due
  an interval after the last one was due, not after it ended; a tick that overran
  starts the next at once, and ticks a stall skipped are not made up in a burst.
* A tick may be a generator: it yields between symbols, and the loop lets other
  work run there, so each symbol's event is sent as soon as it is computed and one
  venue's 50 books do not hold back the fills and answers of the venues beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class PushLoop:
    def __init__(
        self,
        venue_id: str,
        interval_s: float,
        tick: Callable[[int], Iterator[None] | None],
        clock_ns: Callable[[], int],
        close_all: Callable[[], Awaitable[None]],
        beside: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """`beside`: a loop of the dialect's own (Binance's real-time `@bookTicker`) that
        starts and stops with this one."""
        self._venue_id = venue_id
        self._interval_s = interval_s
        self._tick = tick
        self._clock_ns = clock_ns
        self._close_all = close_all
        self._beside = beside
        self._tasks: list[asyncio.Task[None]] = []

    def install(self, app: web.Application) -> None:
        """Start with the app, stop (then close every connection) with it."""
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)

    async def _start(self, app: web.Application) -> None:
        self._tasks = [asyncio.create_task(self._run())]
        if self._beside is not None:
            self._tasks.append(asyncio.create_task(self._beside()))

    async def _stop(self, app: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_all()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due = next_due(due, loop.time(), self._interval_s)
            await asyncio.sleep(due - loop.time())
            try:
                steps = self._tick(self._clock_ns())
                if steps is not None:
                    await drive(steps)
            except Exception:  # one bad tick must not end the streams
                log.exception("%s: stream tick failed", self._venue_id)


def next_due(last_due: float, now: float, interval: float) -> float:
    """When the next tick is due: an interval after the last was due, or now if that
    time has passed (a late loop starts at once and does not burst to catch up)."""
    return max(last_due + interval, now)


async def drive(steps: Iterator[None]) -> None:
    """Run a tick's steps, letting the event loop send and serve between them."""
    for _ in steps:
        await asyncio.sleep(0)
