"""Splitting one hedge across venues at the best all-in price.

Taking `x` base from one venue costs a convex piecewise-linear amount: each
book level is a segment whose slope is its all-in price (price and taker fee),
and the slopes only get worse deeper in the book. Minimising a sum of convex
separable costs under one linear constraint (the allocations add up to the
amount) is solved exactly by taking the cheapest marginal unit first: merge
every venue's levels by all-in price and take greedily (the continuous
knapsack / water-filling argument, e.g. Boyd & Vandenberghe, "Convex
Optimization", 2004, ex. 4.8 and sec. 5.5.3). A venue's balance only caps how
far into its own book it may go, which keeps the greedy exact.

Venue minimums make the problem non-convex (an allocation is 0 or >= a
minimum). For a fixed choice of which venues with a minimum trade, it is convex
again: each chosen venue's first `minimum` units are forced (its cheapest
ones), and the rest is the same greedy. So the split enumerates those choices
(2^k for k venues with a minimum, k is a handful of venues) and keeps the one
that trades the most, then at the best all-in total. The unconstrained greedy
comes first: when it already meets every minimum it is optimal and no
enumeration is needed. Past `MAX_EXACT_MINIMUM_VENUES` venues with a minimum,
the split falls back to dropping venues below their minimum until none is.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

from engine.routing.walk import taking_side, walk_book
from engine.types import Side

TOLERANCE = 1e-12


def _parse_side(side: Side | str) -> Side:
    try:
        return Side(side)
    except ValueError:
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}") from None


def _check_non_negative(name: str, values: Mapping[str, float] | None) -> None:
    for venue, value in (values or {}).items():
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}[{venue!r}] must be a finite number >= 0, got {value!r}")


def best_split(
    side: str,
    amount: float,
    books: dict[str, dict],
    taker_fees: dict[str, float],
    balances: dict[str, float] | None = None,
    min_amounts: dict[str, float] | None = None,
) -> dict[str, float]:
    """Base amount per venue that trades `amount` at the best total all-in price.

    `side` is the hedge side; a buy minimises quote paid including fees, a sell
    maximises quote received net of fees. `balances[venue]` caps what a venue
    can do: the most base it can sell, or the most quote (fee included) it can
    spend; a venue without an entry is not capped. `min_amounts[venue]` makes a
    venue's allocation 0 or at least that much (exact, see module doc).
    Returns only venues with a positive allocation, in venue-id order; the total
    is `amount`, or all that the books and balances allow when that is less.
    """
    hedge_side = _parse_side(side)
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"amount must be a finite number >= 0, got {amount!r}")
    missing = sorted(v for v in books if v not in taker_fees)
    if missing:
        raise ValueError(f"taker_fees has no fee for venue(s): {', '.join(missing)}")
    _check_non_negative("balances", balances)
    _check_non_negative("min_amounts", min_amounts)
    fees = {v: float(taker_fees[v]) for v in books}
    segments = _segments(hedge_side, books, fees, amount)
    budgets = {v: float(b) for v, b in (balances or {}).items() if v in books}
    minimums = {v: float(m) for v, m in (min_amounts or {}).items() if v in books and m > 0}

    relaxed, _ = _greedy(amount, segments, set(books), budgets, {}, hedge_side)
    assert relaxed is not None  # no floors: always feasible
    if all(x >= minimums.get(v, 0.0) - TOLERANCE for v, x in relaxed.items()):
        return relaxed
    constrained = sorted(minimums)
    if len(constrained) > MAX_EXACT_MINIMUM_VENUES:
        return _drop_below_minimum(amount, segments, set(books), budgets, minimums, hedge_side)
    free = set(books) - set(constrained)
    best: dict[str, float] = {}
    best_key = (0.0, 0.0)
    for chosen in itertools.product((False, True), repeat=len(constrained)):
        floors = {v: minimums[v] for v, on in zip(constrained, chosen, strict=True) if on}
        if sum(floors.values()) > amount * (1 + 1e-12) + TOLERANCE:
            continue
        allocation, score = _greedy(
            amount, segments, free | set(floors), budgets, floors, hedge_side
        )
        if allocation is None:
            continue
        filled = sum(allocation.values())
        key = (filled, score)
        if not best or _better(key, best_key, amount):
            best, best_key = allocation, key
    return best


MAX_EXACT_MINIMUM_VENUES = 10

_Segment = tuple[float, str, int, float, float]  # (sort key, venue, depth, all-in px, size)


def _segments(
    side: Side, books: Mapping[str, Mapping], fees: Mapping[str, float], amount: float
) -> list[_Segment]:
    """Venues' levels as (key, venue, depth, all-in price, size), cheapest key first.

    The key is the all-in price for a buy and its negative for a sell, so "lower
    is better" on both sides; within a venue the order is its book's depth order.
    A venue never takes more than `amount`, so its levels past the one where its
    depth reaches `amount` can never be used and are left out (a deep book then
    costs no more to split than a shallow one).
    """
    buy = side is Side.BUY
    segments: list[_Segment] = []
    for venue in sorted(books):
        factor = 1.0 + fees[venue] if buy else 1.0 - fees[venue]
        depth = 0.0
        for i, (price, size) in enumerate(taking_side(books[venue], side)):
            px = price * factor
            segments.append((px if buy else -px, venue, i, px, size))
            depth += size
            if depth >= amount:
                break
    segments.sort()  # by all-in price, then venue id and depth: deterministic on ties
    return segments


def _better(key: tuple[float, float], than: tuple[float, float], amount: float) -> bool:
    """More filled wins; at the same fill, the lower score (cost, or minus proceeds)."""
    slack = 1e-12 * max(1.0, amount)
    if key[0] > than[0] + slack:
        return True
    if key[0] < than[0] - slack:
        return False
    return key[1] < than[1] - 1e-12 * max(1.0, abs(than[1]))


def _greedy(
    amount: float,
    segments: list[_Segment],
    active: set[str],
    budgets: Mapping[str, float],
    floors: Mapping[str, float],
    side: Side,
) -> tuple[dict[str, float] | None, float]:
    """Take each floored venue's first `floor` units, then the cheapest levels of `active`.

    Returns the allocation and its score (sum of key x amount: the all-in cost of
    a buy, minus the proceeds of a sell), or None when a floored venue cannot
    reach its floor within its depth and balance.
    """
    buy = side is Side.BUY
    budget = {v: b for v, b in budgets.items() if v in active}
    used = [0.0] * len(segments)
    allocation: dict[str, float] = {}
    score = 0.0

    def take_from(i: int, want: float) -> float:
        nonlocal score
        key, venue, _, px, size = segments[i]
        take = min(size - used[i], want)
        if venue in budget:
            take = min(take, budget[venue] / px if buy else budget[venue])
            budget[venue] = max(0.0, budget[venue] - (take * px if buy else take))
        if take <= 0:
            return 0.0
        used[i] += take
        allocation[venue] = allocation.get(venue, 0.0) + take
        score += key * take
        return take

    left = amount
    for venue, floor in sorted(floors.items()):
        need = floor
        for i, segment in enumerate(segments):
            if need <= TOLERANCE:
                break
            if segment[1] == venue:
                need -= take_from(i, need)
        if need > TOLERANCE * max(1.0, floor):
            return None, 0.0
        left -= floor - max(0.0, need)
    for i, segment in enumerate(segments):
        if left <= TOLERANCE:
            break
        if segment[1] in active:
            left -= take_from(i, left)
    return {v: x for v, x in sorted(allocation.items()) if x > TOLERANCE}, score


def _drop_below_minimum(
    amount: float,
    segments: list[_Segment],
    active: set[str],
    budgets: Mapping[str, float],
    minimums: Mapping[str, float],
    side: Side,
) -> dict[str, float]:
    """Heuristic for many venues with minimums: drop those below it and solve again."""
    while True:
        allocation, _ = _greedy(amount, segments, active, budgets, {}, side)
        assert allocation is not None
        below = {v for v, x in allocation.items() if x < minimums.get(v, 0.0) - TOLERANCE}
        if not below:
            return allocation
        active -= below


def all_in_total(
    side: Side | str,
    allocation: Mapping[str, float],
    books: Mapping[str, Mapping],
    taker_fees: Mapping[str, float],
) -> float:
    """Quote paid (buy) or received (sell) for `allocation`, taker fees included.

    The measure `best_split` optimises; a venue whose book cannot fill its
    allocation contributes only what it can fill.
    """
    hedge_side = _parse_side(side)
    sign = 1.0 if hedge_side is Side.BUY else -1.0
    total = 0.0
    for venue, amount in allocation.items():
        walk = walk_book(taking_side(books[venue], hedge_side), amount)
        total += walk.cost * (1.0 + sign * taker_fees[venue])
    return total
