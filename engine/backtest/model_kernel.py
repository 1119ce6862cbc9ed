"""Avellaneda-Stoikov's ladder with the market rules and the grid, compiled for the fast path.

Operation for operation what `AvellanedaStoikovPolicy.desired_quotes`
(`engine.quoting.avellaneda_stoikov`: eqs. 29-30 of Avellaneda and Stoikov 2008,
then `ladder_around`), `apply_market_rules` (vol guard widen/pause,
`clamp_spread`, `one_sided_at_limit`; no users, so no step-back) and
`GridRounder.round` compute, so a decision here is the exact engine's.

Grid rounding: `GridRounder` floors `x / step` in floats unless the quotient is
within 1e-9 (relative) of an integer, where it rounds the decimal `repr(x)`
exactly (`round_quotes`). Both give floor(repr(x) / step) whenever the float
quotient is further than its own error from an integer: `repr(x)` is within
half an ulp of `x`, and `fl(fl(x) / fl(step))` within about 1.5 ulp of the
exact quotient, so `EXACT_MARGIN` (16 ulp) separates them with room. Only
closer than that (a price exactly on a grid line), or two levels on one tick
(the live code merges them), does this return False and the caller run the
live code.

Every coefficient comes from the market config and the policy module
(`model_coefficients`), none is copied.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.backtest.intensity_kernel import FIT_MARGIN
from engine.config import MarketConfig, PolicyName
from engine.quoting.avellaneda_stoikov import depth_floor_notional

EXACT_MARGIN = 16 * 2.0**-52
"""Relative distance from a grid line beyond which float floor/ceil is the exact decimal one."""

# slots of the model's coefficient array
(
    M_GAMMA, M_K, M_HORIZON, M_ROLLING, M_SIGMA_FIXED, M_SIGMA_FALLBACK, M_ORDER_NOTIONAL,
    M_PER_LEVEL, M_SPACING, M_WIDEN, M_MAX_SPREAD_BPS, M_INV_TARGET, M_INV_LIMIT, M_TICK,
    M_LOT, M_SAFE, M_TICK_NS,
) = range(17)  # fmt: skip
M_SLOTS = 17
PAUSE, WIDEN = 2, 1  # `ladder_grid` regime codes


def model_coefficients(
    market: MarketConfig, *, tick_f: float, lot_f: float, tick_ns: int
) -> np.ndarray:
    """The A-S policy's and the market rules' numbers, as `model_levels` reads them."""
    p = market.policy_params
    c = np.zeros(M_SLOTS)
    c[M_GAMMA], c[M_K], c[M_HORIZON] = p.gamma, p.k_per_bps, p.horizon_s
    c[M_ROLLING] = float(p.rolling_horizon)
    c[M_SIGMA_FIXED] = p.sigma_bps_per_sqrt_s if p.sigma_bps_per_sqrt_s else np.nan
    c[M_SIGMA_FALLBACK] = p.sigma_fallback_bps_per_sqrt_s
    c[M_ORDER_NOTIONAL] = market.order_notional_quote
    # `ladder_around`'s notional per level
    c[M_PER_LEVEL] = max(
        market.order_notional_quote / market.levels, depth_floor_notional(market, market.levels)
    )
    c[M_SPACING] = market.level_spacing_bps
    c[M_WIDEN] = market.vol_guard.widen_factor
    c[M_MAX_SPREAD_BPS] = market.max_spread_bps
    c[M_INV_TARGET], c[M_INV_LIMIT] = market.inventory_target, market.inventory_limit
    # GLFT's compiled fit can differ in its last bits: keep clear of grid lines by more
    margin = FIT_MARGIN if market.policy is PolicyName.GLFT else EXACT_MARGIN
    c[M_TICK], c[M_LOT], c[M_SAFE], c[M_TICK_NS] = tick_f, lot_f, margin, tick_ns
    return c


@njit(cache=True)
def _steps(x: float, step_f: float, up: bool, safe: float) -> int:
    """floor (ceil) of x / step as `GridRounder.round` and `round_quotes` put x on the grid;
    -1 when float error could decide (see the module docstring)."""
    if not math.isfinite(x):
        return -1
    q = x / step_f
    if abs(q - math.floor(q + 0.5)) <= safe * max(1.0, abs(q)):
        return -1
    return math.ceil(q) if up else math.floor(q)


@njit(cache=True)
def as_touches(
    mid: float, inventory: float, elapsed_s: float, sigma_online: float, c: np.ndarray
) -> tuple[float, float]:
    """(bid, ask) offsets in bps of mid: `AvellanedaStoikovPolicy.desired_quotes`' model."""
    q = inventory / (c[M_ORDER_NOTIONAL] / mid)
    horizon = c[M_HORIZON]
    t = elapsed_s % horizon
    sigma = c[M_SIGMA_FIXED]
    if math.isnan(sigma):  # `p.sigma or ctx.sigma or fallback`: 0 and None fall through
        sigma = sigma_online if (not math.isnan(sigma_online) and sigma_online != 0.0) else 0.0
        if sigma == 0.0:
            sigma = c[M_SIGMA_FALLBACK]
    if c[M_ROLLING] != 0.0:
        t = 0.0  # `RollingAvellanedaStoikov.quote`: the finite model at t = 0
    gamma = c[M_GAMMA]
    time_left = max(horizon - t, 0.0)
    r = 0.0 - q * gamma * sigma**2 * time_left
    spread = gamma * sigma**2 * time_left + (2.0 / gamma) * math.log1p(gamma / c[M_K])
    half = spread / 2.0
    return r - half, r + half


