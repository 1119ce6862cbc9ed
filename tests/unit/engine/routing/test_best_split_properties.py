"""Properties of `engine.routing.best_split` on random books, fees, balances and minimums.

The reference models here are written independently of the router: a venue's
capacity is its depth cut by its balance, a feasible split gives each venue 0
or at least its minimum and at most its capacity, and costs are measured with
`all_in_total` (quote paid including fees for a buy, received net of fees for
a sell).
"""

import itertools

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from engine.routing.split import all_in_total, best_split
from engine.routing.walk import taking_side
from engine.types import Side


@st.composite
def venues(draw, max_venues: int = 4):
    """1-4 venues: convex books (0-6 levels a side), fees, optional balances and minimums."""
    n = draw(st.integers(1, max_venues))
    books, fees, balances, minimums = {}, {}, {}, {}
    for i in range(n):
        venue = f"v{i}"
        mid = draw(st.floats(90.0, 110.0))
        half = draw(st.floats(0.01, 1.0))
        sides = {}
        for key, sign in (("asks", 1.0), ("bids", -1.0)):
            price, levels = mid + sign * half, []
            for _ in range(draw(st.integers(0, 6))):
                levels.append([price, draw(st.floats(0.01, 5.0))])
                price += sign * draw(st.floats(0.01, 3.0))
            sides[key] = levels
        books[venue] = sides
        fees[venue] = draw(st.sampled_from([0.0, 0.0002, 0.0005, 0.001, 0.002]))
        if draw(st.booleans()):
            balances[venue] = draw(st.floats(0.0, 1500.0))
        if draw(st.booleans()):
            minimums[venue] = draw(st.floats(0.0, 4.0))
    return books, fees, balances, minimums


sides = st.sampled_from([Side.BUY, Side.SELL])


def capacity(side: Side, book: dict, fee: float, balance: float | None) -> float:
    """Base one venue can trade: its depth, cut by its balance (quote incl. fee for a buy)."""
    total, budget = 0.0, balance
    for price, size in taking_side(book, side):
        take = size
        if budget is not None:
            unit = price * (1 + fee) if side is Side.BUY else 1.0
            take = min(size, budget / unit)
            budget -= take * unit
        total += take
    return total


def max_fillable(amount: float, caps: dict, minimums: dict) -> float:
    """The most of `amount` any split meeting the minimums can trade (brute force over subsets)."""
    best = 0.0
    names = sorted(caps)
    for r in range(1, len(names) + 1):
        for subset in itertools.combinations(names, r):
            if any(caps[v] < minimums.get(v, 0.0) for v in subset):
                continue
            if sum(minimums.get(v, 0.0) for v in subset) > amount:
                continue
            best = max(best, min(amount, sum(caps[v] for v in subset)))
    return best


def at_least_as_good(side: Side, mine: float, other: float) -> bool:
    slack = 1e-9 * max(1.0, abs(other))
    return mine <= other + slack if side is Side.BUY else mine >= other - slack


def random_feasible_split(data, caps: dict, minimums: dict) -> dict[str, float]:
    """Each venue: 0, or a random amount between its minimum and its capacity."""
    split = {}
    for venue, cap in caps.items():
        low = minimums.get(venue, 0.0)
        if cap < low or cap <= 0 or not data.draw(st.booleans()):
            continue
        split[venue] = low + data.draw(st.floats(0.0, 1.0)) * (cap - low)
    return {v: x for v, x in split.items() if x > 0}


@settings(max_examples=200, deadline=None)
@given(venues(), sides, st.data())
def test_never_worse_than_a_random_feasible_split_with_minimums(market, side, data):
    books, fees, balances, minimums = market
    caps = {v: capacity(side, books[v], fees[v], balances.get(v)) for v in books}
    other = random_feasible_split(data, caps, minimums)
    amount = sum(other.values())
    assume(amount > 0)
    split = best_split(side.value, amount, books, fees, balances, minimums)
    assert sum(split.values()) == pytest.approx(amount, rel=1e-9, abs=1e-9)
    mine = all_in_total(side, split, books, fees)
    assert at_least_as_good(side, mine, all_in_total(side, other, books, fees))


