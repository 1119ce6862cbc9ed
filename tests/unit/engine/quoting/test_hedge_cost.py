"""Hedge-aware pricing: each level against the all-in cost of hedging it now."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import MarketConfig
from engine.market import QuoteAction, Quoter
from engine.quoting import ExternalBook
from engine.quoting.hedge_cost import (
    all_in_levels,
    edge_bps,
    hedge_cost_bps,
    level_hedge_costs,
    price_for_hedge,
)
from engine.types import BookSnapshot, MarketSpec, QuoteLevel, Side

T0 = 1_750_000_000 * 10**9
MID = 100.0


def venue(name: str, offset_bps: float, half_bps: float, step_bps: float, size: float, n: int):
    bids = tuple((MID * (1 + (offset_bps - half_bps - i * step_bps) / 1e4), size) for i in range(n))
    asks = tuple((MID * (1 + (offset_bps + half_bps + i * step_bps) / 1e4), size) for i in range(n))
    return BookSnapshot(name, "BTC/USDT", T0, bids, asks)


def external(*books: tuple[BookSnapshot, float]) -> ExternalBook:
    return ExternalBook(books[0][0], 1e9, 1e12, max(f for _, f in books), venue_books=books)


def test_levels_merge_by_all_in_price_so_a_cheaper_fee_wins_a_worse_price():
    cheap = venue("cheap-fee", 0.0, 2.0, 1.0, 1.0, 3)  # bid 99.98, fee 1 bp
    dear = venue("dear-fee", 0.0, 1.0, 1.0, 1.0, 3)  # bid 99.99, fee 5 bps
    levels = all_in_levels(external((cheap, 0.0001), (dear, 0.0005)), Side.SELL)
    assert levels[0][0] == pytest.approx(99.98 * (1 - 0.0001))
    assert [p for p, _ in levels] == sorted((p for p, _ in levels), reverse=True)


def test_a_level_is_costed_as_the_sweep_to_it():
    ext = external((venue("v", 0.0, 1.0, 2.0, 1.0, 5), 0.0004))
    ladder = [QuoteLevel(Side.BUY, 99.9, 1.0), QuoteLevel(Side.BUY, 99.8, 1.0)]
    first, second = level_hedge_costs(ladder, MID, ext, slippage_bps=0.5)
    # 1 base sells at 99.99 (1 bp) + 4 bps fee + 0.5 buffer; 2 base average 2 bps
    assert first == pytest.approx((MID - 99.99 * 0.9996) / MID * 1e4 + 0.5)
    assert second == pytest.approx((MID - 99.98 * 0.9996) / MID * 1e4 + 0.5)
    assert hedge_cost_bps(all_in_levels(ext, Side.SELL), Side.SELL, 6.0, MID) == math.inf


FLAGSHIP = MarketConfig(
    symbol="BTC/USDT", tier="flagship", levels=3, level_spacing_bps=4, order_notional_quote=60_000
)


def test_sla_keeps_the_target_spread_and_profit_moves_out_to_the_hedge_cost():
    ext = external((venue("v", 0.0, 1.0, 1.0, 1e4, 20), 0.0004))
    ladder = [QuoteLevel(Side.BUY, MID * (1 - 3.75e-4), 1.0), QuoteLevel(Side.SELL, 100.0375, 1.0)]
    kept, costs = price_for_hedge(ladder, MID, ext, FLAGSHIP)
    assert kept == ladder and all(c is not None and c > 3.75 for c in costs)  # subsidised
    profit = FLAGSHIP.model_copy(update={"priority": "profit", "min_profit_bps": 0.5})
    moved, costs = price_for_hedge(ladder, MID, ext, profit)
    for q, cost in zip(moved, costs, strict=True):
        assert cost is not None
        assert edge_bps(q, MID) == pytest.approx(cost + 0.5)


@st.composite
def venue_books(draw: st.DrawFn) -> ExternalBook:
    books = []
    for i in range(draw(st.integers(1, 3))):
        book = venue(
            f"v{i}",
            draw(st.floats(-5, 5)),
            draw(st.floats(0.1, 10)),
            draw(st.floats(0.1, 10)),
            draw(st.floats(0.01, 50)),
            draw(st.integers(1, 30)),
        )
        books.append((book, draw(st.floats(0, 0.002))))
    return external(*books)


@settings(max_examples=150, deadline=None)
@given(
    venue_books(),
    st.floats(2, 40),
    st.integers(1, 5),
    st.floats(0.5, 10),
    st.floats(-2, 5),
    st.floats(-0.99, 0.99),
)
def test_no_profit_quote_is_inside_its_hedge_cost(ext, target, levels, spacing, min_profit, q):
    """Through the whole decision (rules, pricing, grid): every `profit` quote placed keeps
    at least `min_profit_bps` over the all-in cost of hedging it and the better levels."""
    market = MarketConfig(
        symbol="BTC/USDT",
        tier="flagship",
        target_spread_bps=target,
        max_spread_bps=max(target, 15.0),
        levels=levels,
        level_spacing_bps=spacing,
        order_notional_quote=2_000,
        depth_target_quote=1_000,
        depth_band_bps=200,
        priority="profit",
        min_profit_bps=min_profit,
    )
    spec = MarketSpec("BTC/USDT", Decimal("0.001"), Decimal("0.001"))
    quoter = Quoter(market, spec, max_book_age_s=5.0, started_ns=T0, read_user_depth=False)
    quoter.external = ext
    quoter.net_exposure = q * market.inventory_limit
    quoter.on_reference(T0, (MID, T0))
    decision = quoter.decide(T0, _EmptyBook())
    assert decision.action is QuoteAction.REPLACE
    placed = [QuoteLevel(s, float(p), float(a)) for s, p, a in decision.quotes]
    costs = level_hedge_costs(placed, MID, ext, market.hedge_slippage_bps)
    for level, cost in zip(placed, costs, strict=True):
        assert math.isfinite(cost)
        assert edge_bps(level, MID) >= cost + min_profit - 1e-6


class _EmptyBook:
    def open_quotes(self):
        return []

    def user_depth_within(self, mid: float, bps: float):
        return 0.0, 0.0
