from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import RiskConfig
from engine.routing.slicing import residual_after, slice_notional_cap, slice_schedule
from engine.types import HedgeIntent, Side

NOW = 1_700_000_000 * 10**9
RISK = RiskConfig(
    max_notional_per_trade=10_000.0, max_slippage_bps=20.0, slice_interval_s=2.0, max_slices=10
)


def _intent(amount, side=Side.SELL):
    return HedgeIntent("m-f1", "BTC/USDT", side, amount, source_fill_id="f1", reason="mirror")


def test_a_hedge_within_one_trade_is_one_slice_due_now():
    (only,) = slice_schedule(_intent(0.1), 65_000.0, RISK, NOW)  # 6,500 quote
    assert only.intent == _intent(0.1) and only.due_ns == NOW and only.count == 1


def test_a_big_hedge_is_cut_into_equal_slices_due_an_interval_apart():
    slices = slice_schedule(_intent(0.5), 65_000.0, RISK, NOW)  # 32,500 quote -> 4 slices
    assert [s.index for s in slices] == [0, 1, 2, 3]
    assert [s.due_ns for s in slices] == [NOW + i * 2 * 10**9 for i in range(4)]
    assert sum(Decimal(repr(s.intent.amount)) for s in slices) == Decimal("0.5")
    assert {s.intent.hedge_id for s in slices} == {f"m-f1-s{i}" for i in range(4)}
    assert all(s.parent_hedge_id == "m-f1" for s in slices)
    assert slices[1].intent.reason == "mirror; twap slice 2/4"
    assert all(s.intent.amount * 65_000 <= slice_notional_cap(RISK) for s in slices)
    assert residual_after(_intent(0.5), slices) == 0.0


def test_max_slices_keeps_slices_at_trade_size_and_reports_the_rest():
    slices = slice_schedule(_intent(5.0), 65_000.0, RISK, NOW)  # 325,000 quote: 33 needed
    assert len(slices) == 10
    assert all(s.intent.amount * 65_000 <= slice_notional_cap(RISK) for s in slices)
    left = residual_after(_intent(5.0), slices)
    assert left == pytest.approx(5.0 - sum(s.intent.amount for s in slices))
    assert left == pytest.approx(5.0 - 10 * slice_notional_cap(RISK) / 65_000, rel=1e-9)


def test_without_a_mid_the_hedge_is_one_slice():
    assert len(slice_schedule(_intent(50.0), None, RISK, NOW)) == 1


@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, 100.0), st.floats(1.0, 100_000.0), st.sampled_from([Side.BUY, Side.SELL]))
def test_slices_add_up_fit_one_trade_and_keep_the_side(amount, mid, side):
    intent = _intent(amount, side)
    slices = slice_schedule(intent, mid, RISK, NOW)
    scheduled = sum(Decimal(repr(s.intent.amount)) for s in slices)
    total = scheduled + Decimal(repr(residual_after(intent, slices)))
    assert float(total) == pytest.approx(amount, rel=1e-9, abs=1e-9)
    assert all(s.intent.side is side and s.intent.amount >= 0 for s in slices)
    if len(slices) > 1:
        assert all(s.intent.amount * mid <= slice_notional_cap(RISK) * (1 + 1e-9) for s in slices)
    assert [s.due_ns for s in slices] == sorted(s.due_ns for s in slices)
