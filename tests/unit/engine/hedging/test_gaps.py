"""Cutting hedges to the open gap (engine/hedging/gaps.py)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.hedging import InflightHedges, cap_to_open_gap
from engine.types import HedgeIntent, Side


def test_cap_to_open_gap_never_over_hedges():
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("5")) == 2.0  # long 5: sell all 2
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("0.5")) == 0.5  # netting closed most
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("0")) == 0.0
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("-1")) == 0.0  # short: selling adds risk
    assert cap_to_open_gap(Side.BUY, 2.0, Decimal("-1.5")) == 1.5
    assert cap_to_open_gap(Side.BUY, 2.0, Decimal("3")) == 0.0


_gaps = st.decimals(min_value=Decimal("-100"), max_value=Decimal("100"), places=6)
_sizes = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


@given(st.sampled_from([Side.BUY, Side.SELL]), _sizes, _gaps)
def test_a_capped_hedge_never_over_hedges_and_never_grows(side, amount, gap):
    capped = cap_to_open_gap(side, amount, gap)
    assert 0.0 <= capped <= amount
    after = gap + side.sign * Decimal(repr(capped))
    # the hedge moves the gap towards zero and never past it
    assert abs(after) <= abs(gap)
    assert after == 0 or (after > 0) == (gap > 0)


@given(st.sampled_from([Side.BUY, Side.SELL]), _sizes, _gaps)
def test_capping_twice_changes_nothing(side, amount, gap):
    once = cap_to_open_gap(side, amount, gap)
    assert cap_to_open_gap(side, once, gap) == once


@given(st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), _sizes), max_size=20))
def test_in_flight_hedges_count_until_booked_and_then_leave_no_trace(hedges):
    inflight = InflightHedges()
    intents = [HedgeIntent(f"h{i}", "BTC/USDT", s, a) for i, (s, a) in enumerate(hedges)]
    for intent in intents:
        inflight.add(intent)
    expected = sum((i.side.sign * Decimal(repr(i.amount)) for i in intents), Decimal(0))
    assert inflight.of("BTC") == expected
    assert inflight.open_gap("BTC", Decimal(1)) == 1 + expected
    assert inflight.of("ETH") == 0
    for intent in reversed(intents):
        inflight.remove(intent)
    assert inflight.of("BTC") == 0
