"""`StreamHealth`: what a private stream's status says through up, down and up again."""

from __future__ import annotations

import asyncio

from engine.venues.stream_health import StreamHealth


def test_down_since_the_first_failure_and_cleared_when_up():
    now = [1_000_000_000]
    health = StreamHealth("binance-sim", "account stream", lambda: now[0])
    assert not health.up and health.status()["state"] == "connecting"
    health.epoch += 1
    health.mark_up()
    assert health.up and health.status()["down_for_s"] is None
    now[0] += 2_000_000_000
    health.mark_down("ConnectionClosed: 1006")
    now[0] += 1_500_000_000
    health.mark_down("ConnectionClosed: again")  # still down since the first failure
    status = health.status()
    assert (status["state"], status["reason"], status["down_for_s"]) == (
        "down",
        "ConnectionClosed: again",
        1.5,
    )
    health.mark_up()
    assert health.status() == {
        "state": "up",
        "reason": "",
        "epoch": 1,
        "reconnects": 0,
        "down_for_s": None,
    }


def test_wait_up_returns_when_the_stream_comes_up_and_says_false_on_a_timeout():
    health = StreamHealth("home", "fill stream", lambda: 0)

    async def scenario() -> tuple[bool, bool, bool]:
        still_connecting = await health.wait_up(0.01)
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, health.mark_up)
        came_up = await health.wait_up(5.0)
        health.mark_down("ConnectionClosed: 1006")
        down_again = await health.wait_up(0.01)
        return still_connecting, came_up, down_again

    assert asyncio.run(scenario()) == (False, True, False)
