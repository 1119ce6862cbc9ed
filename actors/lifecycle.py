"""The pieces of an actor's life every actor shares: its timer and its flush cadence.

Each actor used to run a private `while True: sleep; work` loop, and they differed
in what they did when one cycle failed (die silently, log, report), whether a new
interval from `on_config` applied, and whether a loop that stopped was noticed.
`Timer` fixes those choices once:

- the interval is read before every sleep, so a config change applies next cycle;
- a failed cycle is logged and handed to `on_error`, and the timer keeps going;
- a cycle under way finishes before `stop` returns (cancelling one mid-hedge would
  let the next reader see exposure before that hedge is booked);
- `ensure()` starts the timer again if it ever ended, and says so.

`FlushCadence` is the "write Parquet every `flush_interval_s`" rule, with the clock
passed in so it is testable without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from engine.config import AppConfig
from engine.gc_policy import GcPolicy

log = logging.getLogger(__name__)


class Timer:
    """Runs `tick` every `interval()` seconds on the actor's event loop."""

    def __init__(
        self,
        name: str,
        interval: Callable[[], float],
        tick: Callable[[], Awaitable[object]],
        *,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.name = name
        self._interval = interval
        self._tick = tick
        self._on_error = on_error
        self._task: asyncio.Task[None] | None = None
        self._current: asyncio.Future[None] | None = None
        self._stopping = False
        self.cycles = 0
        self.failures = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop (idempotent: a running timer is left alone)."""
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    def ensure(self) -> bool:
        """Start the loop again if it ended by itself; True when it had to."""
        if self._stopping or self._task is None or self.running:
            return False
        if not self._task.cancelled() and (exc := self._task.exception()) is not None:
            self._report(exc)
        log.error("%s: timer had stopped; starting it again", self.name)
        self._task = None
        self.start()
        return True

    async def stop(self) -> None:
        """Stop after the cycle under way (if any) has finished."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        current, self._current = self._current, None
        if current is not None and not current.done():
            try:
                await current
            except Exception as exc:
                self._report(exc)

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(max(0.0, self._interval()))
            self._current = asyncio.ensure_future(self._cycle())
            try:
                # shielded: a stop() cancels the sleep, never a cycle half done
                await asyncio.shield(self._current)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._report(exc)

    async def _cycle(self) -> None:
        self.cycles += 1
        await self._tick()

    def _report(self, exc: BaseException) -> None:
        self.failures += 1
        log.error("%s: cycle failed: %r", self.name, exc, exc_info=exc)
        if self._on_error is not None:
            self._on_error(exc)


class FlushCadence:
    """True once every `interval()` seconds of the clock it is given."""

    def __init__(self, interval: Callable[[], float], now_ns: int) -> None:
        self._interval = interval
        self._last_ns = now_ns

    def due(self, now_ns: int) -> bool:
        if now_ns - self._last_ns < int(self._interval() * 1e9):
            return False
        self._last_ns = now_ns
        return True


def settle_process(config: AppConfig) -> None:
    """Once an actor has started: its collector set for a hot path (engine/gc_policy)."""
    rc = config.ray
    GcPolicy(freeze=rc.gc_freeze, gen0_threshold=rc.gc_gen0_threshold).apply()
