"""The in-process home venue trades a cross (ETH/BTC) at the cross's price, not ETH's."""

from __future__ import annotations

import asyncio
import statistics

import yaml

from engine.config import load_config, market_definitions
from engine.quoting import QuoteContext, build_policy, round_quotes
from engine.sim.price import ReferencePrice
from engine.venues.sim_venue import HomeSimVenue
from tests.conftest import LOCAL_CONFIG, REPO

S = 10**9
T0 = 1_750_000_000 * S


def test_takers_hit_a_cross_market_quoted_around_its_own_mid():
    cfg = load_config(LOCAL_CONFIG)
    (market,) = market_definitions(
        yaml.safe_load((REPO / "configs" / "markets" / "eth-btc.yaml").read_text()), "eth-btc"
    )
    market = market.model_copy(
        update={"taker_flow": market.taker_flow.model_copy(update={"rate_per_s": 20.0})}
    )
    reference = ReferencePrice(cfg.sim.assets, seed=3, step_ms=cfg.sim.step_ms, start_ns=T0)
    venue = HomeSimVenue(cfg.home_venue, market, reference, seed=3, session="s")
    policy = build_policy(market)

    async def scenario() -> list:
        await venue.poll_fills(T0)
        fills = []
        for tick in range(1, 101):
            now = T0 + tick * S // 10
            if tick % 10 == 1:
                mid = reference.symbol_price(market.symbol, now)
                ctx = QuoteContext(ts_ns=now, mid=mid, inventory=0.0, market=market)
                await venue.cancel_all(now)
                await venue.place(round_quotes(policy.desired_quotes(ctx), venue.spec), now)
            fills += await venue.poll_fills(now)
        return fills

    fills = asyncio.run(scenario())
    assert len(fills) > 20
    mid = reference.symbol_price("ETH/BTC", T0)
    assert all(abs(float(f.price) / mid - 1) < 0.01 for f in fills)  # around 0.049, not 3200
    # ETH amounts from ~0.01 BTC notionals: ~0.2 ETH (it was ~3e-6 when priced off ETH/USDT)
    assert 0.05 < statistics.median(float(f.amount) for f in fills) < 1.0
