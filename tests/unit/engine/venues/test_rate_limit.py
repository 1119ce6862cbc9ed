"""The per-venue weight budget, driven by a fake clock (no real sleeping)."""

from __future__ import annotations

import asyncio

import pytest

from engine.venues.rate_limit import BudgetExhausted, WeightBudget, books_due


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
    assert b.stats.venue_used_peak == 5_990  # the venue's highest count is kept for status


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


def test_books_due_spreads_the_budget_share_over_the_oldest_books():
    symbols = [f"A{i:02d}/USDT" for i in range(50)]
    # 6,000/min, 60 % for books, every 0.25 s, weight 5: 3 books a cycle
    first = books_due({}, symbols, interval_s=0.25, book_weight=5, limit_per_minute=6000, share=0.6)
    assert first == symbols[:3]  # never fetched: in listing order
    fetched = {s: 100.0 + i for i, s in enumerate(symbols)}
    fetched["A40/USDT"] = 1.0  # the stalest
    due = books_due(
        fetched, symbols, interval_s=0.25, book_weight=5, limit_per_minute=6000, share=0.6
    )
    assert due == ["A40/USDT", *symbols[:2]]
    # a few symbols on a big budget: every one, every cycle
    assert (
        books_due(
            {}, symbols[:3], interval_s=0.25, book_weight=5, limit_per_minute=60_000, share=0.6
        )
        == symbols[:3]
    )
    # a budget too small for even one book a cycle still fetches one
    assert (
        len(books_due({}, symbols, interval_s=0.25, book_weight=50, limit_per_minute=60, share=0.6))
        == 1
    )


def test_paced_polling_keeps_every_book_younger_than_the_cycle_it_affords():
    symbols = [f"A{i:02d}/USDT" for i in range(50)]
    fetched: dict[str, float] = {}
    now, worst = 0.0, 0.0
    for _ in range(400):  # 100 s of 0.25 s cycles
        now += 0.25
        ages = [now - fetched[s] for s in symbols if s in fetched]
        worst = max([worst, *ages]) if len(fetched) == len(symbols) else worst
        for s in books_due(
            fetched, symbols, interval_s=0.25, book_weight=5, limit_per_minute=6000, share=0.6
        ):
            fetched[s] = now
    # 3 books per 0.25 s: each of 50 is refreshed every ceil(50 / 3) = 17 cycles
    assert worst == 17 * 0.25