@njit(cache=True)
def glft_touches(
    mid: float, inventory: float, sigma: float, a: float, k: float, c: np.ndarray
) -> tuple[float, float]:
    """(bid, ask) offsets in bps of mid: `GLFTPolicy.desired_quotes`' model (`GLFT.depths`,
    Gueant 2017 closed form with xi = gamma and Delta = 1)."""
    q = inventory / (c[M_ORDER_NOTIONAL] / mid)
    gamma, order_size = c[M_GAMMA], 1.0
    x = gamma * order_size
    c1 = math.log1p(x / k) / x
    c2 = math.sqrt(gamma / (2.0 * a * order_size * k) * (1.0 + x / k) ** (k / x + 1.0))
    half = order_size / 2.0
    return -(c1 + (half + q) * sigma * c2), c1 + (half - q) * sigma * c2


# kept whole: one compiled loop keeps its state in registers; its body is the hot path
@njit(cache=True)
def model_levels(
    mid: float, inv_lots: int, lpu: int, regime: int, tick: int, sigma_online: float,
    c: np.ndarray, L: int, min_lots: int, min_units: int, want: np.ndarray,
    glft: bool = False, a: float = 0.0, k: float = 0.0,
) -> bool:  # fmt: skip
    """The A-S (or, `glft`, GLFT with intensity `a`, `k`) ladder after the market rules, on
    the grid, into `want` (a row, lots 0 where no level); False when the live code must
    decide (see the module docstring)."""
    want[:] = 0
    if regime == PAUSE:
        return True
    inventory = inv_lots / lpu - c[M_INV_TARGET]
    if glft:
        sigma = c[M_SIGMA_FIXED] if not math.isnan(c[M_SIGMA_FIXED]) else sigma_online
        bid_bps, ask_bps = glft_touches(mid, inventory, sigma, a, k, c)
    else:
        elapsed_s = (tick * c[M_TICK_NS]) / 1e9
        bid_bps, ask_bps = as_touches(mid, inventory, elapsed_s, sigma_online, c)
    size = c[M_PER_LEVEL] / mid
    spacing = c[M_SPACING]
    bids = np.empty(L)
    asks = np.empty(L)
    nb = 0
    for i in range(L):
        p = mid * (1 + (bid_bps - i * spacing) / 1e4)
        if p > 0:
            bids[nb] = p
            nb += 1
    for i in range(L):
        asks[i] = mid * (1 + (ask_bps + i * spacing) / 1e4)
    na = L
    if regime == WIDEN:
        f = c[M_WIDEN]
        for i in range(nb):
            bids[i] = mid + (bids[i] - mid) * f
        for i in range(na):
            asks[i] = mid + (asks[i] - mid) * f
    # `clamp_spread`
    bid = -np.inf
    for i in range(nb):
        bid = max(bid, bids[i])
    ask = np.inf
    for i in range(na):
        ask = min(ask, asks[i])
    has_bid, has_ask = nb > 0, na > 0
    max_spread = mid * c[M_MAX_SPREAD_BPS] / 1e4
    bid_shift = min(0.0, mid - bid) if has_bid else 0.0
    ask_shift = max(0.0, mid - ask) if has_ask else 0.0
    if has_bid and has_ask:
        b, a = bid + bid_shift, ask + ask_shift
        excess = (a - b) - max_spread
        if excess > 0:
            up = min(excess / 2.0, mid - b)
            down = min(excess - up, a - mid)
            up = excess - down
            bid_shift += up
            ask_shift -= down
    elif has_bid:
        bid_shift += max(0.0, (mid - bid - bid_shift) - max_spread / 2.0)
    elif has_ask:
        ask_shift -= max(0.0, (ask + ask_shift - mid) - max_spread / 2.0)
    if not (bid_shift == 0.0 and ask_shift == 0.0):
        for i in range(nb):
            bids[i] = bids[i] + bid_shift
        for i in range(na):
            asks[i] = asks[i] + ask_shift
    # `one_sided_at_limit`
    limit = c[M_INV_LIMIT]
    if not inventory < limit:
        nb = 0
    if not inventory > -limit:
        na = 0
    # the filter (price and amount positive), then `GridRounder.round`
    tick_f, lot_f, safe = c[M_TICK], c[M_LOT], c[M_SAFE]
    if not size > 0:
        return True
    lots = _steps(size, lot_f, False, safe)
    if (nb or na) and lots < 0:
        return False
    for side in range(2):
        n = nb if side == 0 else na
        prices = bids if side == 0 else asks
        base = 0 if side == 0 else 2 * L
        j = 0
        last = -1
        for i in range(n):
            p = prices[i]
            if not p > 0:
                continue
            t = _steps(p, tick_f, side == 1, safe)
            if t < 0:
                return False
            if t <= 0 or lots <= 0:
                continue
            if t == last:
                return False  # merged levels: the live code sums them
            last = t
            if lots >= min_lots and t * lots >= min_units:
                want[base + j] = t
                want[base + L + j] = lots
                j += 1
    return True
