"""A generated ladder whose levels rest between refreshes (`book.model: resting`).

The `redraw` model (`engine/sim/books.py`) puts level i at a fixed distance
from each refresh's mid and redraws every amount, so every level of a book
changes at every refresh: a diff-depth event carries 150-200 changes, where a
real venue's 100 ms diff carries a handful (most of a book rests; the touch
moves). At 50 streamed symbols on three venues those changes are most of what
venue-sim encodes and ccxt.pro applies (BENCHMARKS.md, "50 markets").

Here only the touch follows the mid (`half_spread_bps` from it, as in the
redraw model). Deeper levels rest on a price grid fixed in log space for the
venue, level k at `(1 + level_spacing_bps / 1e4) ** k`, so a level keeps its
price until the mid walks through it. A level's amount is the profile's
notional for its distance (in levels) from an *anchor* mid, re-read every
`ANCHOR_S` with each symbol on its own phase, times a jitter the level keeps
for `AMOUNT_HOLD_S` (each level on its own phase). Between two refreshes a
book then changes at the touch, where the mid crossed grid levels, and at the
~1 level in 20 whose jitter rolled over; once per `ANCHOR_S` a symbol's
amounts move with its anchor. Mean depth still grows away from the touch as
the profile says (Cont, Stoikov & Talreja 2010, section 2).

Still a pure function of (seed, venue, symbol, bucket): the jitter is a
counter-based hash (SplitMix64, Steele, Lea & Flood 2014, "Fast splittable
pseudorandom number generators") of the level and its hold period, so every
process sees the same book and a deeper request extends the same levels.
Prices and amounts go through `ladder.side_counts`, the same grid rule (and
exact fallback) as the redraw model.
"""

from __future__ import annotations

import math

import numpy as np

from engine.config import BookProfileConfig, SymbolRulesConfig
from engine.sim.ladder import Count, side_counts

ANCHOR_S = 10.0  # how long a symbol's amounts keep the anchor mid they were sized from
AMOUNT_HOLD_S = 5.0  # how long a resting level keeps its jitter draw

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def periods(seconds: float, refresh_ms: int) -> int:
    """`seconds` in refresh buckets, at least one."""
    return max(1, round(seconds * 1000 / refresh_ms))


def anchor_bucket(bucket: int, symbol_key: int, refresh_ms: int) -> int:
    """The bucket whose reference mid sizes `bucket`'s levels: the start of its anchor
    window, the windows of each symbol shifted by its own phase (so 50 symbols do not
    all resize in one refresh)."""
    window = periods(ANCHOR_S, refresh_ms)
    phase = symbol_key % window
    return max(0, (bucket + phase) // window * window - phase)


def resting_ladder(
    mid: float,
    anchor_mid: float,
    profile: BookProfileConfig,
    rules: SymbolRulesConfig,
    n_levels: int,
    key: int,
    bucket: int,
    jitter: float,
    touch_jitter: tuple[float, float],
) -> tuple[list[Count], list[Count]]:
    """(bids, asks) best first as (ticks, lots) counts, `n_levels` a side: the touch at
    `mid` -/+ `half_spread_bps` holding its notional times `1 + touch_jitter[side]`, then
    the grid levels beyond it (module docstring). `key` is the book's hash key (seed,
    venue, symbol); `jitter` the half-range of a grid level's amount draw."""
    step = math.log1p(profile.level_spacing_bps / 1e4)
    half_spread = profile.half_spread_bps / 1e4
    touch_bid, touch_ask = mid * (1.0 - half_spread), mid * (1.0 + half_spread)
    n = n_levels - 1
    j = np.arange(n, dtype=np.int64)
    bid_ks = _first_level(touch_bid, step, bid=True) - j
    ask_ks = _first_level(touch_ask, step, bid=False) + j
    # distance in levels from the anchor's touch: 1 for the level just past it
    bid_rank = _first_level(anchor_mid * (1.0 - half_spread), step, bid=True) - bid_ks + 1
    ask_rank = ask_ks - _first_level(anchor_mid * (1.0 + half_spread), step, bid=False) + 1
    rank = np.concatenate([bid_rank, ask_rank])
    quote = profile.level_notional_quote * profile.depth_growth ** np.clip(
        rank, 0, profile.levels - 1
    )
    level_ids = np.concatenate([bid_ks * 2, ask_ks * 2 + 1])  # one id per side and level
    quote *= 1.0 + jitter * (2.0 * _draws(key, level_ids, bucket, profile.refresh_ms) - 1.0)
    ks = np.concatenate([bid_ks, ask_ks])
    prices = np.exp(ks * step)
    touch_quote = profile.level_notional_quote
    bids = side_counts(
        np.concatenate([[touch_bid], prices[:n]]),
        np.concatenate([[touch_quote * (1.0 + touch_jitter[0])], quote[:n]]),
        rules,
        bid=True,
    )
    asks = side_counts(
        np.concatenate([[touch_ask], prices[n:]]),
        np.concatenate([[touch_quote * (1.0 + touch_jitter[1])], quote[n:]]),
        rules,
        bid=False,
    )
    return bids, asks


def _first_level(touch: float, step: float, *, bid: bool) -> int:
    """The grid index of the first level past `touch`: below it for bids, above for asks."""
    at = math.log(touch) / step
    return math.ceil(at) - 1 if bid else math.floor(at) + 1


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x + _G
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _draws(key: int, level_ids: np.ndarray, bucket: int, refresh_ms: int) -> np.ndarray:
    """One U[0, 1) draw per level for `bucket`: a level keeps its draw for a hold period
    of `AMOUNT_HOLD_S`, each level's period starting at its own phase (from the level's
    hash), so levels roll over one by one rather than all at once."""
    hold = periods(AMOUNT_HOLD_S, refresh_ms)
    level_hash = _mix(level_ids.view(np.uint64) ^ np.uint64(key & _MASK))
    phase = (level_hash % np.uint64(hold)).astype(np.int64)
    epoch = ((bucket + phase) // hold).astype(np.uint64)
    return (_mix(level_hash ^ epoch) >> np.uint64(11)).astype(np.float64) * 2.0**-53
