"""A venue's request-weight budget, shared by every call one `CcxtVenue` makes.

Binance (and venues modelled on it) count *request weight* per caller and per
minute: an order costs 1, a depth of 100 levels 5, `myTrades` 20 (Binance spot
API docs, "LIMITS" and "General endpoints"). Past the limit the venue answers
HTTP 429 with `Retry-After`; clients that keep sending earn an HTTP 418 ban.
Books, balances and orders of one venue therefore draw on ONE budget:

* a token bucket (capacity = the venue's limit per minute, refilled at
  limit/60 per second) debited *before* each request by its weight, so a burst
  of hedge child orders cannot starve the book poll or vice versa;
* corrected by what the venue says it counted (`X-MBX-USED-WEIGHT-1M`): the
  bucket never holds more than `limit - used`;
* paused for `Retry-After` whenever the venue answers 429/418, so every caller
  of the venue stops, not just the one that was refused.

It is the venue client's only limiter: ccxt's own `enableRateLimit` throttle
is off on a `CcxtVenue`. That leaky bucket refills only while requests queue,
never while the client is idle, so it held every isolated hedge order its cost
in `rateLimit` (10 ms for a Binance order) and the order after a balance read
200 ms, and it knows neither the shared account weight nor the venue's pause.

The clock and the sleep are injected: engine code never reads the wall clock
itself, and tests drive the budget with a fake clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class BudgetExhausted(Exception):
    """Waiting for the budget would take longer than the caller may wait."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        super().__init__(f"weight budget: next request allowed in {wait_s:.3f}s")


@dataclass(slots=True)
class BudgetStats:
    """What the budget did, for status pages and tests."""

    requests: int = 0
    weight: float = 0.0
    waits: int = 0
    waited_s: float = 0.0
    pauses: int = 0
    longest_pause_s: float = 0.0
    # the venue's own count of this IP's weight in its current minute, the highest seen:
    # it includes what other clients on the IP spent (ccxt.pro's book snapshots)
    venue_used_peak: float = 0.0
    # weight spent per operation (`create_order`, `fetch_order_book`, ...): where it goes
    by_operation: dict[str, float] = field(default_factory=dict)


class WeightBudget:
    """Token bucket of request weight plus the venue's Retry-After pause (module doc)."""

    def __init__(
        self,
        *,
        limit_per_minute: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit_per_minute <= 0:
            raise ValueError(f"limit_per_minute must be positive, got {limit_per_minute}")
        self.limit_per_minute = float(limit_per_minute)
        self.refill_per_s = self.limit_per_minute / 60.0
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.limit_per_minute
        self._updated = clock()
        self._resume_at = float("-inf")
        self.stats = BudgetStats()

    def __repr__(self) -> str:
        return f"WeightBudget(limit_per_minute={self.limit_per_minute:g})"

    # --- pure bookkeeping: every method takes `now` ----------------------------------------

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.limit_per_minute, self._tokens + elapsed * self.refill_per_s)
        self._updated = max(self._updated, now)

    def tokens(self, now: float) -> float:
        """Weight available at `now` (negative: already promised to waiting callers)."""
        self._refill(now)
        return self._tokens

    def paused_until(self) -> float:
        return self._resume_at

    def reserve(self, weight: float, now: float) -> float:
        """Debit `weight`; return when (clock time) the request may be sent.

        Reservations queue: a request that finds the bucket in debt waits for
        the refill that covers everyone ahead of it, so order is first come,
        first served and no caller is starved.
        """
        self._refill(now)
        self._tokens -= weight
        ready = now if self._tokens >= 0 else now + (-self._tokens) / self.refill_per_s
        self.stats.requests += 1
        self.stats.weight += weight
        return max(ready, self._resume_at)

    def refund(self, weight: float, now: float) -> None:
        """Give back a reservation that was never sent."""
        self._refill(now)
        self._tokens = min(self.limit_per_minute, self._tokens + weight)
        self.stats.requests -= 1
        self.stats.weight -= weight

    def observe_used(self, used_in_window: float, now: float) -> None:
        """The venue says `used_in_window` weight was counted this minute (X-MBX-USED-WEIGHT-1M)."""
        self._refill(now)
        self._tokens = min(self._tokens, self.limit_per_minute - used_in_window)
        self.stats.venue_used_peak = max(self.stats.venue_used_peak, used_in_window)

    def pause(self, retry_after_s: float, now: float) -> None:
        """The venue answered 429/418 with `Retry-After`: nobody sends before it has passed."""
        retry_after_s = max(0.0, retry_after_s)
        self._resume_at = max(self._resume_at, now + retry_after_s)
        self.stats.pauses += 1
        self.stats.longest_pause_s = max(self.stats.longest_pause_s, retry_after_s)

    # --- async edge --------------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    async def acquire(self, weight: float = 1.0, *, max_wait_s: float | None = None) -> None:
        """Wait until a request of `weight` may be sent.

        Raises `BudgetExhausted` at once (nothing debited) when the wait would
        exceed `max_wait_s`: a hedge would rather go to another venue than sit
        out a ban. A pause that starts while this caller waits is honoured too.
        """
        now = self._clock()
        ready = self.reserve(weight, now)
        if max_wait_s is not None and ready - now > max_wait_s:
            self.refund(weight, now)
            raise BudgetExhausted(ready - now)
        started = now
        while True:
            wait = max(ready, self._resume_at) - now
            if wait <= 0:
                break
            if max_wait_s is not None and now + wait - started > max_wait_s:
                raise BudgetExhausted(wait)  # a pause arrived meanwhile; the debit stays spent
            await self._sleep(wait)
            now = self._clock()
        if now > started:
            self.stats.waits += 1
            self.stats.waited_s += now - started


def books_due(
    fetched_at: dict[str, float],
    symbols: list[str],
    *,
    interval_s: float,
    book_weight: float,
    limit_per_minute: float,
    share: float,
) -> list[str]:
    """The books to fetch this poll cycle: as many as `share` of the venue's weight budget
    pays for in one `interval_s`, oldest first (never fetched before anything), at least one.

    Polling every book every cycle regardless would queue book requests ahead of the
    hedge orders on the same budget and leave books older than when they were asked for
    once a venue lists many symbols; pacing keeps the rest of the budget for orders and
    balances and spreads the ages evenly.
    """
    affordable = int(limit_per_minute / 60.0 * share * interval_s / max(book_weight, 1e-9))
    n = max(1, min(len(symbols), affordable))
    return sorted(symbols, key=lambda s: fetched_at.get(s, float("-inf")))[:n]
