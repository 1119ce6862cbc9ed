"""The shared actor timer: live interval, failures reported, a cycle never cut short."""

from __future__ import annotations

import asyncio

from actors.lifecycle import FlushCadence, Timer


def test_a_failed_cycle_is_reported_and_the_timer_goes_on():
    errors: list[BaseException] = []
    calls = 0

    async def tick() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("venue down")

    async def main() -> Timer:
        timer = Timer("t", lambda: 0.001, tick, on_error=errors.append)
        timer.start()
        while calls < 5:
            await asyncio.sleep(0.001)
        await timer.stop()
        return timer

    timer = asyncio.run(main())
    assert [str(e) for e in errors] == ["venue down"]
    assert timer.failures == 1 and timer.cycles >= 5 and not timer.running


def test_the_interval_is_read_live_each_cycle():
    interval = [10.0]
    calls = 0

    async def tick() -> None:
        nonlocal calls
        calls += 1

    async def main() -> None:
        timer = Timer("t", lambda: interval[0], tick)
        interval[0] = 0.001  # an on_config before the first sleep
        timer.start()
        await asyncio.sleep(0.05)
        await timer.stop()

    asyncio.run(main())
    assert calls >= 3


def test_stop_waits_for_the_cycle_under_way():
    finished: list[bool] = []

    async def tick() -> None:
        await asyncio.sleep(0.05)
        finished.append(True)

    async def main() -> None:
        timer = Timer("t", lambda: 0.0, tick)
        timer.start()
        await asyncio.sleep(0.01)  # inside the first cycle
        await timer.stop()
        assert finished == [True]

    asyncio.run(main())


def test_ensure_restarts_a_timer_that_ended_by_itself_but_not_a_stopped_one():
    async def main() -> None:
        timer = Timer("t", lambda: 0.001, _noop)
        timer.start()
        assert timer._task is not None
        timer._task.cancel()
        await asyncio.sleep(0.005)
        assert not timer.running
        assert timer.ensure() is True and timer.running
        await timer.stop()
        assert timer.ensure() is False and not timer.running

    asyncio.run(main())


async def _noop() -> None:
    return None


def test_flush_cadence_fires_once_per_interval_of_the_given_clock():
    cadence = FlushCadence(lambda: 1.0, now_ns=0)
    assert not cadence.due(999_999_999)
    assert cadence.due(1_000_000_000)
    assert not cadence.due(1_500_000_000)
    assert cadence.due(2_000_000_000)
