"""The incentive scoring rule and the pro-rata allocation."""

import pytest

from engine.incentives import allocate, order_weight, sample_score, side_scores
from engine.types import Side


def test_weight_falls_with_distance_and_is_zero_outside_the_band():
    assert order_weight(0, 50, 2) == 1.0
    assert order_weight(25, 50, 2) == pytest.approx(0.25)
    assert order_weight(25, 50, 1) == pytest.approx(0.5)
    assert order_weight(50, 50, 2) == 0.0 and order_weight(80, 50, 2) == 0.0


def test_side_scores_weight_each_orders_notional():
    orders = [(Side.BUY, 99.75, 10.0), (Side.SELL, 100.25, 4.0), (Side.SELL, 101.0, 50.0)]
    q_bid, q_ask = side_scores(orders, 100.0, band_bps=50, distance_exponent=2)
    assert q_bid == pytest.approx(997.5 * 0.25)
    assert q_ask == pytest.approx(401.0 * 0.25)  # the order 100 bps out scores nothing


def test_two_sided_size_earns_in_full_one_side_a_fraction():
    assert sample_score(300, 500, 3) == 300
    assert sample_score(0, 900, 3) == 300
    assert sample_score(100, 900, 3) == 300


def test_budget_shared_pro_rata_among_makers_with_enough_uptime():
    payouts = allocate(
        {"a": 300.0, "b": 100.0, "c": 600.0, "d": 0.0},
        {"a": 90.0, "b": 50.0, "c": 5.0, "d": 90.0},
        budget_quote=100.0,
        min_uptime_pct=10.0,
    )
    assert payouts == {"a": pytest.approx(75.0), "b": pytest.approx(25.0), "c": 0.0, "d": 0.0}
    assert allocate({"a": 0.0}, {"a": 100.0}, budget_quote=10, min_uptime_pct=0) == {"a": 0.0}
