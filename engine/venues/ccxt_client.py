"""The one ccxt client module: building a client, pointing its URLs, retrying a call.

Split out of `engine/venues/ccxt_venue.py` and `engine/venues/ccxt_home.py` (issue 12):
both venues build their unmodified ccxt async client with `ccxt_client`, read market
grids with `market_spec`, and back off with `backoff_s` (streams too); `retrying` is
the retry loop of the home venue's calls outside the quoting cycle. The hedge venue's
order path keeps its own attempts: they interleave look-ups by client id (idempotency)
and draw on its `WeightBudget`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
import ccxt.async_support as ccxt_async

from engine.ccxt_urls import point_api_urls
from engine.types import MarketSpec
from engine.venues.errors import VenueError, VenueRetryable, classify

_T = TypeVar("_T")


def ccxt_client(
    venue_id: str,
    exchange_id: str,
    *,
    timeout_s: float,
    enable_rate_limit: bool = True,
    api_key: str | None = None,
    api_secret: str | None = None,
    base_url: str | None = None,
    options: dict[str, Any] | None = None,
) -> Any:
    """An unmodified ccxt async client of `exchange_id`, its API URLs on `base_url`."""
    if not hasattr(ccxt_async, exchange_id):
        raise ValueError(f"venue {venue_id}: ccxt has no exchange {exchange_id!r}")
    params: dict[str, Any] = {
        "enableRateLimit": enable_rate_limit,
        "timeout": int(timeout_s * 1000),
    }
    if options is not None:
        params["options"] = options
    if api_key:
        params["apiKey"] = api_key
    if api_secret:
        params["secret"] = api_secret
    client = getattr(ccxt_async, exchange_id)(params)
    if base_url:
        client.urls["api"] = point_api_urls(client.urls["api"], base_url)
    return client


def market_spec(market: dict[str, Any], precision_mode: int) -> MarketSpec:
    """The rounding grid and minimums of a ccxt market (ticks or decimal places)."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}

    def step(p: Any) -> Decimal:
        if p is None:
            return Decimal(0)
        if precision_mode == ccxt.TICK_SIZE:
            return Decimal(str(p))
        return Decimal(1).scaleb(-int(p))

    return MarketSpec(
        symbol=market["symbol"],
        tick_size=step(precision.get("price")),
        lot_size=step(precision.get("amount")),
        min_amount=Decimal(str((limits.get("amount") or {}).get("min") or 0)),
        min_notional=Decimal(str((limits.get("cost") or {}).get("min") or 0)),
    )


def quantize(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Round `value` onto the grid of `step` (a tick or a lot)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def backoff_s(
    attempt: int, rng: random.Random, *, base_s: float = 0.1, cap_s: float = 2.0
) -> float:
    """Exponential backoff with equal jitter: half of the step fixed, half random."""
    step = min(cap_s, base_s * 2**attempt)
    return step / 2 + rng.uniform(0, step / 2)


async def retrying(
    call: Callable[[], Awaitable[_T]], venue_id: str, operation: str, attempts: int = 5
) -> _T:
    """`call()`, again after a retryable venue error (honouring Retry-After), `attempts` times.

    Any other exception is classified and raised at once: rejected means rejected.
    """
    for attempt in range(attempts):
        try:
            return await call()
        except VenueRetryable as err:
            if attempt + 1 == attempts:
                raise
            await asyncio.sleep(err.retry_after_s or min(2.0, 0.2 * 2**attempt))
        except VenueError:
            raise
        except Exception as exc:
            ours = classify(exc, venue_id, operation)
            if not isinstance(ours, VenueRetryable) or attempt + 1 == attempts:
                raise ours from None
            await asyncio.sleep(ours.retry_after_s or min(2.0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")
