"""The timer that drives a simulated venue's websocket pushes, shared by its dialects.

Each dialect's streams (`binance_ws`, `hollaex_ws`) compute what changed since the
last tick; this loop calls their `tick(now_ns)` every push interval on venue-sim's
event loop, keeps going when one tick fails (a bad tick must not end every
client's stream), and at shutdown stops before closing the open connections.

Four things keep a busy venue's pushes on time (issue 14, `bench/venue_sim_streams.py`):
* Ticks keep a fixed grid (`@depth@100ms` is every 100 ms): each is due a whole
  number of intervals after the first, not an interval after the last one ended;
  a tick that is late (an overrun, a busy loop) runs at once, and grid points a
  stall skipped are not made up in a burst.
* A tick may be handed the wall time it was due rather than the time it ran
  (`on_schedule`): Binance's `@depth@100ms` events are buckets of the venue's own
  clock, so a tick that ran late stamps and cuts its bucket where it belongs. On
  the run time, a tick a few ms late took in a book refresh that belonged to the
  next bucket, that next bucket then had none, and the symbol's diffs skipped
  100 ms: a reader saw its book ~200 ms old (one symbol of a loopback run, 146
  of its 600 buckets; the router waited for a younger book at 1.5-3.5 % of the
  fills, 50-55 ms each).
* A tick may be a generator: it yields between symbols, and the loop lets other
  work run there, so each symbol's event is sent as soon as it is computed and one
  venue's 50 books do not hold back the fills and answers of the venues beside it.
* Venues served side by side tick on phases of their own (`grid_phase`), spread
  over the interval as real venues' clocks are: on one shared grid every venue's
  diffs were built in one burst, each venue's behind the others' (3 venues x 3
  symbols: event age at receipt p50 7 -> 5 ms, p99 17 -> 10 ms,
  `bench/venue_sim_streams.py --symbols 3`, BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
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
        on_schedule: bool = False,
        phase_s: float = 0.0,
    ) -> None:
        """`beside`: a loop of the dialect's own (Binance's real-time `@bookTicker`) that
        starts and stops with this one. `on_schedule`: `tick` gets the wall time it was
        due, not the time it ran (module doc). `phase_s`: where in the interval the grid
        starts, so venues served side by side do not all tick at the same instant."""
        self._venue_id = venue_id
        self._interval_s = interval_s
        self._tick = tick
        self._clock_ns = clock_ns
        self._close_all = close_all
        self._beside = beside
        self._on_schedule = on_schedule
        self._phase_s = phase_s % interval_s if interval_s > 0 else 0.0
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
        due = loop.time() + self._phase_s  # the grid starts at the phase
        while True:
            due = next_due(due, loop.time(), self._interval_s)
            await asyncio.sleep(due - loop.time())
            try:
                now_ns = self._clock_ns()
                if self._on_schedule:
                    now_ns -= int(max(0.0, loop.time() - due) * 1e9)
                steps = self._tick(now_ns)
                if steps is not None:
                    await drive(steps)
            except Exception:  # one bad tick must not end the streams
                log.exception("%s: stream tick failed", self._venue_id)


def next_due(last_due: float, now: float, interval: float) -> float:
    """When the next tick is due, on the grid of `last_due`: an interval after it, or,
    once that has passed, the latest grid point not after `now` (the tick runs at once;
    the points a stall skipped are not made up in a burst)."""
    steps = max(1, math.floor((now - last_due) / interval + 1e-9))
    return last_due + steps * interval


def grid_phase(index: int, count: int, interval_s: float) -> float:
    """Where the `index`-th of `count` venues served side by side starts its grid: the
    phases spread evenly over one interval. Real venues tick on clocks of their own; on
    one grid, every venue's diffs were built and sent in one burst, and the readers of
    all of them woke at once on two cores."""
    return interval_s * (index % count) / count if count > 0 else 0.0


async def drive(steps: Iterator[None]) -> None:
    """Run a tick's steps, letting the event loop send and serve between them."""
    for _ in steps:
        await asyncio.sleep(0)
