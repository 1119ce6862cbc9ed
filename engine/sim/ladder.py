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
    tick = rules.tick_size
    bids: list[Level] = []
    asks: list[Level] = []
    for i, (distance, notional) in enumerate(zip(distances, notionals, strict=True)):
        bid = on_grid(Decimal(repr(mid * (1.0 - distance))), tick, ROUND_FLOOR)
        if bids and bid >= bids[-1][0]:  # coarse tick: keep prices distinct
            bid = bids[-1][0] - tick
        if bid > 0:
            bids.append((bid, _amount(notional, bid, float(jitter[0, i]), rules.lot_size)))
        ask = on_grid(Decimal(repr(mid * (1.0 + distance))), tick, ROUND_CEILING)
        if asks and ask <= asks[-1][0]:
            ask = asks[-1][0] + tick
        asks.append((ask, _amount(notional, ask, float(jitter[1, i]), rules.lot_size)))
    return bids, asks


def _amount(notional: float, price: Decimal, jitter: float, lot: Decimal) -> Decimal:
    raw = Decimal(repr(notional * (1.0 + jitter) / float(price)))
    return max(on_grid(raw, lot, ROUND_FLOOR), lot)


def ladder(
    mid: float,
    distances: Sequence[float],
    notionals: Sequence[float],
    jitter: np.ndarray,
    rules: SymbolRulesConfig,
) -> tuple[list[Count], list[Count]]:
    """`ladder_reference`'s levels as (ticks, lots) counts, computed on arrays (see the
    module docstring); exactly, level by level, on a grid floats cannot carry."""
    counts = _float_counts(mid, distances, notionals, jitter, rules)
    if counts is not None:
        return counts
    bids, asks = ladder_reference(mid, distances, notionals, jitter, rules)
    tick, lot = rules.tick_size, rules.lot_size
    return to_counts(bids, tick, lot), to_counts(asks, tick, lot)


def _float_counts(
    mid: float,
    distances: Sequence[float],
    notionals: Sequence[float],
    jitter: np.ndarray,
    rules: SymbolRulesConfig,
) -> tuple[list[Count], list[Count]] | None:
    """The counts on float arrays, or None where a value or a step is past what a
    float holds exactly."""
    tick, lot = rules.tick_size, rules.lot_size
    tick_parts = step_parts(tick)
    if tick_parts[0] >= _MAX_EXACT_INT or abs(tick_parts[1]) > 22:
        return None
    dist = np.asarray(distances, dtype=np.float64)
    steps = np.arange(len(dist), dtype=np.int64)
    bid_n = _counts(mid * (1.0 - dist), tick, ROUND_FLOOR)
    ask_n = _counts(mid * (1.0 + dist), tick, ROUND_CEILING)
    if bid_n is None or ask_n is None:
        return None
    # distinct prices on a coarse tick, as the reference's loop keeps them:
    # b'[i] = min(b[i], b'[i-1] - 1) and a'[i] = max(a[i], a'[i-1] + 1)
    bid_n = np.minimum.accumulate(bid_n + steps) - steps
    ask_n = np.maximum.accumulate(ask_n - steps) + steps
    kept = int(np.count_nonzero(bid_n > 0))  # bids fall level by level: a prefix stays
    notional = np.asarray(notionals, dtype=np.float64)
    bid_n = bid_n[:kept]
    bid_lots = _amounts(notional[:kept] * (1.0 + jitter[0, :kept]), bid_n, tick_parts, lot)
    ask_lots = _amounts(notional * (1.0 + jitter[1, : len(dist)]), ask_n, tick_parts, lot)
    if bid_lots is None or ask_lots is None:
        return None
    bids = list(zip(bid_n.tolist(), bid_lots, strict=True))
    return bids, list(zip(ask_n.tolist(), ask_lots, strict=True))


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
