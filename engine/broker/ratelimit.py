"""Token buckets: how many RFQ requests a client (or the whole broker) may make.

A bucket holds at most `burst` tokens and refills at `per_s` tokens a second;
a request takes one token or is refused with the time until one is there
(the HTTP `Retry-After`). Exchanges publish their limits the same way
(Binance: request weight per minute; HollaEx: requests per second per key).
Pure: `now_ns` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NS_PER_S = 1_000_000_000


@dataclass(slots=True)
class TokenBucket:
    per_s: float
    burst: float
    tokens: float = field(init=False)
    last_ns: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not (self.per_s > 0 and self.burst >= 1):
            raise ValueError(f"token bucket needs per_s > 0 and burst >= 1, got {self}")
        self.tokens = self.burst

    def _refill(self, now_ns: int) -> None:
        if self.last_ns is not None and now_ns > self.last_ns:
            self.tokens = min(
                self.burst, self.tokens + (now_ns - self.last_ns) / NS_PER_S * self.per_s
            )
        if self.last_ns is None or now_ns > self.last_ns:
            self.last_ns = now_ns

    def take(self, now_ns: int) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        self._refill(now_ns)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_s

    def empty(self, now_ns: int) -> bool:
        """True when a `take` now would be refused (takes nothing)."""
        self._refill(now_ns)
        return self.tokens < 1


class KeyedRateLimits:
    """One bucket per authenticated client, created on its first request.

    Only authenticated clients get a bucket, so the map is bounded by the
    configured clients; `limits` gives each client's (per_s, burst).
    """

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, client: str, per_s: float, burst: float, now_ns: int) -> float:
        bucket = self._buckets.get(client)
        if bucket is None or (bucket.per_s, bucket.burst) != (per_s, burst):
            bucket = self._buckets[client] = TokenBucket(per_s, burst)  # a new limit applies
        return bucket.take(now_ns)
