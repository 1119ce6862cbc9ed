"""GLFT's inputs compiled: the fill-intensity window (`IntensityEstimator`) and its fit.

The window is the estimator's own: every home trade's distance from the mid
it was seen at, trades older than `window_s` dropped at a fit, the counts of
trades at least each grid distance away kept as they enter and leave. The fit
is the estimator's weighted least squares of ln(count / span) on distance,
solved here in closed form (centred sums) rather than by numpy's `polyfit`
(LAPACK `gelsd`), so its last bits can differ: by at most 4.4e-15 (relative)
over 3,000 random windows (`tests/unit/engine/backtest/test_kernels.py` holds
it under 1e-12). A depth of d bps then moves a price by about
d * 1e-12 / 1e4 of itself, so `model_kernel` puts GLFT's ladder on the grid
only when every price is further than `FIT_MARGIN` (1e-13 relative: room for
d up to 1,000 bps) from a grid line, where such a difference cannot move a
tick; closer, the live policy decides. The None conditions (too few trades
or distinct counts) are the estimator's, on integer counts.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.quoting.calibration import IntensityEstimator

FIT_MARGIN = 1e-13
"""Relative distance from a grid line beyond which GLFT's compiled fit cannot move a tick."""

# int state: ring head, trades in window, first trade's ts (-1: none), window in ns,
# min trades, capacity
IS_HEAD, IS_COUNT, IS_FIRST, IS_WINDOW_NS, IS_MIN_TRADES = range(5)
IS_SLOTS = 5
# float parameters: window (s), A bounds, k bounds
IP_WINDOW_S, IP_A_LO, IP_A_HI, IP_K_LO, IP_K_HI = range(5)
IP_SLOTS = 5


def intensity_parameters(est: IntensityEstimator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(int state, float parameters, distance grid) of a fresh window, from the estimator."""
    ist = np.zeros(IS_SLOTS, dtype=np.int64)
    ist[IS_FIRST] = -1
    ist[IS_WINDOW_NS] = int(est.window_s * 1e9)  # as `fit` computes its cutoff
    ist[IS_MIN_TRADES] = est.min_trades
    ip = np.zeros(IP_SLOTS)
    ip[IP_WINDOW_S] = est.window_s
    ip[IP_A_LO], ip[IP_A_HI] = est.a_bounds_per_s
    ip[IP_K_LO], ip[IP_K_HI] = est.k_bounds_per_bps
    grid = np.asarray(est._grid, dtype=float)  # the estimator's distance grid
    return ist, ip, grid


@njit(cache=True)
def observe(
    ts_ns: int, price: float, mid: float, ist: np.ndarray, it_ts: np.ndarray,
    it_d: np.ndarray, counts: np.ndarray, grid: np.ndarray,
) -> bool:  # fmt: skip
    """`IntensityEstimator.observe`; False when the ring is full (the caller gives up)."""
    if not (mid > 0 and price > 0):
        return True
    cap = len(it_ts)
    if ist[IS_COUNT] >= cap:
        return False
    if ist[IS_FIRST] < 0:
        ist[IS_FIRST] = ts_ns
    d = abs(price - mid) / mid * 1e4
    j = (ist[IS_HEAD] + ist[IS_COUNT]) % cap
    it_ts[j] = ts_ns
    it_d[j] = d
    ist[IS_COUNT] += 1
    for g in range(len(grid)):
        if d >= grid[g]:
            counts[g] += 1
    return True


@njit(cache=True)
def fit(
    now_ns: int, ist: np.ndarray, ip: np.ndarray, it_ts: np.ndarray, it_d: np.ndarray,
    counts: np.ndarray, grid: np.ndarray,
) -> tuple[bool, float, float]:  # fmt: skip
    """`IntensityEstimator.fit`: (has a fit, A per s, k per bps)."""
    cap = len(it_ts)
    cutoff = now_ns - ist[IS_WINDOW_NS]
    while ist[IS_COUNT] > 0 and it_ts[ist[IS_HEAD]] < cutoff:
        d = it_d[ist[IS_HEAD]]
        for g in range(len(grid)):
            if d >= grid[g]:
                counts[g] -= 1
        ist[IS_HEAD] = (ist[IS_HEAD] + 1) % cap
        ist[IS_COUNT] -= 1
    n = ist[IS_COUNT]
    if n < ist[IS_MIN_TRADES] or ist[IS_FIRST] < 0:
        return False, 0.0, 0.0
    span_s = min(ip[IP_WINDOW_S], (now_ns - ist[IS_FIRST]) / 1e9)
    if span_s <= 0:
        return False, 0.0, 0.0
    n_seen, first_count, distinct = 0, -1, False
    sw = swx = swy = 0.0
    for g in range(len(grid)):
        c = counts[g]
        if c <= 0:
            continue
        n_seen += 1
        if first_count < 0:
            first_count = c
        elif c != first_count:
            distinct = True
        w2 = float(c)  # the weight sqrt(count), squared
        y = math.log(c / span_s)
        sw += w2
        swx += w2 * grid[g]
        swy += w2 * y
    if n_seen < 2 or not distinct:
        return False, 0.0, 0.0
    xm, ym = swx / sw, swy / sw
    sxx = sxy = 0.0
    for g in range(len(grid)):
        c = counts[g]
        if c <= 0:
            continue
        dx = grid[g] - xm
        sxx += c * dx * dx
        sxy += c * dx * (math.log(c / span_s) - ym)
    slope = sxy / sxx
    intercept = ym - slope * xm
    k = min(max(-slope, ip[IP_K_LO]), ip[IP_K_HI])
    a = min(max(math.exp(intercept), ip[IP_A_LO]), ip[IP_A_HI])
    return True, a, k
