import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.routing.split import all_in_total, best_split
from engine.routing.walk import taking_side
from engine.types import Side

BOOKS = {
    "a": {"asks": [[100.0, 1.0], [102.0, 2.0]], "bids": [[99.0, 1.0], [98.0, 2.0]]},
    "b": {"asks": [[100.5, 1.0], [101.0, 2.0]], "bids": [[98.9, 2.0], [97.0, 5.0]]},
}
FEES = {"a": 0.001, "b": 0.0}


def test_buy_split_hand_computed():
    # all-in asks: a 100.1 (1), b 100.5 (1), b 101 (2), a 102.102 (2)
    split = best_split("buy", 3.0, BOOKS, FEES)
    assert split == pytest.approx({"a": 1.0, "b": 2.0})
    assert all_in_total("buy", split, BOOKS, FEES) == pytest.approx(100.1 + 100.5 + 101.0)
    assert best_split(Side.BUY, 4.5, BOOKS, FEES) == pytest.approx({"a": 1.5, "b": 3.0})


def test_sell_split_hand_computed():
    # all-in bids: a 98.901 (1), b 98.9 (2), a 97.902 (2), b 97 (5)
    assert best_split("sell", 2.5, BOOKS, FEES) == pytest.approx({"a": 1.0, "b": 1.5})
    split = best_split(Side.SELL, 4.0, BOOKS, FEES)
    assert split == pytest.approx({"a": 2.0, "b": 2.0})
    assert all_in_total("sell", split, BOOKS, FEES) == pytest.approx(98.901 + 2 * 98.9 + 97.902)


def test_quote_balance_caps_a_buy_venue_including_its_fee():
    # b spends 100.5 on its first unit, the remaining 49.5 buys 49.5/101 at 101; a takes the rest
    split = best_split("buy", 3.0, BOOKS, FEES, balances={"b": 150.0})
    assert split["b"] == pytest.approx(1.0 + 49.5 / 101.0)
    assert split["a"] == pytest.approx(3.0 - split["b"])
    fee_a = {"a": 0.001, "b": 0.0}
    capped = best_split("buy", 1.0, BOOKS, fee_a, balances={"a": 50.05})
    assert capped["a"] == pytest.approx(0.5)  # 50.05 / (100 * 1.001)


def test_base_balance_caps_a_sell_venue_and_short_books_fill_what_they_can():
    assert best_split("sell", 2.5, BOOKS, FEES, balances={"a": 0.25}) == pytest.approx(
        {"a": 0.25, "b": 2.25}
    )
    assert sum(best_split("buy", 100.0, BOOKS, FEES).values()) == pytest.approx(6.0)
    assert best_split("buy", 1.0, BOOKS, FEES, balances={"a": 0.0, "b": 0.0}) == {}


def test_minimums_drop_a_venue_and_resolve_without_it():
    # unconstrained: a 1 @100.1, b 0.5 @100.5; b's minimum is 2, so a takes it all
    assert best_split("buy", 1.5, BOOKS, FEES) == pytest.approx({"a": 1.0, "b": 0.5})
    assert best_split("buy", 1.5, BOOKS, FEES, min_amounts={"b": 2.0}) == pytest.approx({"a": 1.5})
    assert best_split("buy", 1.5, BOOKS, FEES, min_amounts={"a": 5.0, "b": 5.0}) == {}


def test_zero_amount_and_empty_books():
    assert best_split("buy", 0.0, BOOKS, FEES) == {}
    assert best_split("sell", 1.0, {"a": {"bids": [], "asks": []}}, FEES) == {}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"side": "hold"}, "side"),
        ({"amount": -1.0}, "amount"),
        ({"amount": math.nan}, "amount"),
        ({"taker_fees": {"a": 0.001}}, "taker_fees"),
        ({"balances": {"a": -1.0}}, "balances"),
        ({"min_amounts": {"a": -1.0}}, "min_amounts"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, name):
    args = {"side": "buy", "amount": 1.0, "books": BOOKS, "taker_fees": FEES} | kwargs
    with pytest.raises(ValueError, match=name):
        best_split(**args)


# properties -------------------------------------------------------------------


