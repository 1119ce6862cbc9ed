"""Latency, queue and fee models against cases worked out by hand."""

from __future__ import annotations

import pytest

from engine.backtest.models import (
    ConstantLatency,
    FeeModel,
    Liquidity,
    PowerProbQueue,
    QueuePosition,
    RiskAverseQueue,
    VenueFees,
)
from engine.config import load_config
from engine.types import Side
from tests.conftest import LOCAL_CONFIG


def test_constant_latency_splits_entry_and_response():
    lat = ConstantLatency(entry_latency_ns=3_000_000, response_latency_ns=5_000_000)
    assert lat.entry_ns(0) == 3_000_000 and lat.response_ns(10**18) == 5_000_000
    assert lat.round_trip_ns(0) == 8_000_000
    assert ConstantLatency().round_trip_ns(123) == 0  # the default: today's backtests
    with pytest.raises(ValueError, match="latency"):
        ConstantLatency(entry_latency_ns=-1)


def test_risk_averse_queue_advances_on_trades_only():
    q, pos = RiskAverseQueue(), QueuePosition(front=5.0)
    assert q.on_trade(pos, 2.0) == 0.0 and pos.front == 3.0  # 2 of the 5 ahead traded
    q.on_depth(pos, prev_amount=10.0, new_amount=6.0)  # a cancel of 2 (beyond the trade)
    assert pos.front == 3.0  # assumed behind us
    q.on_depth(pos, prev_amount=6.0, new_amount=2.5)  # the level holds less than our front
    assert pos.front == 2.5
    assert q.on_trade(pos, 4.0) == 1.5 and pos.front == 0.0  # 2.5 ahead, then 1.5 ours


def test_probabilistic_queue_moves_the_front_by_the_expected_share_ahead():
    q = PowerProbQueue(power=2.0)
    # front 2, back 6 (level 8): p(behind) = 36 / (36 + 4) = 0.9; a cancel of 2 moves the
    # front by (1 - 0.9) * 2 = 0.2
    pos = QueuePosition(front=2.0)
    assert q.prob_behind(2.0, 6.0) == pytest.approx(0.9)
    q.on_depth(pos, prev_amount=8.0, new_amount=6.0)
    assert pos.front == pytest.approx(1.8)
    # power 1, front 3, back 1: p = 0.25; a cancel of 2 is 0.75 * 2 = 1.5 ahead, and the
    # back (1) holds the 0.5 assumed behind: 3 - 1.5 + min(1 - 0.5, 0) = 1.5
    pos = QueuePosition(front=3.0)
    PowerProbQueue(power=1.0).on_depth(pos, prev_amount=4.0, new_amount=2.0)
    assert pos.front == pytest.approx(1.5)
    # front 3, back 1, a cancel of 3: 0.75 * 3 = 2.25 ahead, the back holds 1 of the
    # 0.75 assumed behind -> 3 - 2.25 + min(1 - 0.75, 0) = 0.75
    pos = QueuePosition(front=3.0)
    PowerProbQueue(power=1.0).on_depth(pos, prev_amount=4.0, new_amount=1.0)
    assert pos.front == pytest.approx(0.75)


def test_probabilistic_queue_does_not_count_a_traded_drop_as_a_cancel():
    q, pos = PowerProbQueue(), QueuePosition(front=4.0)
    assert q.on_trade(pos, 3.0) == 0.0 and pos.front == 1.0
    q.on_depth(pos, prev_amount=10.0, new_amount=7.0)  # the 3 that traded: no cancel
    assert pos.front == 1.0 and pos.traded == 0.0
    q.on_depth(pos, prev_amount=7.0, new_amount=9.0)  # others joined behind
    assert pos.front == 1.0


def test_fees_per_venue_side_and_liquidity():
    fees = FeeModel({"home": VenueFees(-0.0001, 0.0002, 0.0005, 0.0007)})
    assert fees.fee("home", Side.BUY, Liquidity.MAKER, 10_000.0) == pytest.approx(-1.0)
    assert fees.fee("home", Side.SELL, Liquidity.MAKER, 10_000.0) == pytest.approx(2.0)
    assert fees.fee("home", Side.SELL, Liquidity.TAKER, 10_000.0) == pytest.approx(7.0)
    with pytest.raises(KeyError, match="elsewhere"):
        fees.rate("elsewhere", Side.BUY, Liquidity.TAKER)


def test_default_fees_are_each_venues_configured_rates():
    cfg = load_config(LOCAL_CONFIG)
    fees = FeeModel.from_config(cfg)
    for v in (cfg.home_venue, *cfg.hedge_venues):
        for side in Side:
            assert fees.rate(v.id, side, Liquidity.MAKER) == v.maker_fee
            assert fees.rate(v.id, side, Liquidity.TAKER) == v.taker_fee
