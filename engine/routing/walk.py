"""Walking one side of an L2 book: what taking `amount` costs, level by level.

A taker order sweeps the book best price first, so its cost is the sum of
price * amount over the levels it consumes; the last level it touches sets the
marginal price (the worst price it pays, and so the limit an IOC needs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.types import Side


@dataclass(frozen=True, slots=True)
class WalkResult:
    """The outcome of sweeping one book side.

    `avg_price` and `marginal_price` are 0.0 when nothing was filled (an empty
    side or a zero amount): there is no price to report.
    """

    filled: float
    cost: float
    avg_price: float
    marginal_price: float
    levels_used: int


def walk_book(levels: Sequence[Sequence[float]], amount: float) -> WalkResult:
    """Take `amount` base from `levels` (`[[price, amount], ...]`, best first).

    Fills as much as the side holds when it is shallower than `amount`.
    Levels with a non-positive amount are skipped (ccxt books can carry them).
    """
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"amount must be a finite number >= 0, got {amount!r}")
    remaining = amount
    # float noise: 1.85 - 0.9 - 0.95 leaves 1e-16, which must not reach the next level
    done = amount * 1e-12
    taken = 0.0
    cost = 0.0
    marginal = 0.0
    used = 0
    for level in levels:
        if remaining <= done:
            break
        price, size = float(level[0]), float(level[1])
        if size <= 0:
            continue
        take = min(size, remaining)
        cost += price * take
        remaining -= take
        taken += take
        marginal = price
        used += 1
    filled = amount if remaining <= done else taken
    avg = cost / filled if filled > 0 else 0.0
    return WalkResult(
        filled=filled, cost=cost, avg_price=avg, marginal_price=marginal, levels_used=used
    )


def all_in_price(side: Side | str, price: float, fee: float) -> float:
    """Price per base unit including the taker fee: what a buy pays, what a sell keeps."""
    if Side(side) is Side.BUY:
        return price * (1.0 + fee)
    return price * (1.0 - fee)


def taking_side(book: Mapping[str, Any], side: Side | str) -> list[tuple[float, float]]:
    """The levels a `side` order takes from a ccxt-style book, best first.

    A buy takes the asks (cheapest first), a sell the bids (dearest first).
    Sorting here keeps the walk's cost convex even when a venue sends levels out
    of order; levels without a positive price and amount are dropped.
    """
    buy = Side(side) is Side.BUY
    raw = book.get("asks" if buy else "bids") or ()
    levels = [(float(lv[0]), float(lv[1])) for lv in raw]
    levels = [(p, a) for p, a in levels if p > 0 and a > 0]
    levels.sort(key=lambda lv: lv[0], reverse=not buy)
    return levels
