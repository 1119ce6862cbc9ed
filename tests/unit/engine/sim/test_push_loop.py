"""The push loop's cadence and its yielding between a tick's steps."""

import asyncio
import itertools
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.sim.push_loop import PushLoop, drive, grid_phase, next_due


def test_ticks_keep_a_fixed_grid_and_a_late_loop_does_not_burst():
    assert next_due(10.0, 10.03, 0.1) == pytest.approx(10.1)  # an interval after the last
    assert next_due(10.0, 10.1, 0.1) == pytest.approx(10.1)
    assert next_due(10.0, 10.14, 0.1) == pytest.approx(10.1)  # late: at once, on the grid
    # overran three points: the latest one, at once, not three ticks in a row
    assert next_due(10.0, 10.35, 0.1) == pytest.approx(10.3)


@given(
    last=st.floats(0, 1e6),
    late=st.floats(0, 10),
    interval=st.sampled_from([0.05, 0.1, 0.25]),
)
def test_the_next_tick_stays_on_the_grid_and_is_never_behind_by_an_interval(last, late, interval):
    now = last + late
    due = next_due(last, now, interval)
    steps = (due - last) / interval
    assert steps >= 1 - 1e-6 and abs(steps - round(steps)) < 1e-6  # a grid point
    assert due > now - interval  # no older point is left to burst through


def test_a_generator_tick_lets_other_work_run_between_its_steps():
    order: list[str] = []

    def tick():
        for i in range(3):
            order.append(f"step {i}")
            yield

    async def other() -> None:
        for _ in range(3):
            order.append("other")
            await asyncio.sleep(0)

    async def run() -> None:
        await asyncio.gather(drive(tick()), other())

    asyncio.run(run())
    assert order == ["step 0", "other", "step 1", "other", "step 2", "other"]


def _stamps(on_schedule: bool) -> tuple[list[int], list[int]]:
    """(the time each tick was handed, the time it ran) over five 100 ms ticks, the
    second of which overruns by 140 ms, so the third runs ~40 ms late."""
    handed: list[int] = []
    ran: list[int] = []

    def tick(now_ns: int) -> None:
        handed.append(now_ns)
        ran.append(time.time_ns())
        if len(handed) == 2:
            time.sleep(0.14)  # a busy venue: the event loop is held past the next tick

    async def close_all() -> None:
        return None

    async def run() -> None:
        pushes = PushLoop("v", 0.1, tick, time.time_ns, close_all, on_schedule=on_schedule)
        task = asyncio.create_task(pushes._run())
        while len(handed) < 5:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())
    return handed, ran


def test_a_late_tick_on_schedule_is_stamped_when_it_was_due():
    """Binance's @depth@100ms buckets are the venue's clock: a tick that ran ~40 ms late
    still cuts its bucket 100 ms after the last, so no book refresh slips into the next
    bucket and leaves a symbol's diffs 100 ms short."""
    handed, ran = _stamps(on_schedule=True)
    assert (ran[2] - ran[1]) / 1e6 > 130  # it did run late
    gaps_ms = [(b - a) / 1e6 for a, b in itertools.pairwise(handed)]
    assert all(abs(g - 100) < 3 for g in gaps_ms), gaps_ms


def test_a_late_tick_off_schedule_is_stamped_when_it_ran():
    handed, ran = _stamps(on_schedule=False)
    assert (handed[2] - handed[1]) / 1e6 > 130
    assert all(abs(h - r) < 3e6 for h, r in zip(handed, ran, strict=True))


def test_venues_side_by_side_spread_their_grids_over_one_interval():
    assert [grid_phase(i, 3, 0.1) for i in range(3)] == pytest.approx([0.0, 0.1 / 3, 0.2 / 3])
    assert grid_phase(0, 1, 0.1) == 0.0
    assert grid_phase(0, 0, 0.1) == 0.0  # no hedge venue: nothing to spread


@given(count=st.integers(1, 60), interval=st.sampled_from([0.05, 0.1, 0.25]))
def test_phases_are_distinct_and_inside_one_interval(count, interval):
    phases = [grid_phase(i, count, interval) for i in range(count)]
    assert all(0 <= p < interval for p in phases)
    gaps = [b - a for a, b in itertools.pairwise(phases)]
    assert all(g == pytest.approx(interval / count) for g in gaps)


def test_a_loop_ticks_on_its_phase():
    """Two loops started together, one on a 50 ms phase, tick 50 ms apart on the
    same 100 ms cadence (before, all venues' loops ticked at one instant)."""
    ran: dict[str, list[float]] = {"a": [], "b": []}

    async def close_all() -> None:
        return None

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loops = [
            PushLoop(
                name,
                0.1,
                lambda _ns, n=name: ran[n].append(loop.time()),
                time.time_ns,
                close_all,
                phase_s=phase,
            )
            for name, phase in (("a", 0.0), ("b", 0.05))
        ]
        tasks = [asyncio.create_task(p._run()) for p in loops]
        while min(len(v) for v in ran.values()) < 4:
            await asyncio.sleep(0.005)
        for task in tasks:
            task.cancel()

    asyncio.run(run())
    offsets_ms = [(b - a) * 1e3 for a, b in zip(ran["a"], ran["b"], strict=False)]
    assert all(35 < o < 65 for o in offsets_ms), offsets_ms
    assert all(abs((y - x) * 1e3 - 100) < 15 for x, y in itertools.pairwise(ran["b"]))
