"""`CcxtVenue.execute` against a scripted ccxt client: Retry-After, backoff, look-ups.

The client raises the exceptions ccxt raises and sets `last_response_headers`
the way ccxt does just before raising; the venue's budget runs on a fake clock.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from engine.types import ChildOrder, MarketSpec, Side
from engine.venues.ccxt_venue import CcxtVenue, backoff_s
from engine.venues.errors import BadSymbol, Banned, RateLimited, classify
from engine.venues.rate_limit import WeightBudget


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


FILLED = {
    "id": "77",
    "status": "closed",
    "filled": 0.01,
    "info": {
        "orderId": 77,
        "transactTime": 1,
        "fills": [
            {"price": "65000.10", "qty": "0.01000", "commission": "0.26", "tradeId": 9},
        ],
    },
}


class ScriptedClient:
    """Answers each call from a script: an exception (with headers) or a response."""

    def __init__(self, creates: list[Any], lookups: list[Any] | None = None) -> None:
        self.creates = list(creates)
        self.lookups = list(lookups or [])
        self.sent: list[tuple[Any, ...]] = []
        self.looked_up: list[dict[str, Any]] = []
        self.last_response_headers: dict[str, str] = {}
        self.precisionMode = ccxt.TICK_SIZE

    def _answer(self, step: Any) -> Any:
        if isinstance(step, tuple):  # (exception, headers)
            exc, headers = step
            self.last_response_headers = headers
            raise exc
        self.last_response_headers = {"X-MBX-USED-WEIGHT-1M": "10"}
        return step

    async def create_order(self, *args: Any) -> Any:
        self.sent.append(args)
        return self._answer(self.creates.pop(0))

    async def fetch_order(self, order_id: str, symbol: str, params: dict[str, Any]) -> Any:
        self.looked_up.append(params)
        return self._answer(self.lookups.pop(0))

    async def fetch_my_trades(self, symbol: str, params: dict[str, Any]) -> Any:
        return [{"info": f} for f in FILLED["info"]["fills"]]  # type: ignore[index]

    async def fetch_balance(self) -> Any:
        raise AssertionError("a request was sent during the venue's pause")

    async def close(self) -> None:
        return None


def venue(client: ScriptedClient, **kwargs: Any) -> tuple[CcxtVenue, FakeClock]:
    clock = FakeClock()
    budget = WeightBudget(limit_per_minute=6_000, clock=clock, sleep=clock.sleep)
    v = CcxtVenue(
        "binance-x", "binance", ["BTC/USDT"], budget=budget, rng=random.Random(3), **kwargs
    )
    v.client = client
    v.specs["BTC/USDT"] = MarketSpec(
        "BTC/USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5")
    )
    return v, clock


ORDER = ChildOrder("h1", "mm-h1-0", "binance-x", "BTC/USDT", Side.BUY, 0.01, 65100.0)


def test_a_429_is_waited_out_for_its_retry_after_then_resent_with_the_same_id():
    client = ScriptedClient(
        [(ccxt.DDoSProtection("binance 429 -1003"), {"Retry-After": "3"}), FILLED]
    )
    v, clock = venue(client)
    result = asyncio.run(v.execute(ORDER))
    assert result.status == "filled" and result.filled == Decimal("0.01")
    assert clock.slept == [pytest.approx(3.0)]
    assert [s[-1]["clientOrderId"] for s in client.sent] == ["mm-h1-0", "mm-h1-0"]
    assert v.budget.stats.pauses == 1


def test_a_418_ban_longer_than_the_wait_allowed_is_rejected_unsent_and_pauses_the_venue():
    client = ScriptedClient(
        [(ccxt.DDoSProtection("binance 418 IP banned until 1"), {"retry-after": "600"})]
    )
    v, clock = venue(client, max_wait_s=10)
    result = asyncio.run(v.execute(ORDER))
    assert result.status == "rejected" and "not sent" in result.reason
    assert len(client.sent) == 1 and clock.slept == []
    assert v.budget.paused_until() == pytest.approx(600.0)
    with pytest.raises(RateLimited):  # every other call of the venue fails fast meanwhile
        asyncio.run(v.fetch_balances())


def test_retry_after_reaches_the_error_class():
    err = classify(
        ccxt.DDoSProtection("binance 418 banned"), "v", "create_order", retry_after_s=120.0
    )
    assert type(err) is Banned and err.retry_after_s == 120.0


def test_a_timeout_is_looked_up_by_client_id_and_never_resent_when_found():
    client = ScriptedClient(
        [(ccxt.RequestTimeout("timed out"), {})],
        lookups=[{"id": "77", "status": "closed", "filled": 0.01, "timestamp": 1}],
    )
    v, _ = venue(client)
    result = asyncio.run(v.execute(ORDER))
    assert result.status == "filled" and "looked up" in result.reason
    assert len(client.sent) == 1
    assert client.looked_up == [{"origClientOrderId": "mm-h1-0"}]
    assert [e.trade_id for e in result.executions] == ["9"]


def test_a_timeout_the_venue_never_saw_is_resent_with_the_same_id():
    client = ScriptedClient(
        [(ccxt.RequestTimeout("timed out"), {}), FILLED],
        lookups=[(ccxt.OrderNotFound("binance -2013 Order does not exist."), {})],
    )
    v, _ = venue(client)
    result = asyncio.run(v.execute(ORDER))
    assert result.status == "filled"
    assert [s[-1]["clientOrderId"] for s in client.sent] == ["mm-h1-0", "mm-h1-0"]


def test_when_the_look_up_never_answers_the_child_is_unknown_and_not_resent():
    timeouts = [(ccxt.RequestTimeout("timed out"), {}) for _ in range(3)]
    client = ScriptedClient([(ccxt.RequestTimeout("timed out"), {})], lookups=timeouts)
    v, _ = venue(client, lookup_attempts=3)
    result = asyncio.run(v.execute(ORDER))
    assert result.status == "unknown" and "undetermined" in result.reason
    assert len(client.sent) == 1


def test_a_duplicate_id_reject_means_already_there():
    client = ScriptedClient(
        [(ccxt.InvalidOrder("binance -2010 Duplicate order sent."), {})],
        lookups=[{"id": "77", "status": "closed", "filled": 0.01, "timestamp": 1}],
    )
    v, _ = venue(client)
    result = asyncio.run(v.execute(ORDER))
    assert result.status == "filled" and len(client.sent) == 1


def test_retryable_failures_back_off_exponentially_with_jitter():
    down = [(ccxt.InvalidNonce("binance -1021"), {}) for _ in range(3)]
    client = ScriptedClient([*down, FILLED])
    v, clock = venue(client)
    assert asyncio.run(v.execute(ORDER)).status == "filled"
    assert len(clock.slept) == 3
    for attempt, slept in enumerate(clock.slept):
        step = min(2.0, 0.1 * 2**attempt)
        assert step / 2 <= slept <= step
    rng = random.Random(1)
    draws = {round(backoff_s(2, rng), 6) for _ in range(20)}
    assert len(draws) > 1  # jitter: callers that failed together do not retry together


def test_a_rejected_order_is_final_and_not_retried():
    client = ScriptedClient([(ccxt.InsufficientFunds("binance -2010 insufficient balance"), {})])
    v, _ = venue(client)
    result = asyncio.run(v.execute(ORDER))
    assert result.status == "rejected" and "InsufficientFunds" in result.reason
    assert len(client.sent) == 1


def test_a_child_below_the_venue_minimum_is_rejected_with_a_reason_before_sending():
    client = ScriptedClient([])
    v, _ = venue(client)
    tiny = ChildOrder("h2", "mm-h2-0", "binance-x", "BTC/USDT", Side.SELL, 0.00005, 65000.0)
    result = asyncio.run(v.execute(tiny))
    assert result.status == "rejected" and result.executions == ()
    assert result.reason.startswith("notional 3.25") and "below venue minimum 5" in result.reason
    assert client.sent == []


def test_the_venues_weight_header_feeds_the_shared_budget():
    client = ScriptedClient([FILLED])
    client.last_response_headers = {}
    v, clock = venue(client)

    async def go() -> None:
        await v.execute(ORDER)

    asyncio.run(go())
    # FILLED answers with X-MBX-USED-WEIGHT-1M: 10 -> at most 5990 left
    assert v.budget.tokens(clock()) <= 5_990
    # and the weight spent is told by call, so order entry reads apart from market data
    assert v.budget.stats.by_operation == {"create_order": 1.0}
    assert v.budget.stats.weight == 1.0


def test_hollaex_429_and_unknown_symbol_are_read_from_the_venues_text():
    # ccxt.hollaex raises BadRequest for both; the venue's message says what happened
    limited = classify(ccxt.BadRequest('hollaex {"message":"Too many requests"}'), "home", "op")
    assert type(limited) is RateLimited
    symbol = classify(ccxt.BadRequest('hollaex {"message":"Invalid symbol"}'), "home", "op")
    assert type(symbol) is BadSymbol
