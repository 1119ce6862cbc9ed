import asyncio
from decimal import Decimal

import pytest

from engine.config import AssetProcessConfig, MarketConfig, UserMakerConfig, VenueConfig
from engine.sim.makers import UserMakerFlow
from engine.sim.price import ReferencePrice
from engine.types import Side
from engine.venues.sim_venue import BOT, USERS, HomeSimVenue

S = 1_000_000_000
T0 = 1_700_000_000 * S
CFG = UserMakerConfig(
    depth_quote=20_000, levels=4, min_offset_bps=5, max_offset_bps=40, refresh_s=5
)


def test_refresh_puts_the_depth_inside_the_offsets_on_both_sides():
    orders = UserMakerFlow(CFG, seed=1, symbol="BTC/USDT").refresh(T0, 100.0)
    bids = [o for o in orders if o.side is Side.BUY]
    asks = [o for o in orders if o.side is Side.SELL]
    assert len(bids) == len(asks) == 4
    assert all(100 * (1 - 40e-4) <= o.price <= 100 * (1 - 5e-4) for o in bids)
    assert all(100 * (1 + 5e-4) <= o.price <= 100 * (1 + 40e-4) for o in asks)
    for side in (bids, asks):
        assert sum(o.price * o.amount for o in side) == pytest.approx(20_000)


def test_seeded_and_due_on_the_refresh_interval():
    a = UserMakerFlow(CFG, seed=1, symbol="BTC/USDT")
    b = UserMakerFlow(CFG, seed=1, symbol="BTC/USDT")
    assert a.due(T0)
    first = a.refresh(T0, 100.0)
    assert first == b.refresh(T0, 100.0)
    assert not a.due(T0 + 4 * S) and a.due(T0 + 5 * S)
    assert a.refresh(T0 + 5 * S, 100.0) != first  # a new book each time


def test_off_at_zero_depth():
    off = UserMakerFlow(UserMakerConfig(), seed=1, symbol="BTC/USDT")
    assert not off.enabled and not off.due(T0)
    assert off.refresh(T0, 100.0) == []


def _venue(depth_quote: float) -> HomeSimVenue:
    market = MarketConfig(
        symbol="SOL/USDT",
        user_makers={"depth_quote": depth_quote, "min_offset_bps": 5, "max_offset_bps": 40},
        taker_flow={"rate_per_s": 5.0, "mean_notional_quote": 200.0, "informed_share": 0.0},
    )
    venue = VenueConfig(id="home", kind="sim", role="home")
    reference = ReferencePrice(
        {"SOL": AssetProcessConfig(initial_price=150.0)}, seed=3, step_ms=100, start_ns=T0
    )
    return HomeSimVenue(venue, market, reference, seed=3, session="t")


def test_home_venue_rests_user_depth_that_takers_trade_against():
    venue = _venue(10_000.0)

    async def run() -> list:
        await venue.poll_fills(T0)
        await venue.place([(Side.BUY, Decimal("149.99"), Decimal("1"))], T0)
        return await venue.poll_fills(T0 + 2 * S)

    bot_fills = asyncio.run(run())
    user_orders = venue.engine.open_orders(USERS)
    assert user_orders  # users rest their own liquidity
    bid_users, ask_users = venue.user_depth_within(150.0, 100.0)
    assert 0 < bid_users <= 10_000 and 0 < ask_users <= 10_000
    # the bot's order is not counted as user depth
    assert venue.engine.depth_within(Side.BUY, 150.0, 100.0) - bid_users == pytest.approx(
        sum(float(o.price * o.remaining) for o in venue.engine.open_orders(BOT))
    )
    trades = venue.take_trades()
    assert len(trades) > len(bot_fills)  # takers also hit the users' orders
    assert venue.take_trades() == []


def test_home_venue_without_user_makers_has_no_user_depth():
    venue = _venue(0.0)
    asyncio.run(venue.poll_fills(T0))
    asyncio.run(venue.poll_fills(T0 + S))
    assert venue.engine.open_orders(USERS) == []
    assert venue.user_depth_within(150.0, 100.0) == (0.0, 0.0)
