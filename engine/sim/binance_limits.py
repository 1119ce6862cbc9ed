"""Binance spot rate limits: request weight per IP, order counts per account, 429 and 418.

As the venue documents them (https://developers.binance.com/docs/binance-spot-api-docs/
rest-api/limits): REQUEST_WEIGHT is counted per IP address over one minute and
reported on every answer in `X-MBX-USED-WEIGHT-1M`, 429s included; going over
answers -1003 with HTTP 429 and `Retry-After`, and "repeatedly violating rate
limits and/or failing to back off after receiving 429s will result in an
automated IP ban (HTTP status 418)". The ORDERS limits (100 per 10 s, 200,000 per
day) are counted per account; every order answer carries
`X-MBX-ORDER-COUNT-10S` and `X-MBX-ORDER-COUNT-1D`, and going over answers
-1015 with HTTP 429. `exchangeInfo.rateLimits` lists all of them.

A venue whose weight budget is raised above Binance's 6,000 (load benchmarks,
the fault suite) gets its order limits raised in the same proportion, so a
test that lifts one limit is not stopped by the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.sim.binance_wire import TooManyOrders, ms
from engine.sim.exchange import SimError

DEFAULT_WEIGHT_LIMIT_1M = 6_000
DEFAULT_ORDERS_10S = 100
DEFAULT_ORDERS_1D = 200_000
RAW_REQUESTS_5M = 61_000
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
ORDER_COUNT_10S_HEADER = "X-MBX-ORDER-COUNT-10S"
ORDER_COUNT_1D_HEADER = "X-MBX-ORDER-COUNT-1D"
_MINUTE_NS = 60_000_000_000
_TEN_S_NS = 10_000_000_000
_DAY_NS = 86_400_000_000_000


class RequestRejected(SimError):
    """Refused at the HTTP edge before the exchange saw the request."""


class TooMuchWeight(RequestRejected):
    def __init__(self, limit: int, retry_after_s: int, *, injected: bool = False) -> None:
        """`injected`: a fault-model 429, which does not count towards a 418 ban."""
        self.retry_after_s = retry_after_s
        self.injected = injected
        super().__init__(
            f"Too much request weight used; current limit is {limit} request weight per "
            "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
        )


class IpBanned(RequestRejected):
    def __init__(self, until_ms: int, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"Way too much request weight used; IP banned until {until_ms}. "
            "Please use WebSocket Streams for live updates to avoid bans."
        )


def _ceil_s(ns: int) -> int:
    return max(1, -(-ns // 1_000_000_000))


@dataclass(slots=True)
class _Window:
    """Counts per key in the current fixed window of `length_ns`."""

    length_ns: int
    index: int = -1
    counts: dict[str, int] | None = None

    def add(self, key: str, n: int, now_ns: int) -> int:
        index = now_ns // self.length_ns
        if index != self.index or self.counts is None:
            self.index, self.counts = index, {}
        count = self.counts.get(key, 0) + n
        self.counts[key] = count
        return count

    def count(self, key: str, now_ns: int) -> int:
        if self.counts is None or now_ns // self.length_ns != self.index:
            return 0
        return self.counts.get(key, 0)

    def retry_after_s(self, now_ns: int) -> int:
        return _ceil_s((now_ns // self.length_ns + 1) * self.length_ns - now_ns)


class BinanceRateLimits:
    """REQUEST_WEIGHT per IP, ORDERS per account, and the 418 ban after repeated 429s."""

    def __init__(self, weight_limit_1m: int, *, ban_after_429s: int, ban_s: int) -> None:
        scale = max(1, weight_limit_1m // DEFAULT_WEIGHT_LIMIT_1M)
        self.weight_limit_1m = weight_limit_1m
        self.orders_10s = DEFAULT_ORDERS_10S * scale
        self.orders_1d = DEFAULT_ORDERS_1D * scale
        self._ban_after_429s = ban_after_429s
        self._ban_ns = ban_s * 1_000_000_000
        self._weight = _Window(_MINUTE_NS)
        self._rejections = _Window(_MINUTE_NS)  # 429s answered per IP this minute
        self._orders_10s = _Window(_TEN_S_NS)
        self._orders_1d = _Window(_DAY_NS)
        self._banned_until_ns: dict[str, int] = {}

    def check_ban(self, ip: str, now_ns: int) -> None:
        until_ns = self._banned_until_ns.get(ip)
        if until_ns is None:
            return
        if now_ns >= until_ns:
            del self._banned_until_ns[ip]
            return
        raise IpBanned(ms(until_ns), _ceil_s(until_ns - now_ns))

    def charge(self, ip: str, weight: int, now_ns: int, headers: dict[str, str]) -> None:
        """Add `weight` to the IP's minute; the header is set even when this answers 429."""
        used = self._weight.add(ip, weight, now_ns)
        headers[WEIGHT_HEADER] = str(used)
        if weight > 0 and used > self.weight_limit_1m:  # weightless paths always answer
            raise TooMuchWeight(self.weight_limit_1m, self._weight.retry_after_s(now_ns))

    def injected_429(self, now_ns: int) -> TooMuchWeight:
        """A fault model's 429: Retry-After to the minute's end, at most 5 s."""
        return TooMuchWeight(
            self.weight_limit_1m, min(self._weight.retry_after_s(now_ns), 5), injected=True
        )

    def count_429(self, ip: str, now_ns: int) -> None:
        """One more 429 for `ip` this minute; past the allowance, ban it (HTTP 418)."""
        if self._rejections.add(ip, 1, now_ns) >= self._ban_after_429s:
            self._banned_until_ns[ip] = now_ns + self._ban_ns
            self._rejections.add(ip, -self._rejections.count(ip, now_ns), now_ns)

    def count_order(self, account: str, now_ns: int, headers: dict[str, str]) -> None:
        """One more order of `account`; -1015 (HTTP 429) past either ORDERS limit."""
        in_10s = self._orders_10s.add(account, 1, now_ns)
        in_1d = self._orders_1d.add(account, 1, now_ns)
        headers[ORDER_COUNT_10S_HEADER] = str(in_10s)
        headers[ORDER_COUNT_1D_HEADER] = str(in_1d)
        if in_10s > self.orders_10s:
            raise TooManyOrders(
                self.orders_10s, "10 SECOND", self._orders_10s.retry_after_s(now_ns)
            )
        if in_1d > self.orders_1d:
            raise TooManyOrders(self.orders_1d, "1 DAY", self._orders_1d.retry_after_s(now_ns))

    def order_counts(self, account: str, now_ns: int) -> list[dict[str, Any]]:
        """`GET /api/v3/rateLimit/order`: the account's ORDERS limits and their counts."""
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": self.orders_10s,
                "count": self._orders_10s.count(account, now_ns),
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "DAY",
                "intervalNum": 1,
                "limit": self.orders_1d,
                "count": self._orders_1d.count(account, now_ns),
            },
        ]

    def exchange_info(self) -> list[dict[str, Any]]:
        """`exchangeInfo.rateLimits`, as the real venue lists them."""
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.weight_limit_1m,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": self.orders_10s,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "DAY",
                "intervalNum": 1,
                "limit": self.orders_1d,
            },
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": RAW_REQUESTS_5M,
            },
        ]
