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
minimum). They are handled by a heuristic: drop every venue whose allocation
falls below its minimum and solve again without it, until nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from engine.routing.walk import all_in_price, taking_side, walk_book
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
    venue's allocation 0 or at least that much (heuristic, see module doc).
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
    active = set(books)
    while True:
        allocation = _greedy(hedge_side, amount, books, active, taker_fees, balances or {})
        below = {
            v for v, x in allocation.items() if x < (min_amounts or {}).get(v, 0.0) - TOLERANCE
        }
        if not below:
            return allocation
        active -= below


def _greedy(
    side: Side,
    amount: float,
    books: Mapping[str, Mapping],
    active: set[str],
    taker_fees: Mapping[str, float],
    balances: Mapping[str, float],
) -> dict[str, float]:
    """Take the cheapest all-in level across `active` venues until `amount` is met."""
    buy = side is Side.BUY
    segments: list[tuple[float, str, int, float, float]] = []
    for venue in sorted(active):
        for i, (price, size) in enumerate(taking_side(books[venue], side)):
            px = all_in_price(side, price, taker_fees[venue])
            segments.append((px if buy else -px, venue, i, px, size))
    segments.sort()  # by all-in price, then venue id and depth: deterministic on ties
    budget = {v: float(b) for v, b in balances.items() if v in active}
    allocation: dict[str, float] = {}
    left = amount
    for _, venue, _, px, size in segments:
        if left <= TOLERANCE:
            break
        take = min(size, left)
        if venue in budget:
            take = min(take, budget[venue] / px if buy else budget[venue])
            budget[venue] = max(0.0, budget[venue] - (take * px if buy else take))
        if take <= 0:
            continue
        allocation[venue] = allocation.get(venue, 0.0) + take
        left -= take
    return {v: x for v, x in sorted(allocation.items()) if x > TOLERANCE}


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
