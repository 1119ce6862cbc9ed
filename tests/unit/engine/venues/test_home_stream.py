"""Home fills pushed over HollaEx's /stream into `CcxtHomeVenue`: each exactly once.

venue-sim in-process on 127.0.0.1 (wall clock, no synthetic takers); a second
account's market orders hit our resting quote, so every fill is known. The
stream is dropped every 0.7 s by the seeded stream faults and the client
reconnects; what was pushed while down is read over REST once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from engine.config import FaultConfig, FaultsFileConfig
from engine.sim.server import SimCredentials, VenueSimServer
from engine.types import Side
from engine.venues.ccxt_home import CcxtHomeVenue
from tests.integration.test_stream_contract import (
    CONFIG,
    KEY,
    SECRET,
    TAKER_KEY,
    TAKER_SECRET,
    pro,
)

pytestmark = pytest.mark.timeout(90)
BTC = CONFIG.market("BTC/USDT")


@contextlib.asynccontextmanager
async def home_with_faults(faults: FaultConfig) -> AsyncIterator[tuple[VenueSimServer, str]]:
    server = VenueSimServer(
        CONFIG,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        run_takers=False,
        faults=FaultsFileConfig(seed=5, venues={"home": faults}),
    )
    try:
        yield server, next(v.url for v in await server.start() if v.venue_id == "home")
    finally:
        await server.stop()


async def collect(venue: CcxtHomeVenue, until: float) -> list[Any]:
    fills = []
    while time.monotonic() < until:
        fills += await venue.poll_fills(time.time_ns())
        await asyncio.sleep(0.01)
    return fills


def test_fills_over_a_stream_dropped_every_second_are_delivered_once_each():
    """120 fills (some identical in content) while the stream drops every 0.7 s: the
    fills delivered are exactly the venue's trades, none lost, none doubled."""

    async def scenario() -> None:
        faults = FaultConfig(stream_disconnect_every_s=0.7)
        async with (
            home_with_faults(faults) as (server, url),
            pro("hollaex", url, TAKER_KEY, TAKER_SECRET) as taker,
        ):
            server.home("home").credit(TAKER_KEY, "USDT", Decimal(10_000_000))
            venue = CcxtHomeVenue(
                CONFIG.home_venue,
                BTC,
                session="s1",
                base_url=url,
                api_key=KEY,
                api_secret=SECRET,
                enable_rate_limit=False,
            )
            await venue.start(time.time_ns())
            try:
                (quote,) = await venue.place([(Side.SELL, Decimal("65000"), Decimal("5"))], 0)
                poller = asyncio.ensure_future(collect(venue, time.monotonic() + 5))
                for i in range(120):
                    amount = 0.001 if i % 3 else 0.002  # repeats of equal content
                    await taker.create_order("BTC/USDT", "market", "buy", amount)
                    await asyncio.sleep(0.03)
                fills = await poller
                fills += await venue.poll_fills(time.time_ns())
                trades = server.home("home").trades(KEY, "BTC/USDT")
                assert len(fills) == len(trades) == 120  # none lost, none doubled
                assert len({f.fill_id for f in fills}) == 120
                assert sorted(f.amount for f in fills) == sorted(t.size for t in trades)
                assert all(f.order_id == quote for f in fills)
                status = venue.stream_status()
                assert status["reconnects"] >= 3 and status["epoch"] >= 4
                # most fills booked straight from their push, no REST round trip
                assert status["reads"]["booked_from_push"] >= 60
            finally:
                await venue.close()

    asyncio.run(scenario())
