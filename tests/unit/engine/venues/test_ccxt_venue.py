import asyncio
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from engine.types import ChildOrder, MarketSpec, Side
from engine.venues.ccxt_venue import CcxtVenue, point_api_urls, quantize
from engine.venues.errors import (
    AuthenticationFailed,
    BadSymbol,
    InsufficientFunds,
    InvalidOrder,
    RateLimited,
    UnknownOutcome,
    VenueRetryable,
    classify,
)


def test_quantize_directions():
    assert quantize(Decimal("1.23456"), Decimal("0.001"), ROUND_FLOOR) == Decimal("1.234")
    assert quantize(Decimal("1.23401"), Decimal("0.001"), ROUND_CEILING) == Decimal("1.235")


def test_every_api_url_is_rewritten_onto_loopback():
    urls = ccxt.binance().urls["api"]
    out = point_api_urls(urls, "http://127.0.0.1:9999")
    flat = [v for v in out.values() if isinstance(v, str)]
    assert flat and all(u.startswith("http://127.0.0.1:9999/") for u in flat)
    assert out["public"] == "http://127.0.0.1:9999/api/v3"


@pytest.mark.parametrize(
    ("exc", "sent", "expected"),
    [
        (ccxt.InsufficientFunds("x"), True, InsufficientFunds),
        (ccxt.InvalidOrder("x"), True, InvalidOrder),
        (ccxt.BadSymbol("x"), False, BadSymbol),
        (ccxt.AuthenticationError("x"), False, AuthenticationFailed),
        (ccxt.RateLimitExceeded("x"), True, RateLimited),
        (ccxt.DDoSProtection("x"), True, RateLimited),
        (ccxt.RequestTimeout("x"), True, UnknownOutcome),
        (ccxt.RequestTimeout("x"), False, VenueRetryable),
        (ccxt.NetworkError("x"), True, UnknownOutcome),
    ],
)
def test_ccxt_errors_map_to_rejected_retryable_or_unknown(exc, sent, expected):
    err = classify(exc, "v1", "create_order", sent=sent)
    assert type(err) is expected
    assert str(err).startswith("v1: create_order: ")


def test_prepare_rounds_to_grid_and_refuses_below_minimum():
    venue = CcxtVenue("v1", "binance", ["BTC/USDT"])
    venue.specs["BTC/USDT"] = MarketSpec(
        "BTC/USDT", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), Decimal("10")
    )
    buy = ChildOrder("h", "c", "v1", "BTC/USDT", Side.BUY, 0.12345, 65000.19)
    assert venue.prepare(buy) == (Decimal("0.123"), Decimal("65000.1"))
    sell = ChildOrder("h", "c", "v1", "BTC/USDT", Side.SELL, 0.12345, 65000.11)
    assert venue.prepare(sell) == (Decimal("0.123"), Decimal("65000.2"))
    tiny = ChildOrder("h", "c", "v1", "BTC/USDT", Side.BUY, 0.0001, 65000.0)
    assert "below venue minimum" in venue.prepare(tiny)
    other = ChildOrder("h", "c", "v1", "ETH/USDT", Side.BUY, 1, 3000.0)
    assert "unknown symbol" in venue.prepare(other)


def test_unknown_exchange_id_is_a_clear_error():
    with pytest.raises(ValueError, match="ccxt has no exchange 'nosuchx'"):
        CcxtVenue("v1", "nosuchx", ["BTC/USDT"])


def test_the_weight_budget_is_the_clients_only_rate_limiter():
    """ccxt's leaky bucket refills only while requests queue, never while the client is
    idle: left on, it held every isolated hedge order 10 ms (a Binance order's cost of
    0.2 x `rateLimit` 50 ms) and the order after a balance read 200 ms. The budget
    credits idle time; ccxt's throttle is off, and each request still draws on it."""

    def requests_through_ccxt(client) -> list:
        throttled: list = []

        async def throttle(cost=None):  # what ccxt awaits before a request when it limits
            throttled.append(cost)

        async def fetch(url, method="GET", headers=None, body=None):  # no network
            return {}

        client.throttle, client.fetch = throttle, fetch

        async def three():
            for _ in range(3):
                await client.public_get_ping()

        asyncio.run(three())
        return throttled

    venue = CcxtVenue("v1", "binance", ["BTC/USDT"])
    assert venue.client.enableRateLimit is False
    assert requests_through_ccxt(venue.client) == []
    assert len(requests_through_ccxt(ccxt_async.binance({"enableRateLimit": True}))) == 3

    async def answer():
        return {}

    async def balance_then_orders():
        for operation in ("fetch_balance", "create_order", "create_order"):
            await venue._request(operation, answer)

    asyncio.run(balance_then_orders())
    stats = venue.budget.stats
    assert stats.requests == 3 and stats.waits == 0 and stats.waited_s == 0
    assert stats.by_operation["fetch_balance"] > stats.by_operation["create_order"] / 2 > 0
