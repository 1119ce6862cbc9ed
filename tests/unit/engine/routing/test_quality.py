import math
from decimal import Decimal

import pytest

from engine.routing.quality import achieved_all_in_price, decision_benchmarks, saving_bps
from engine.types import Execution, Side

BOOKS = {
    "cheap_fee": {"asks": [[100.2, 1.0], [100.6, 5.0]], "bids": [[99.8, 1.0]]},
    "tight": {"asks": [[100.0, 1.0], [100.5, 5.0]], "bids": [[99.9, 1.0]]},
}
FEES = {"cheap_fee": 0.0, "tight": 0.001}


def test_benchmarks_price_the_best_single_venue_and_the_optimum_split():
    bench = decision_benchmarks("buy", 2.0, BOOKS, FEES)
    # tight alone: 100*1.001 + 100.5*1.001 = 200.7005; cheap_fee alone: 100.2 + 100.6 = 200.8
    assert bench.best_single_venue == "tight"
    assert bench.best_single_all_in_price == pytest.approx(200.7005 / 2)
    # optimum: tight 1 @ 100.1, cheap_fee 1 @ 100.2 -> 200.3
    assert bench.optimum_all_in_price == pytest.approx(200.3 / 2)


def test_a_venue_that_cannot_fill_alone_is_no_single_venue_benchmark():
    bench = decision_benchmarks("sell", 1.5, BOOKS, FEES)  # each venue bids only 1.0
    assert bench.best_single_venue is None and bench.best_single_all_in_price is None
    assert bench.optimum_all_in_price == pytest.approx((99.8 * 0.5 + 99.9 * 0.999) / 1.5)
    assert decision_benchmarks("sell", 5.0, BOOKS, FEES).optimum_all_in_price is None
    balance_cut = decision_benchmarks("buy", 2.0, BOOKS, FEES, {"tight": 100.0})
    assert balance_cut.best_single_venue == "cheap_fee"


def _exec(amount, cost, fee, currency="USDT"):
    return Execution(
        0,
        "h",
        "c",
        "v",
        "BTC/USDT",
        Side.BUY,
        Decimal(amount),
        Decimal(cost),
        Decimal(fee),
        currency,
    )


def test_achieved_price_includes_fees_in_either_asset():
    buys = [_exec("1", "100", "0.1"), _exec("1", "102", "0.001", "BTC")]
    assert achieved_all_in_price("buy", buys) == pytest.approx((100.1 + 102 + 0.102) / 2)
    assert achieved_all_in_price("sell", [_exec("2", "200", "0.2")]) == pytest.approx(99.9)
    assert achieved_all_in_price("buy", []) is None


def test_saving_is_positive_when_cheaper_on_both_sides():
    assert saving_bps("buy", 99.9, 100.0) == pytest.approx(10.0)
    assert saving_bps("sell", 100.1, 100.0) == pytest.approx(10.0)
    assert saving_bps("buy", 100.1, 100.0) == pytest.approx(-10.0)
    assert saving_bps("buy", None, 100.0) is None and saving_bps("buy", 1.0, None) is None


def test_a_tie_reached_by_different_arithmetic_is_no_saving():
    # the achieved price comes from Decimal, the benchmark from a float walk: a tie differs
    # in the last digits, and -1e-12 bps would read as a cost in a median
    tie = float(Decimal("0.1") + Decimal("0.2"))
    for side in ("buy", "sell"):
        saved = saving_bps(side, 0.1 + 0.2, tie)
        assert saved == 0.0 and math.copysign(1.0, saved) == 1.0  # not -0.0 either
    assert saving_bps("buy", 99.99999, 100.0) == pytest.approx(0.001)  # a real one stays
