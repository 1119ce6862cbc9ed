"""The vol guard's regime compiled: `SigmaEstimator` (short and long) and `vol_regime` on the
pulled mids, operation for operation with the same libm `log`/`exp`, so the fast path's regime
flips on the very observation the exact engine's does."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# sigma state slots (float64 array): the two variances, the last mid, returns seen
SG_VAR_SHORT, SG_VAR_LONG, SG_LAST_MID, SG_SAMPLES = range(4)
SIGMA_SLOTS = 4


@njit(cache=True)
def _observe(var: float, r2: float, dt_s: float, halflife_s: float, samples: float) -> float:
    """`SigmaEstimator.observe`'s update, the same operations in the same order."""
    if math.isnan(var):
        return r2
    w = max(1.0 - math.exp(-dt_s * math.log(2.0) / halflife_s), 1.0 / (samples + 1))
    return var + w * (r2 - var)


@njit(cache=True)
def sigma_regimes(
    ts_ns: np.ndarray, mids: np.ndarray, min_interval_s: float, short_halflife_s: float,
    long_halflife_s: float, min_samples: int, widen_ratio: float, pause_ratio: float,
    sg: np.ndarray, last_ts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each new reference (`ts_ns`, `mids`) as `SigmaEstimator.observe` (short and long)
    takes it, then `vol_regime`: the regime code and the long sigma (bps/sqrt(s), NaN: none
    yet) after each. `sg` and `last_ts` (the last accepted observation; NaN / -1: none)
    carry to the next call."""
    n = len(mids)
    codes = np.zeros(n, dtype=np.int8)
    sigma_long = np.full(n, np.nan)
    for i in range(n):
        mid = mids[i]
        if mid > 0 and math.isfinite(mid):
            last = sg[SG_LAST_MID]
            if math.isnan(last):
                sg[SG_LAST_MID] = mid
                last_ts[0] = ts_ns[i]
            else:
                dt_s = (ts_ns[i] - last_ts[0]) / 1e9
                if dt_s >= min_interval_s:
                    sg[SG_LAST_MID] = mid
                    last_ts[0] = ts_ns[i]
                    r_bps = math.log(mid / last) * 1e4
                    r2 = r_bps * r_bps / dt_s
                    k = sg[SG_SAMPLES]
                    sg[SG_VAR_SHORT] = _observe(sg[SG_VAR_SHORT], r2, dt_s, short_halflife_s, k)
                    sg[SG_VAR_LONG] = _observe(sg[SG_VAR_LONG], r2, dt_s, long_halflife_s, k)
                    sg[SG_SAMPLES] = k + 1
        vs, vl = sg[SG_VAR_SHORT], sg[SG_VAR_LONG]
        if not math.isnan(vl):
            sigma_long[i] = math.sqrt(vl)
        if math.isnan(vl) or sg[SG_SAMPLES] < min_samples:
            continue
        short, long = math.sqrt(vs), math.sqrt(vl)
        if long <= 0:
            codes[i] = 2 if short > 0 else 0
            continue
        ratio = short / long
        codes[i] = 2 if ratio >= pause_ratio else (1 if ratio >= widen_ratio else 0)
    return codes, sigma_long
