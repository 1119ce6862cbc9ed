from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.quoting import round_quotes
from engine.types import MarketSpec, QuoteLevel, Side

D = Decimal
SPEC = MarketSpec(
    "BTC/USDT", tick_size=D("0.01"), lot_size=D("0.001"), min_amount=D("0.002"), min_notional=D("1")
)


def test_bids_round_down_asks_up_amounts_down():
    levels = [
        QuoteLevel(Side.BUY, 99.967, 0.123456),
        QuoteLevel(Side.BUY, 99.91, 0.5),  # already on the grid: unchanged
        QuoteLevel(Side.SELL, 100.031, 0.1239),
        QuoteLevel(Side.SELL, 100.08, 0.5),
    ]
    assert round_quotes(levels, SPEC) == [
        (Side.BUY, D("99.96"), D("0.123")),
        (Side.BUY, D("99.91"), D("0.500")),
        (Side.SELL, D("100.04"), D("0.123")),
        (Side.SELL, D("100.08"), D("0.500")),
    ]


def test_output_is_best_first_per_side_whatever_the_input_order():
    levels = [
        QuoteLevel(Side.SELL, 101.0, 1.0),
        QuoteLevel(Side.BUY, 98.0, 1.0),
        QuoteLevel(Side.SELL, 100.5, 1.0),
        QuoteLevel(Side.BUY, 99.0, 1.0),
    ]
    prices = [(s, p) for s, p, _ in round_quotes(levels, SPEC)]
    assert prices == [
        (Side.BUY, D("99.00")),
        (Side.BUY, D("98.00")),
        (Side.SELL, D("100.50")),
        (Side.SELL, D("101.00")),
    ]


def test_levels_below_the_minimums_are_dropped():
    levels = [
        QuoteLevel(Side.BUY, 100.0, 0.0009),  # rounds to zero lots
        QuoteLevel(Side.BUY, 99.0, 0.0019),  # 0.001 < min_amount 0.002
        QuoteLevel(Side.SELL, 300.0, 0.0031),  # 0.003 * 300 = 0.9 < min_notional 1
        QuoteLevel(Side.SELL, 400.0, 0.0031),  # 0.003 * 400 = 1.2: kept
    ]
    assert round_quotes(levels, SPEC) == [(Side.SELL, D("400.00"), D("0.003"))]


def test_levels_collapsing_onto_one_price_are_merged():
    levels = [
        QuoteLevel(Side.BUY, 999.969, 0.0015),
        QuoteLevel(Side.BUY, 999.961, 0.0015),  # same tick: 0.001 + 0.001 = min_amount
        QuoteLevel(Side.SELL, 100.001, 1.0),
        QuoteLevel(Side.SELL, 100.009, 2.0),
    ]
    assert round_quotes(levels, SPEC) == [
        (Side.BUY, D("999.96"), D("0.002")),
        (Side.SELL, D("100.01"), D("3.000")),
    ]
    assert [str(p) for _, p, _ in round_quotes(levels, SPEC)] == ["999.96", "100.01"]


def test_decimal_inputs_are_exact_and_non_finite_is_refused():
    spec = MarketSpec("X/USDT", tick_size=D("0.0001"), lot_size=D("1"))
    levels = [QuoteLevel(Side.BUY, D("0.12345678"), D("10.9"))]  # type: ignore[arg-type]
    assert round_quotes(levels, spec) == [(Side.BUY, D("0.1234"), D("10"))]
    ((_, price, amount),) = round_quotes([QuoteLevel(Side.SELL, 1000.0, 10.0)], spec)
    assert (str(price), str(amount)) == ("1000.0000", "10")  # plain notation for the venue
    with pytest.raises(ValueError, match="grid"):
        round_quotes([QuoteLevel(Side.SELL, float("inf"), 1.0)], spec)


ticks = st.sampled_from([D("0.01"), D("0.5"), D("1"), D("0.0001")])
lots = st.sampled_from([D("0.001"), D("0.1"), D("1")])
level = st.builds(
    QuoteLevel,
    st.sampled_from(list(Side)),
    st.floats(0.01, 1e5, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(level, max_size=12), ticks, lots, st.sampled_from([D(0), D(5)]))
def test_rounded_quotes_are_on_the_grid_and_never_better_or_bigger(levels, tick, lot, min_notl):
    spec = MarketSpec("X/USDT", tick_size=tick, lot_size=lot, min_amount=lot, min_notional=min_notl)
    out = round_quotes(levels, spec)
    assert len({(s, p) for s, p, _ in out}) == len(out)
    for side, price, amount in out:
        assert price % tick == 0 and amount % lot == 0
        assert amount >= lot and price * amount >= min_notl
        sources = [
            q
            for q in levels
            if q.side is side
            and abs(D(repr(q.price)) - price) < tick
            and (D(repr(q.price)) <= price if side is Side.SELL else D(repr(q.price)) >= price)
        ]
        assert sources  # every output level comes from an input level rounded outward
        assert amount <= sum(D(repr(q.amount)) for q in sources)
