"""The price/amount ladder of a generated book: the exact rule, and the same rule in numpy.

A simulated venue regenerates every watched book each refresh bucket (at 50
symbols on three venues that is 600 books a second), and the pure-Decimal loop
(`ladder_reference`) spent most of venue-sim's CPU on `Decimal(repr(x))` and
grid rounding, level by level (bench/venue_sim_streams.py, issue 14).
`ladder` computes the same levels with float arrays as integer *counts*: a
price as ticks, an amount as lots (`price = count * tick_size`). The streams
diff and print counts without building a `Decimal`; `to_levels` builds the
exact levels for whoever trades on them.

Why the float path gives the same result: every product or quotient whose
rounding could move a level is either exact or checked. A level's grid count
is `floor(x / step)` of a float `x`; the float quotient is within a few ulps
of the exact one, so it can only round across an integer when it lies within
a relative `_NEAR` of one, and those few counts are recomputed exactly (from
`Decimal(repr(x))`, as the reference does). A price's float is `(count * m) *
10**e` or `/ 10**-e` for a step `m * 10**e`: one correctly rounded operation
on exact integers, so it equals `float(price)` as the reference computes it.
`tests/unit/engine/sim/test_ladder.py` holds the two paths equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

from engine.config import SymbolRulesConfig

_NEAR = 1e-9  # relative distance to an integer below which a float count is rechecked
_MAX_EXACT_INT = 2**52  # counts (times the step's mantissa) floats hold exactly

Level = tuple[Decimal, Decimal]  # (price, amount)
Count = tuple[int, int]  # (price in ticks, amount in lots)


def on_grid(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Round `value` onto the grid of `step` (a tick or a lot) in the given direction."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def ladder_reference(
    mid: float,
    distances: Sequence[float],
    notionals: Sequence[float],
    jitter: np.ndarray,
    rules: SymbolRulesConfig,
) -> tuple[list[Level], list[Level]]:
    """(bids, asks) best first: level i at `mid * (1 -/+ distances[i])` on the tick grid
    (floored for bids, ceiled for asks, kept distinct on a coarse tick, bids above 0),
    holding `notionals[i] * (1 + jitter[side, i])` of quote on the lot grid (at least a lot)."""
    dist = np.asarray(distances, dtype=np.float64)
    bid_x, ask_x, bid_q, ask_q = _sides(mid, dist, notionals, jitter)
    return side_reference(bid_x, bid_q, rules, bid=True), side_reference(
        ask_x, ask_q, rules, bid=False
    )


def side_reference(
    prices: np.ndarray, quotes: np.ndarray, rules: SymbolRulesConfig, *, bid: bool
) -> list[Level]:
    """One side, best first, exactly: price i is `prices[i]` on the tick grid (floored
    for bids, ceiled for asks, one tick past the level before where a coarse tick
    would repeat it; bids stop at 0), holding `quotes[i]` of quote floored onto the lot
    grid (at least a lot)."""
    tick, lot = rules.tick_size, rules.lot_size
    out: list[Level] = []
    for x, quote in zip(prices.tolist(), quotes.tolist(), strict=True):
        price = on_grid(Decimal(repr(x)), tick, ROUND_FLOOR if bid else ROUND_CEILING)
        if out and (price >= out[-1][0] if bid else price <= out[-1][0]):
            price = out[-1][0] - tick if bid else out[-1][0] + tick
        if price <= 0:  # bids fall level by level: nothing past this one is above 0
            break
        out.append(
            (price, max(on_grid(Decimal(repr(quote / float(price))), lot, ROUND_FLOOR), lot))
        )
    return out


def _sides(
    mid: float, dist: np.ndarray, notionals: Sequence[float], jitter: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bid prices, ask prices, bid quotes, ask quotes) as floats, before any grid."""
    notional = np.asarray(notionals, dtype=np.float64)
    n = len(dist)
    return (
        mid * (1.0 - dist),
        mid * (1.0 + dist),
        notional * (1.0 + jitter[0, :n]),
        notional * (1.0 + jitter[1, :n]),
    )


def ladder(
    mid: float,
    distances: Sequence[float],
    notionals: Sequence[float],
    jitter: np.ndarray,
    rules: SymbolRulesConfig,
) -> tuple[list[Count], list[Count]]:
    """`ladder_reference`'s levels as (ticks, lots) counts, computed on arrays (see the
    module docstring); exactly, level by level, on a grid floats cannot carry."""
    bid_x, ask_x, bid_q, ask_q = _sides(
        mid, np.asarray(distances, dtype=np.float64), notionals, jitter
    )
    return side_counts(bid_x, bid_q, rules, bid=True), side_counts(ask_x, ask_q, rules, bid=False)


