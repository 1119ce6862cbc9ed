"""The push loop's cadence and its yielding between a tick's steps."""

import asyncio

from engine.sim.push_loop import drive, next_due


def test_ticks_keep_a_fixed_cadence_and_a_late_loop_does_not_burst():
    assert next_due(10.0, 10.03, 0.1) == 10.1  # an interval after the last was due
    assert next_due(10.0, 10.1, 0.1) == 10.1
    assert next_due(10.0, 10.35, 0.1) == 10.35  # overran: at once, not three ticks in a row


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
