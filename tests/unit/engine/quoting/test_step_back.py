"""Fill-missing step-back: the bot quotes only what users leave missing, per side."""

import pytest

from engine.config import HandoverConfig, MarketConfig
from engine.quoting.base import QuoteContext
from engine.quoting.guards import apply_market_rules
from engine.quoting.step_back import fill_missing, missing_depth_quote
from engine.types import QuoteLevel, Side

MID = 100.0


def _ladder(notional_per_level=20_000.0):
    return [
        QuoteLevel(side, MID * (1 + sign * off / 1e4), notional_per_level / MID)
        for side, sign in ((Side.BUY, -1), (Side.SELL, 1))
        for off in (4.0, 8.0, 12.0)
    ]


def _in_band(levels, side):
    return sum(q.price * q.amount for q in levels if q.side is side)


def test_missing_depth_aims_at_the_target_with_headroom():
    assert missing_depth_quote(0.0, 50_000, 0.2) == pytest.approx(60_000)
    assert missing_depth_quote(45_000, 50_000, 0.2) == pytest.approx(15_000)
    assert missing_depth_quote(90_000, 50_000, 0.2) == 0.0


def test_each_side_fills_its_own_gap_and_total_meets_the_target():
    out = fill_missing(
        _ladder(),
        mid=MID,
        band_bps=50,
        user_bid_depth_quote=30_000,
        user_ask_depth_quote=55_000,
        target_quote=50_000,
        headroom=0.2,
        min_touch_quote=0.0,
    )
    assert _in_band(out, Side.BUY) == pytest.approx(30_000)
    assert _in_band(out, Side.SELL) == pytest.approx(5_000)
    assert 30_000 + _in_band(out, Side.BUY) >= 50_000


def test_never_above_what_the_policy_wanted():
    wanted = _ladder(10_000)
    out = fill_missing(
        wanted,
        mid=MID,
        band_bps=50,
        user_bid_depth_quote=0,
        user_ask_depth_quote=0,
        target_quote=50_000,
        headroom=0.2,
        min_touch_quote=0,
    )
    assert out == wanted


def test_users_covering_the_band_leave_the_bot_its_touch_only():
    out = fill_missing(
        _ladder(),
        mid=MID,
        band_bps=50,
        user_bid_depth_quote=200_000,
        user_ask_depth_quote=200_000,
        target_quote=50_000,
        headroom=0.2,
        min_touch_quote=2_000,
    )
    live = [q for q in out if q.amount > 0]
    assert len(live) == 2  # one touch per side, deeper levels gone
    for q in live:
        assert q.price * q.amount == pytest.approx(2_000)
        assert abs(q.price - MID) / MID * 1e4 == pytest.approx(4.0)


def test_market_rules_apply_fill_missing_when_configured():
    market = MarketConfig(
        symbol="BTC/USDT",
        tier="flagship",
        handover=HandoverConfig(step_back="fill_missing", headroom=0.0, min_touch_quote=0.0),
    )
    ctx = QuoteContext(
        ts_ns=0,
        mid=MID,
        inventory=0.0,
        market=market,
        user_bid_depth_quote=40_000,
        user_ask_depth_quote=10_000,
    )
    out = apply_market_rules(_ladder(), ctx)
    assert _in_band(out, Side.BUY) == pytest.approx(10_000)
    assert _in_band(out, Side.SELL) == pytest.approx(40_000)
