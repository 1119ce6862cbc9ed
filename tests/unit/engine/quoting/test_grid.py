"""The fast grid rounding gives exactly what `round_quotes` gives."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.quoting import round_quotes
from engine.quoting.grid import GridRounder
from engine.types import MarketSpec, QuoteLevel, Side

SPECS = [
    MarketSpec("BTC/USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("1")),
    MarketSpec("SOL/USDT", Decimal("0.001"), Decimal("0.001"), Decimal("0.001"), Decimal("5")),
    MarketSpec("X/USDT", Decimal("0.5"), Decimal("10"), Decimal("10"), Decimal("0")),
]

levels_st = st.lists(
    st.builds(
        QuoteLevel,
        st.sampled_from([Side.BUY, Side.SELL]),
        st.one_of(
            st.floats(min_value=-1.0, max_value=200_000.0, allow_nan=False),
            st.integers(min_value=0, max_value=10_000_000).map(lambda i: i * 0.01),  # on grid
            st.integers(min_value=0, max_value=10_000).map(lambda i: i * 0.001 + 1e-12),
        ),
        st.one_of(
            st.floats(min_value=0.0, max_value=1_000.0, allow_nan=False),
            st.integers(min_value=0, max_value=100_000).map(lambda i: i * 0.00001),
        ),
    ),
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(spec=st.sampled_from(SPECS), levels=levels_st)
def test_equals_round_quotes(spec, levels):
    assert GridRounder(spec).round(levels) == round_quotes(levels, spec)


def test_prices_on_a_grid_line_take_the_exact_path():
    spec = SPECS[0]
    levels = [QuoteLevel(Side.BUY, 0.29, 10.0), QuoteLevel(Side.SELL, 64_999.99, 0.3)]
    out = GridRounder(spec).round(levels)
    assert out == round_quotes(levels, spec)
    assert out[0][1] == Decimal("0.29") and out[1][1] == Decimal("64999.99")
