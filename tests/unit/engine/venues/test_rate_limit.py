"""The per-venue weight budget, driven by a fake clock (no real sleeping)."""

from __future__ import annotations

import asyncio

import pytest

from engine.venues.rate_limit import BudgetExhausted, WeightBudget


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def budget(limit: float = 60.0) -> tuple[WeightBudget, FakeClock]:
    clock = FakeClock()
    return WeightBudget(limit_per_minute=limit, clock=clock, sleep=clock.sleep), clock


def test_within_the_budget_nobody_waits():
    b, clock = budget(60)
    asyncio.run(_acquire_many(b, [10, 20, 30]))
    assert clock.slept == [] and b.tokens(clock()) == 0


def test_over_the_budget_reservations_queue_first_come_first_served():
    b, clock = budget(60)  # refills 1 weight per second
    now = clock()
    assert b.reserve(60, now) == now
    assert b.reserve(5, now) == pytest.approx(now + 5)
    assert b.reserve(5, now) == pytest.approx(now + 10)
    assert b.reserve(1, now + 10) == pytest.approx(now + 11)


def test_acquire_sleeps_until_its_reservation_is_covered():
    b, clock = budget(60)
    asyncio.run(_acquire_many(b, [60, 30]))
    assert clock.slept == [pytest.approx(30.0)]
    assert b.stats.waits == 1 and b.stats.waited_s == pytest.approx(30.0)


def test_a_pause_stops_every_caller_until_retry_after_has_passed():
    b, clock = budget(6_000)
    b.pause(3.0, clock())
    asyncio.run(b.acquire(1))
    assert clock() == pytest.approx(1_003.0)
    assert b.stats.pauses == 1 and b.stats.longest_pause_s == 3.0


def test_a_pause_arriving_while_waiting_is_honoured_too():
    b, clock = budget(60)

    async def scenario() -> float:
        await b.acquire(60)
        waiter = asyncio.create_task(b.acquire(2))  # due at +2 s
        await asyncio.sleep(0)
        b.pause(10.0, clock())  # a 429 meanwhile: nobody before +10 s
        await waiter
        return clock()

    assert asyncio.run(scenario()) >= 1_010.0


def test_the_venues_used_weight_header_lowers_what_is_left():
    b, clock = budget(6_000)
    b.observe_used(5_990, clock())
    assert b.tokens(clock()) == pytest.approx(10)
    asyncio.run(b.acquire(20))  # 10 missing at 100/s
    assert clock() == pytest.approx(1_000.1)
    b.observe_used(0, clock())  # a header never adds tokens
    assert b.tokens(clock()) <= 0.0 + 1e-9


def test_a_wait_longer_than_the_caller_accepts_fails_fast_and_debits_nothing():
    b, clock = budget(60)
    b.pause(120.0, clock())
    with pytest.raises(BudgetExhausted) as caught:
        asyncio.run(b.acquire(5, max_wait_s=10))
    assert caught.value.wait_s == pytest.approx(120.0)
    assert clock.slept == [] and b.tokens(clock()) == pytest.approx(60)


def test_refill_never_exceeds_the_limit():
    b, clock = budget(60)
    clock.now += 3_600
    assert b.tokens(clock()) == 60


def test_a_budget_needs_a_positive_limit():
    with pytest.raises(ValueError, match="limit_per_minute"):
        WeightBudget(limit_per_minute=0)


async def _acquire_many(b: WeightBudget, weights: list[float]) -> None:
    for w in weights:
        await b.acquire(w)
