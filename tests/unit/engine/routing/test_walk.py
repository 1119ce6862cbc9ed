import math

import pytest

from engine.routing.walk import all_in_price, taking_side, walk_book
from engine.types import Side

ASKS = [[100.0, 1.0], [101.0, 2.0], [103.0, 5.0]]


def test_walk_across_levels_hand_computed():
    # 1 @ 100 + 2 @ 101 + 0.5 @ 103 = 100 + 202 + 51.5 = 353.5 for 3.5
    walk = walk_book(ASKS, 3.5)
    assert walk.filled == 3.5
    assert walk.cost == pytest.approx(353.5)
    assert walk.avg_price == pytest.approx(353.5 / 3.5)
    assert walk.marginal_price == 103.0
    assert walk.levels_used == 3


def test_walk_inside_the_first_level():
    walk = walk_book(ASKS, 0.25)
    assert (walk.filled, walk.cost, walk.avg_price, walk.marginal_price, walk.levels_used) == (
        0.25,
        25.0,
        100.0,
        100.0,
        1,
    )


def test_walk_exactly_to_a_level_boundary_stops_there():
    walk = walk_book(ASKS, 3.0)
    assert walk.cost == pytest.approx(302.0)
    assert walk.marginal_price == 101.0 and walk.levels_used == 2


def test_walk_deeper_than_the_book_fills_what_is_there():
    walk = walk_book(ASKS, 100.0)
    assert walk.filled == pytest.approx(8.0)
    assert walk.cost == pytest.approx(100 + 202 + 515)
    assert walk.marginal_price == 103.0 and walk.levels_used == 3


def test_walk_empty_book_and_zero_amount_report_no_price():
    for walk in (walk_book([], 1.0), walk_book(ASKS, 0.0)):
        assert walk.filled == 0.0 and walk.cost == 0.0
        assert walk.avg_price == 0.0 and walk.marginal_price == 0.0 and walk.levels_used == 0


def test_walk_skips_empty_levels():
    walk = walk_book([[100.0, 0.0], [101.0, 1.0]], 1.0)
    assert walk.cost == 101.0 and walk.levels_used == 1


@pytest.mark.parametrize("amount", [-1.0, math.nan, math.inf])
def test_walk_rejects_bad_amount(amount):
    with pytest.raises(ValueError, match="amount"):
        walk_book(ASKS, amount)


def test_all_in_price_adds_fee_to_buys_and_takes_it_from_sells():
    assert all_in_price(Side.BUY, 100.0, 0.001) == pytest.approx(100.1)
    assert all_in_price("sell", 100.0, 0.001) == pytest.approx(99.9)
    assert all_in_price(Side.BUY, 100.0, -0.0001) == pytest.approx(99.99)  # maker-style rebate


def test_taking_side_picks_and_orders_the_side_a_taker_consumes():
    book = {"bids": [[99.0, 1.0], [99.5, 2.0], [98.0, 0.0]], "asks": [[101.0, 1.0], [100.5, 3.0]]}
    assert taking_side(book, Side.BUY) == [(100.5, 3.0), (101.0, 1.0)]
    assert taking_side(book, Side.SELL) == [(99.5, 2.0), (99.0, 1.0)]
    assert taking_side({"bids": [], "asks": []}, Side.SELL) == []


def test_float_residue_does_not_reach_the_next_level():
    # 1.85 - 0.9 - 0.95 is 1.1e-16 in binary floats: the amount ends on the 94.75 level
    bids = [[94.875, 0.9], [94.75, 0.95], [94.5, 1.0]]
    walk = walk_book(bids, 1.85)
    assert walk.marginal_price == 94.75 and walk.levels_used == 2 and walk.filled == 1.85
