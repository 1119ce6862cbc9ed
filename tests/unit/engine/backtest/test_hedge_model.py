"""The exact backtest's hedge venues: profile books, the all-in walk, the netting pool."""

from __future__ import annotations

import pytest

from engine.backtest.hedge_model import NettingPool, profile_book, profile_external, walk_all_in
from engine.config import load_config
from engine.types import Side
from tests.conftest import LOCAL_CONFIG

CFG = load_config(LOCAL_CONFIG)


def test_profile_book_follows_the_venue_profile():
    binance = next(v for v in CFG.hedge_venues if v.id == "binance-sim")
    book = profile_book(binance, "BTC/USDT", 65_000.0, 0)
    p = binance.book
    assert book.best_bid == pytest.approx(65_000 * (1 - p.half_spread_bps / 1e4))
    assert book.asks[1][0] == pytest.approx(
        65_000 * (1 + (p.half_spread_bps + p.level_spacing_bps) / 1e4)
    )
    assert book.asks[0][0] * book.asks[0][1] == pytest.approx(p.level_notional_quote)
    assert len(book.bids) == p.levels


def test_a_small_hedge_fills_at_the_best_all_in_venue_a_big_one_splits():
    ext = profile_external(CFG.hedge_venues, "BTC/USDT", 65_000.0, 0)
    assert ext is not None
    (small,) = walk_all_in(ext, Side.SELL, 0.1)
    assert small.venue == "binance-sim" and small.fee == pytest.approx(small.cost * 0.0004)
    big = walk_all_in(ext, Side.BUY, 20.0)
    assert len(big) > 1 and sum(leg.amount for leg in big) == pytest.approx(20.0)


def test_the_pool_waits_for_size_or_age_and_never_hedges_a_flat_net():
    pool = NettingPool()
    pool.add(0.1, 0, "f1")
    pool.add(-0.1, 10**9, "f2")
    assert not pool.due(65_000.0, 100 * 10**9, threshold_quote=10_000, max_age_s=5)  # flat
    pool.add(0.1, 2 * 10**9, "f3")
    assert not pool.due(65_000.0, 3 * 10**9, threshold_quote=10_000, max_age_s=5)
    assert pool.due(65_000.0, 5 * 10**9, threshold_quote=10_000, max_age_s=5)  # f1 is 5 s old
    pool.add(0.1, 5 * 10**9, "f4")  # 0.2 BTC: 13,000 quote
    assert pool.due(65_000.0, 5 * 10**9, threshold_quote=10_000, max_age_s=60)
    assert pool.first_fill_id == "f1"
