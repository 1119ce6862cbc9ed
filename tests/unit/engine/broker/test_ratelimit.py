"""engine/broker/ratelimit.py: a burst, then one request per 1/per_s, per client."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.broker.ratelimit import KeyedRateLimits, TokenBucket

S = 10**9


def test_a_burst_then_the_refill_rate():
    bucket = TokenBucket(per_s=2, burst=3)
    assert [bucket.take(0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0) == pytest.approx(0.5)  # one token in 1/per_s
    assert bucket.take(S // 4) == pytest.approx(0.25)
    assert bucket.take(S // 2) == 0.0
    assert bucket.take(100 * S) == 0.0  # refilled, but never above the burst
    assert sum(bucket.take(100 * S) == 0.0 for _ in range(10)) == 2


def test_a_clock_going_back_does_not_mint_tokens():
    bucket = TokenBucket(per_s=1, burst=1)
    assert bucket.take(10 * S) == 0.0
    assert bucket.take(5 * S) > 0 and bucket.take(10 * S) > 0


def test_clients_have_their_own_buckets_and_a_new_limit_applies():
    limits = KeyedRateLimits()
    assert [limits.take("acme", 1, 2, 0) for _ in range(3)][-1] > 0
    assert limits.take("globex", 1, 2, 0) == 0.0  # acme's burst is not globex's
    assert limits.take("acme", 1, 5, 0) == 0.0  # raised limit: a fresh bucket


@given(times=st.lists(st.integers(0, 10 * S), max_size=200), burst=st.integers(1, 20))
def test_never_more_than_burst_plus_rate_times_elapsed(times, burst):
    bucket = TokenBucket(per_s=3, burst=burst)
    times = sorted(times)
    allowed = sum(bucket.take(t) == 0.0 for t in times)
    if times:
        assert allowed <= burst + 3 * (times[-1] - times[0]) / S + 1e-9
