"""The backtest's venue trades exactly like the live home venue on the same seed."""

from __future__ import annotations

import asyncio

from engine.backtest import HomeBook, SimulatedFeed
from engine.config import load_config
from engine.quoting import QuoteContext, build_policy, round_quotes
from engine.sim.price import ReferencePrice
from engine.sim.takers import TakerFlow
from engine.venues.sim_venue import HomeSimVenue
from tests.conftest import LOCAL_CONFIG

S = 10**9
T0 = 1_750_000_000 * S


def test_fills_quotes_and_trades_equal_the_live_home_venue_fill_for_fill():
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("ETH/USDT").model_copy(
        update={
            "taker_flow": cfg.market("ETH/USDT").taker_flow.model_copy(
                update={"rate_per_s": 20.0, "informed_share": 0.5}
            ),
            "user_makers": cfg.market("ETH/USDT").user_makers.model_copy(
                update={"depth_quote": 30_000.0, "refresh_s": 2.0}
            ),
        }
    )
    reference = ReferencePrice(cfg.sim.assets, seed=3, step_ms=cfg.sim.step_ms, start_ns=T0)
    live = HomeSimVenue(cfg.home_venue, market, reference, seed=3, session="s")
    venue = HomeBook(cfg.home_venue, market, seed=3, session="s")
    feed = SimulatedFeed(
        reference,
        market.symbol,
        TakerFlow(market.taker_flow, seed=3, symbol=market.symbol),
        start_ns=T0,
        end_ns=T0 + 60 * S,
        step_ms=cfg.sim.step_ms,
    )
    policy = build_policy(market)

    async def live_poll(now: int):
        return await live.poll_fills(now)

    asyncio.run(live_poll(T0))  # the live venue's first poll only starts its clock
    since = T0
    n_fills = 0
    for tick in range(1, 300):
        now = T0 + tick * S // 10
        if tick % 10 == 1:  # requote both books the same way
            mid = reference.price(market.base, now)
            quotes = round_quotes(
                policy.desired_quotes(
                    QuoteContext(ts_ns=now, mid=mid, inventory=0.0, market=market)
                ),
                venue.spec,
            )
            asyncio.run(live.cancel_all(now))
            venue.cancel_all()
            assert asyncio.run(live.place(quotes, now)) == venue.place(quotes, now)
        expected = asyncio.run(live_poll(now))
        if venue.users_due(now):
            venue.refresh_users(now, reference.price(market.base, now))
        got = venue.execute(feed.takers(since, now, venue.home_mid()))
        since = now
        assert got == expected
        assert venue.open_quotes() == asyncio.run(live.open_quotes())
        assert venue.trades == live.take_trades()
        venue.trades.clear()
        assert venue.bot_levels() == live.bot_levels()
        n_fills += len(got)
    assert n_fills > 20  # the comparison saw real trading, on the bot and on users
