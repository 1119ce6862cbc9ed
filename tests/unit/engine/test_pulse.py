"""Pulse: wakes the waiters of the moment, leaves nothing set (engine/pulse.py)."""

import asyncio

from engine.pulse import Pulse


def test_a_fire_wakes_every_current_waiter_and_is_not_kept_for_later_ones():
    async def scenario() -> tuple[float, float]:
        pulse = Pulse()
        loop = asyncio.get_running_loop()
        start = loop.time()
        waiters = [asyncio.create_task(pulse.wait(5.0)) for _ in range(3)]
        await asyncio.sleep(0.01)
        pulse.fire()
        await asyncio.gather(*waiters)
        woken = loop.time() - start
        pulse.fire()  # nobody waits: nothing is left set
        start = loop.time()
        await pulse.wait(0.05)  # so this one waits out its timeout
        return woken, loop.time() - start

    woken_s, late_s = asyncio.run(scenario())
    assert woken_s < 1.0
    assert late_s >= 0.04
