"""`WireGrid` prints grid counts exactly as `wire_decimal` prints the values they stand for."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sim.binance_wire import WireGrid, fixed_places, wire_decimal

STEPS = ["0.000000000001", "0.00000001", "0.00001", "0.01", "0.5", "1", "25", "1000", "0.0025"]


@settings(max_examples=500, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=10**12),
    tick=st.sampled_from(STEPS),
    lot=st.sampled_from(STEPS),
)
def test_counts_print_as_the_decimal_they_stand_for(count, tick, lot):
    grid = WireGrid(Decimal(tick), Decimal(lot))
    assert grid.price(count) == wire_decimal(Decimal(count) * Decimal(tick))
    assert grid.price(count) == wire_decimal(Decimal(count) * Decimal(tick))  # from the cache
    assert grid.amount(count) == wire_decimal(Decimal(count) * Decimal(lot))


def test_places_past_eight_are_cut_toward_zero_not_rounded():
    assert fixed_places(123456789, -9) == "0.12345678"  # 0.123456789
    assert fixed_places(5, -2) == "0.05000000"
    assert fixed_places(7, 3) == "7000.00000000"
    assert fixed_places(0, -12) == "0.00000000"
