"""The timer that drives a simulated venue's websocket pushes, shared by its dialects.

Each dialect's streams (`binance_ws`, `hollaex_ws`) compute what changed since the
last tick; this loop calls their `tick(now_ns)` every push interval on venue-sim's
event loop, keeps going when one tick fails (a bad tick must not end every
client's stream), and at shutdown stops before closing the open connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)


class PushLoop:
    def __init__(
        self,
        venue_id: str,
        interval_s: float,
        tick: Callable[[int], object],
        clock_ns: Callable[[], int],
        close_all: Callable[[], Awaitable[None]],
    ) -> None:
        self._venue_id = venue_id
        self._interval_s = interval_s
        self._tick = tick
        self._clock_ns = clock_ns
        self._close_all = close_all
        self._task: asyncio.Task[None] | None = None

    def install(self, app: web.Application) -> None:
        """Start with the app, stop (then close every connection) with it."""
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)

    async def _start(self, app: web.Application) -> None:
        self._task = asyncio.create_task(self._run())

    async def _stop(self, app: web.Application) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_all()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                self._tick(self._clock_ns())
            except Exception:  # one bad tick must not end the streams
                log.exception("%s: stream tick failed", self._venue_id)