@settings(max_examples=200, deadline=None)
@given(venues(), sides, st.floats(0.0, 30.0))
@example(
    # the cheap venue must take its minimum 2 (one level at 100, the next at 103):
    # dropping it for missing its minimum costs more than taking 2 from it
    (
        {
            "a": {"asks": [[100.0, 1.5], [103.0, 5.0]], "bids": []},
            "b": {"asks": [[101.0, 10.0]], "bids": []},
        },
        {"a": 0.0, "b": 0.0},
        {},
        {"a": 2.0},
    ),
    Side.BUY,
    3.0,
)
def test_never_worse_than_any_single_venue_that_can_fill_alone(market, side, amount):
    books, fees, balances, minimums = market
    split = best_split(side.value, amount, books, fees, balances, minimums)
    mine = all_in_total(side, split, books, fees)
    for venue in books:
        cap = capacity(side, books[venue], fees[venue], balances.get(venue))
        if amount > 0 and cap >= amount and amount >= minimums.get(venue, 0.0):
            assert sum(split.values()) == pytest.approx(amount, rel=1e-9, abs=1e-9)
            alone = all_in_total(side, {venue: amount}, books, fees)
            assert at_least_as_good(side, mine, alone), (venue, split)


@settings(max_examples=200, deadline=None)
@given(venues(), sides, st.floats(0.0, 30.0))
def test_respects_balances_minimums_and_fills_what_is_possible(market, side, amount):
    books, fees, balances, minimums = market
    split = best_split(side.value, amount, books, fees, balances, minimums)
    caps = {v: capacity(side, books[v], fees[v], balances.get(v)) for v in books}
    expected = max_fillable(amount, caps, minimums)
    assert sum(split.values()) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    for venue, x in split.items():
        assert x > 0
        assert x >= minimums.get(venue, 0.0) - 1e-12
        assert x <= caps[venue] * (1 + 1e-12) + 1e-12
        if venue in balances and side is Side.BUY:
            spent = all_in_total(side, {venue: x}, books, fees)
            assert spent <= balances[venue] * (1 + 1e-9) + 1e-9
        if venue in balances and side is Side.SELL:
            assert x <= balances[venue] * (1 + 1e-12) + 1e-12


def test_a_venue_is_kept_at_its_minimum_when_that_is_cheaper_than_dropping_it():
    books = {
        "a": {"asks": [[100.0, 1.5], [103.0, 5.0]]},
        "b": {"asks": [[101.0, 10.0]]},
    }
    split = best_split("buy", 3.0, books, {"a": 0.0, "b": 0.0}, None, {"a": 2.0})
    # a: 1.5 @ 100 + 0.5 @ 103 = 201.5, b: 1 @ 101 -> 302.5 (dropping a costs 303)
    assert split == pytest.approx({"a": 2.0, "b": 1.0})
    assert all_in_total("buy", split, books, {"a": 0.0, "b": 0.0}) == pytest.approx(302.5)


def test_minimums_that_the_amount_cannot_meet_on_two_venues_use_one():
    books = {"a": {"bids": [[100.0, 2.0]]}, "b": {"bids": [[99.0, 5.0]]}}
    # both minimums 1.5: 2.5 cannot give both venues 1.5, so a (the better bid) alone, capped
    split = best_split("sell", 2.5, books, {"a": 0.0, "b": 0.0}, None, {"a": 1.5, "b": 1.5})
    assert split == pytest.approx({"b": 2.5})  # a can only sell 2: b fills all of it
    split = best_split("sell", 1.8, books, {"a": 0.0, "b": 0.0}, None, {"a": 1.5, "b": 1.5})
    assert split == pytest.approx({"a": 1.8})
