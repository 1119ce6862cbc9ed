"""`CcxtHomeVenue` against venue-sim's HollaEx home venue, in-process on 127.0.0.1.

The venues' clock is frozen, so every trade of a scenario lands in the same
millisecond: the harshest case for fills that carry no trade id. Takers are a
second account sending market orders, so every fill is known in advance.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from engine.config import AppConfig
from engine.sim.server import SimCredentials, VenueSimServer
from engine.types import Liquidity, Side
from engine.venues.ccxt_home import CcxtHomeVenue, fetch_home_balances
from engine.venues.errors import AuthenticationFailed
from tests.integration.test_hollaex_dialect import (
    CONFIG,
    KEY,
    KEY2,
    SECRET,
    SECRET2,
    FrozenClock,
    hollaex,
    home_venue,
)

pytestmark = pytest.mark.timeout(60)
BTC = CONFIG.market("BTC/USDT")
SESSION = "run1"
D = Decimal


@contextlib.asynccontextmanager
async def home_served(
    config: AppConfig = CONFIG, clock: FrozenClock | None = None
) -> AsyncIterator[str]:
    """venue-sim's HollaEx home venue on a frozen clock (`clock`: one the caller moves),
    no takers: its URL."""
    server = VenueSimServer(
        config,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        clock_ns=clock or FrozenClock(),
        run_takers=False,
    )
    try:
        yield next(v.url for v in await server.start() if v.venue_id == "home")
    finally:
        await server.stop()


def home_at(
    url: str, session: str = SESSION, config: AppConfig = CONFIG, market_data: str = "poll"
) -> CcxtHomeVenue:
    """A CcxtHomeVenue for BTC/USDT of the main account, not started, reading fills over
    REST (`market_data: poll`; the pushed path: test_ccxt_home_stream.py)."""
    return CcxtHomeVenue(
        config.home_venue.model_copy(update={"market_data": market_data}),
        BTC,
        session=session,
        base_url=url,
        api_key=KEY,
        api_secret=SECRET,
        enable_rate_limit=False,
    )


@contextlib.asynccontextmanager
async def quoting(config: AppConfig = CONFIG) -> AsyncIterator[tuple[CcxtHomeVenue, Any]]:
    """A started CcxtHomeVenue for BTC/USDT and a ccxt client of another account (the taker)."""
    async with home_served(config) as url, hollaex(url, KEY2, SECRET2) as taker:
        venue = home_at(url, config=config)
        try:
            await venue.start(now_ns=0)
            yield venue, taker
        finally:
            await venue.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_quotes_rest_post_only_on_the_grid_with_deterministic_ids_in_the_note():
    async def scenario() -> None:
        async with quoting() as (venue, taker):
            assert venue.spec.tick_size == D("0.01") and venue.spec.lot_size == D("0.00001")
            ids = await venue.place(
                [(Side.BUY, D("64000.019"), D("0.500009")), (Side.SELL, D("66000.011"), D("0.4"))],
                now_ns=0,
            )
            assert ids == [f"{SESSION}-BTC-USDT-q1", f"{SESSION}-BTC-USDT-q2"]
            book = await taker.fetch_order_book("BTC/USDT")
            assert book["bids"] == [[64000.01, 0.5]] and book["asks"] == [[66000.02, 0.4]]
            listed = await venue.client.fetch_open_orders("BTC/USDT")
            assert sorted(o["info"]["meta"]["note"] for o in listed) == ids
            assert all(o["postOnly"] for o in listed)
            assert sorted(await venue.open_quotes()) == sorted(
                [(Side.BUY, D("64000.01"), D("0.5")), (Side.SELL, D("66000.02"), D("0.4"))]
            )
            # a quote that would take is refused by the venue; the others still rest
            ids = await venue.place(
                [(Side.BUY, D("66000.02"), D("0.1")), (Side.BUY, D("63000"), D("0.1"))], 0
            )
            assert ids == [f"{SESSION}-BTC-USDT-q4"] and venue.rejected == 1
            assert venue.bot_levels() == ([(64000.01, 0.5), (63000.0, 0.1)], [(66000.02, 0.4)])

    run(scenario())


def test_fills_come_once_each_with_exact_amounts_even_when_identical():
    async def scenario() -> None:
        async with quoting() as (venue, taker):
            start = await venue.fetch_balances()
            (ask,) = await venue.place([(Side.SELL, D("65000.5"), D("0.3"))], 0)
            # two identical trades in the same millisecond, then one more
            for amount in (0.01, 0.01, 0.12345):
                await taker.create_order("BTC/USDT", "market", "buy", amount)
            fills = await venue.poll_fills(1)
            assert [f.amount for f in fills] == [D("0.01"), D("0.01"), D("0.12345")]
            assert [f.fill_id for f in fills] == [f"{ask}-f1", f"{ask}-f2", f"{ask}-f3"]
            assert all(
                f.order_id == ask
                and f.side is Side.SELL
                and f.price == D("65000.5")
                and f.venue == "home"
                and f.liquidity is Liquidity.MAKER
                and f.fee_currency == "USDT"
                for f in fills
            )
            assert await venue.poll_fills(2) == []  # nothing is returned twice
            await taker.create_order("BTC/USDT", "market", "buy", 0.01)
            (fourth,) = await venue.poll_fills(3)
            assert fourth.fill_id == f"{ask}-f4"
            assert await venue.open_quotes() == [(Side.SELL, D("65000.5"), D("0.14655"))]
            # what the ledger books from the fills is what the venue reports, to the unit
            end = await venue.fetch_balances()
            fills.append(fourth)
            sold = sum(f.amount for f in fills)
            received = sum(f.price * f.amount - f.fee for f in fills)
            assert end["BTC"] == start["BTC"] - sold
            assert end["USDT"] == start["USDT"] + received
            assert venue.take_trades() == [(f.ts_ns, 65000.5, float(f.amount)) for f in fills]

    run(scenario())


def test_maker_fees_are_booked_from_the_venue_numbers():
    async def scenario() -> None:
        home = CONFIG.home_venue.model_copy(update={"maker_fee": 0.00023})
        config = CONFIG.model_copy(
            update={"venues": [home if v.id == "home" else v for v in CONFIG.venues]}
        )
        async with quoting(config) as (venue, taker):
            start = await venue.fetch_balances()
            (bid,) = await venue.place([(Side.BUY, D("64000.01"), D("0.2"))], 0)
            await taker.create_order("BTC/USDT", "market", "sell", 0.03331)
            (fill,) = await venue.poll_fills(1)
            assert fill.order_id == bid and fill.side is Side.BUY
            # HollaEx takes the fee from the coin received: a filled bid pays BTC
            assert fill.fee_currency == "BTC"
            assert fill.fee == (D("0.03331") * D("0.00023")).quantize(D("1e-8"))
            end = await venue.fetch_balances()
            assert end["USDT"] == start["USDT"] - fill.price * fill.amount
            assert end["BTC"] == start["BTC"] + fill.amount - fill.fee

    run(scenario())


def test_cancel_all_cancels_only_our_orders_found_by_note():
    async def scenario() -> None:
        async with quoting() as (venue, _):
            await venue.place(
                [(Side.BUY, D("64000"), D("0.1")), (Side.SELL, D("66000"), D("0.1"))], 0
            )
            # an order of ours whose create answer was lost, and one of someone else
            # trading with the same key
            lost = f"{SESSION}-BTC-USDT-q9"
            await venue.client.create_order(
                "BTC/USDT", "limit", "buy", 0.1, 63000, {"meta": {"note": lost}}
            )
            await venue.client.create_order(
                "BTC/USDT", "limit", "buy", 0.1, 62000, {"meta": {"note": "desk-manual-1"}}
            )
            assert await venue.cancel_all(0) == 3
            assert await venue.open_quotes() == []
            left = await venue.client.fetch_open_orders("BTC/USDT")
            assert [o["info"]["meta"]["note"] for o in left] == ["desk-manual-1"]

    run(scenario())


def test_a_fill_of_an_order_whose_answer_was_lost_is_attributed_by_its_note():
    async def scenario() -> None:
        async with quoting() as (venue, taker):
            lost = f"{SESSION}-BTC-USDT-q7"
            await venue.client.create_order(
                "BTC/USDT", "limit", "sell", 0.1, 65500, {"meta": {"note": lost}}
            )
            await taker.create_order("BTC/USDT", "market", "buy", 0.04)
            (fill,) = await venue.poll_fills(1)
            assert fill.order_id == lost and fill.fill_id == f"{lost}-f1"

    run(scenario())


def test_a_venue_outage_skips_the_cycle_and_never_stacks_quotes():
    async def scenario() -> None:
        async with quoting() as (venue, _):
            await venue.place([(Side.BUY, D("64000"), D("0.1"))], 0)
            venue.client.urls["api"] = {k: "http://127.0.0.1:9" for k in venue.client.urls["api"]}
            assert await venue.poll_fills(1) == []
            assert await venue.cancel_all(1) == 0
            assert await venue.place([(Side.BUY, D("64100"), D("0.1"))], 1) == []
            assert venue.skipped_cycles == 3
            assert any(e.startswith("cancel_all:") for e in venue.errors)
            assert "NetworkError" in venue.errors[0] or "ExchangeNotAvailable" in venue.errors[0]

    run(scenario())


def test_a_bad_key_fails_at_start_and_balances_are_exact_totals():
    async def scenario() -> None:
        async with home_venue() as (_, url):
            bad = CcxtHomeVenue(
                CONFIG.home_venue, BTC, session=SESSION, base_url=url, api_key="x", api_secret="y"
            )
            try:
                with pytest.raises(AuthenticationFailed, match="Invalid API key"):
                    await bad.start(0)
            finally:
                await bad.close()
            balances = await fetch_home_balances(
                CONFIG.home_venue, base_url=url, api_key=KEY, api_secret=SECRET
            )
            assert balances == {a: D(str(v)) for a, v in CONFIG.home_venue.balances.items()}

    run(scenario())


def test_a_poll_cancelled_half_way_hands_its_fills_over_next_time():
    async def scenario() -> None:
        async with quoting() as (venue, taker):
            (ask,) = await venue.place([(Side.SELL, D("65000"), D("0.1"))], 0)
            lost = f"{SESSION}-BTC-USDT-q8"  # its fill needs a look-up by note
            await venue.client.create_order(
                "BTC/USDT", "limit", "sell", 0.1, 65100, {"meta": {"note": lost}}
            )
            await taker.create_order("BTC/USDT", "market", "buy", 0.15)
            fetch_order = venue.client.fetch_order

            async def stopped(*_: Any, **__: Any) -> Any:  # the actor stops during the look-up
                raise asyncio.CancelledError

            venue.client.fetch_order = stopped
            with pytest.raises(asyncio.CancelledError):
                await venue.poll_fills(1)
            venue.client.fetch_order = fetch_order
            fills = await venue.poll_fills(2)
            assert [(f.order_id, f.amount) for f in fills] == [(ask, D("0.1")), (lost, D("0.05"))]
            assert await venue.poll_fills(3) == []

    run(scenario())


def test_more_than_a_page_of_trades_and_of_open_orders():
    async def scenario() -> None:
        async with quoting() as (venue, taker):
            (ask,) = await venue.place([(Side.SELL, D("65000"), D("0.01"))], 0)
            for _ in range(130):  # 130 identical trades in one millisecond: two pages
                await taker.create_order("BTC/USDT", "market", "buy", 0.00001)
            fills = await venue.poll_fills(1)
            assert len(fills) == 130 and len({f.fill_id for f in fills}) == 130
            assert fills[-1].fill_id == f"{ask}-f130"
            assert await venue.poll_fills(2) == []
            quotes = [(Side.BUY, D(60000) + i, D("0.001")) for i in range(120)]
            assert len(await venue.place(quotes, 3)) == 120
            assert await venue.cancel_all(4) == 121  # the partly filled ask too
            assert await venue.client.fetch_open_orders("BTC/USDT") == []

    run(scenario())


def test_a_new_run_cancels_the_quotes_an_earlier_run_left_and_nothing_else():
    """A run that died left quotes resting: the next run's start cancels them (nobody
    would book their fills); another session's quotes not shaped like a run id stay."""
    earlier, later = "20261130T120000ab12", "20261130T130000cd34"

    async def scenario() -> None:
        async with home_served() as url:
            first, other, second = (home_at(url, s) for s in (earlier, "desk-script", later))
            try:
                for venue, price in ((first, "64000"), (other, "63000")):
                    await venue.start(now_ns=0)
                    await venue.place([(Side.BUY, D(price), D("0.1"))], now_ns=0)
                await first.close()  # the earlier run dies without cancelling
                await second.start(now_ns=0)  # the next run of the same market starts
                async with hollaex(url, KEY, SECRET) as client:
                    resting = await client.fetch_open_orders("BTC/USDT")
                assert [float(o["price"]) for o in resting] == [63000.0]
            finally:
                for venue in (other, second):
                    await venue.close()

    run(scenario())