@st.composite
def markets(draw):
    """1-4 venues with random convex books, fees and (optionally) balances."""
    n = draw(st.integers(1, 4))
    books, fees, balances = {}, {}, {}
    for i in range(n):
        venue = f"v{i}"
        mid = draw(st.floats(90.0, 110.0))
        half = draw(st.floats(0.01, 1.0))
        sides = {}
        for key, sign in (("asks", 1.0), ("bids", -1.0)):
            price, levels = mid + sign * half, []
            for _ in range(draw(st.integers(0, 6))):
                levels.append([price, draw(st.floats(0.01, 5.0))])
                price += sign * draw(st.floats(0.01, 2.0))
            sides[key] = levels
        books[venue] = sides
        fees[venue] = draw(st.sampled_from([0.0, 0.0005, 0.001, 0.002, 0.0016]))
        if draw(st.booleans()):
            balances[venue] = draw(st.floats(0.0, 1500.0))
    return books, fees, balances


def _capacity(side: Side, book: dict, fee: float, balance: float | None) -> float:
    """How much base one venue can trade: its depth, cut by its balance (reference model)."""
    total, budget = 0.0, balance
    for price, size in taking_side(book, side):
        take = size
        if budget is not None:
            unit = price * (1 + fee) if side is Side.BUY else 1.0
            take = min(size, budget / unit)
            budget -= take * unit
        total += take
    return total


def _better_or_equal(side: Side, mine: float, other: float) -> bool:
    slack = 1e-9 * max(1.0, abs(other))
    return mine <= other + slack if side is Side.BUY else mine >= other - slack


sides = st.sampled_from([Side.BUY, Side.SELL])


@settings(max_examples=150, deadline=None)
@given(markets(), sides, st.floats(0.0, 40.0))
def test_fills_min_of_amount_and_available_within_balances(market, side, amount):
    books, fees, balances = market
    split = best_split(side, amount, books, fees, balances)
    caps = {v: _capacity(side, books[v], fees[v], balances.get(v)) for v in books}
    assert sum(split.values()) == pytest.approx(min(amount, sum(caps.values())), abs=1e-9)
    for venue, x in split.items():
        assert x > 0 and x <= caps[venue] + 1e-9
        if venue in balances and side is Side.BUY:
            spent = all_in_total(side, {venue: x}, books, fees)
            assert spent <= balances[venue] + 1e-9 * max(1.0, balances[venue])


@settings(max_examples=150, deadline=None)
@given(markets(), sides, st.floats(0.0, 40.0))
def test_never_worse_than_any_single_venue_that_could_fill_alone(market, side, amount):
    books, fees, balances = market
    split = best_split(side, amount, books, fees, balances)
    mine = all_in_total(side, split, books, fees)
    for venue in books:
        if _capacity(side, books[venue], fees[venue], balances.get(venue)) >= amount:
            alone = all_in_total(side, {venue: amount}, books, fees)
            assert _better_or_equal(side, mine, alone)


@settings(max_examples=150, deadline=None)
@given(markets(), sides, st.data())
def test_never_worse_than_a_random_feasible_split(market, side, data):
    books, fees, balances = market
    caps = {v: _capacity(side, books[v], fees[v], balances.get(v)) for v in books}
    other = {v: data.draw(st.floats(0.0, 1.0)) * caps[v] for v in books}
    amount = sum(other.values())
    split = best_split(side, amount, books, fees, balances)
    assert sum(split.values()) == pytest.approx(amount, abs=1e-9)
    mine = all_in_total(side, split, books, fees)
    assert _better_or_equal(side, mine, all_in_total(side, other, books, fees))


@settings(max_examples=150, deadline=None)
@given(markets(), sides, st.floats(0.0, 40.0), st.data())
def test_respects_minimums_and_is_deterministic(market, side, amount, data):
    books, fees, balances = market
    minimums = {v: data.draw(st.floats(0.0, 5.0)) for v in books}
    split = best_split(side, amount, books, fees, balances, minimums)
    for venue, x in split.items():
        assert x >= minimums[venue] - 1e-12
    reordered = dict(reversed(list(books.items())))
    assert best_split(side, amount, reordered, fees, balances, minimums) == split
    assert best_split(side.value, amount, books, fees, balances, minimums) == split