def side_counts(
    prices: np.ndarray, quotes: np.ndarray, rules: SymbolRulesConfig, *, bid: bool
) -> list[Count]:
    """`side_reference`'s levels as (ticks, lots) counts: on float arrays where floats
    carry the grid exactly, else through the exact loop."""
    counts = _float_side(prices, quotes, rules, bid)
    if counts is not None:
        return counts
    return to_counts(
        side_reference(prices, quotes, rules, bid=bid), rules.tick_size, rules.lot_size
    )


def _float_side(
    prices: np.ndarray, quotes: np.ndarray, rules: SymbolRulesConfig, bid: bool
) -> list[Count] | None:
    """The counts on float arrays, or None where a value or a step is past what a
    float holds exactly."""
    tick, lot = rules.tick_size, rules.lot_size
    tick_parts = step_parts(tick)
    if tick_parts[0] >= _MAX_EXACT_INT or abs(tick_parts[1]) > 22:
        return None
    price_n = _counts(prices, tick, ROUND_FLOOR if bid else ROUND_CEILING)
    if price_n is None:
        return None
    # distinct prices on a coarse tick, as the reference's loop keeps them:
    # b'[i] = min(b[i], b'[i-1] - 1) and a'[i] = max(a[i], a'[i-1] + 1)
    steps = np.arange(len(price_n), dtype=np.int64)
    if bid:
        price_n = np.minimum.accumulate(price_n + steps) - steps
        price_n = price_n[: int(np.count_nonzero(price_n > 0))]  # a prefix stays above 0
    else:
        price_n = np.maximum.accumulate(price_n - steps) + steps
    lots = _amounts(quotes[: len(price_n)], price_n, tick_parts, lot)
    if lots is None:
        return None
    return list(zip(price_n.tolist(), lots, strict=True))


def to_levels(counts: Sequence[Count], tick: Decimal, lot: Decimal) -> list[Level]:
    """Exact (price, amount) of each count: the very values `on_grid` returns."""
    return [(Decimal(n) * tick, Decimal(a) * lot) for n, a in counts]


def to_counts(levels: Sequence[Level], tick: Decimal, lot: Decimal) -> list[Count]:
    """(ticks, lots) of each on-grid level (exact: a grid value over its step)."""
    return [(int(p / tick), int(a / lot)) for p, a in levels]


def step_parts(step: Decimal) -> tuple[int, int]:
    """(m, e) with step = m * 10**e and m a positive integer (config keeps steps > 0)."""
    if not step.is_finite() or step <= 0:
        raise ValueError(f"a grid step must be above 0, got {step}")
    _sign, digits, exponent = step.as_tuple()
    assert isinstance(exponent, int)
    return int("".join(map(str, digits))), exponent


def _counts(x: np.ndarray, step: Decimal, rounding: str) -> np.ndarray | None:
    """`on_grid(Decimal(repr(x)), step, rounding) / step` for each x, as int64 counts."""
    q = x / float(step)
    rounded = np.floor(q) if rounding == ROUND_FLOOR else np.ceil(q)
    if not np.all(np.abs(q) < _MAX_EXACT_INT):
        return None
    counts = rounded.astype(np.int64)
    near = np.abs(q - np.rint(q)) <= _NEAR * np.maximum(np.abs(q), 1.0)
    for k in np.flatnonzero(near).tolist():  # within float error of the grid: decide exactly
        value = Decimal(repr(float(x[k])))
        counts[k] = int((value / step).to_integral_value(rounding=rounding))
    return counts


def _amounts(
    quote: np.ndarray, price_n: np.ndarray, tick_parts: tuple[int, int], lot: Decimal
) -> list[int] | None:
    """Each level's amount in lots: `quote / price` floored onto the lot grid, at least 1."""
    m, e = tick_parts
    if not np.all(np.abs(price_n.astype(np.float64)) * m < _MAX_EXACT_INT):
        return None
    scaled = (price_n * m).astype(np.float64)  # exact: below 2**52
    price_f = scaled * 10.0**e if e >= 0 else scaled / 10.0 ** (-e)
    raw = quote / price_f
    counts = _counts(raw, lot, ROUND_FLOOR)
    if counts is None:
        return None
    return np.maximum(counts, 1).tolist()
