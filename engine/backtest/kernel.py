"""The fast backtest's sequential part compiled: one chunk of ticks, with numba.

`MarketBacktest` decides on every tick that brings news (takers, a pulled
reference) or a due requote timer; this kernel does exactly that, tick by
tick, on arrays: the takers of a tick walk the live ladder (a flat row
`[bid ticks] [bid lots] [ask ticks] [ask lots] inv`, levels best first), the
inventory moves, and a decision puts the desired ladder on the grid and runs
the requote rule (`engine.quoting.base.needs_requote`: level count, price
moved by more than `requote_tolerance_bps`, size off by more than
`REQUOTE_SIZE_CHANGE`). No survival intervals, no lazy ladders: compiled, the
plain check at every decision is cheaper than the bookkeeping that avoided it.

The ladder in its linear state (vol guard NORMAL, spread clamp idle: every
price `mid * k(inventory)`) is priced here from `LadderCoefficients`, read
from the `LadderPolicy` object and the market (`coefficients_of`), so no
coefficient is copied; Avellaneda-Stoikov and GLFT by `model_kernel` (GLFT's
intensity window and fit: `intensity_kernel`, fed each fill as the quoter's
`on_trades` is). What none of them prices (a ladder the vol guard widens or
the spread clamp moves, a price too close to a grid line to round in floats,
levels merging on one tick) stops the kernel with `NEED_LADDER`; the caller
runs the live policy and rules (`LadderOnGrid.live_quotes`) and resumes it
with that ladder in `want`.

`run_chunk.py_func` is the same loop interpreted; with numba's JIT off every
kernel is plain Python, the reference the compiled run is tested against
(`tests/unit/engine/backtest/test_kernels.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from engine.backtest.intensity_kernel import fit, observe
from engine.backtest.ladder_grid import NORMAL, LadderOnGrid
from engine.backtest.model_kernel import (
    EXACT_MARGIN,
    M_SIGMA_FIXED,
    _steps,
    model_coefficients,
    model_levels,
)
from engine.config import PolicyName
from engine.quoting.base import REQUOTE_SIZE_CHANGE
from engine.quoting.guards import quoted_sides

DONE, NEED_LADDER, WINDOW_FULL = 0, 1, 2
_EPS = 1e-9  # as `ladder_grid._clamp_free`: this close to the clamp, the live code decides

# state slots (int64 array carried from chunk to chunk)
INV, REGIME, LAST_QUOTE, TRADE_SEQ, CUR_REP, CUR_NB, TICK, PHASE = range(8)
N_VER, N_REP, N_FILL, TK_I, DECISIONS, LANDS_AT = range(8, 14)
STATE_SLOTS = 14
# float state slots
LAST_MID = 0
FSTATE_SLOTS = 1
# coefficient slots (float64 array)
C_INV_TARGET, C_INV_LIMIT, C_SKEW_AT_LIMIT, C_MAX_SKEW, C_FLOOR_FACTOR = range(5)
C_LEVEL_NOTIONAL, C_TICK, C_LOT, C_TOL_BPS, C_MAX_SPREAD, C_SHRINK_SHARE, C_MARGIN = range(5, 12)
C_SLOTS = 12
# integer coefficient slots
I_LPU, I_TPU, I_MIN_LOTS, I_MIN_UNITS, I_PULL, I_REQUOTE, I_CLAMP_NEVER, I_POLICY = range(8)
I_START_NS, I_TICK_NS, I_ENTRY_TICKS = 8, 9, 10
I_SLOTS = 11
# policies (I_POLICY): the ladder, A-S and GLFT are priced here (`model_kernel`,
# `intensity_kernel`); any other by the live code at each decision
LADDER, AVELLANEDA_STOIKOV, GLFT, LIVE = 0, 1, 2, 3
POLICY_CODES = {
    PolicyName.LADDER: LADDER,
    PolicyName.AVELLANEDA_STOIKOV: AVELLANEDA_STOIKOV,
    PolicyName.GLFT: GLFT,
}


@dataclass(frozen=True, slots=True)
class LadderCoefficients:
    """The ladder policy, the market rules and the grid as arrays the kernel reads."""

    offsets_bps: np.ndarray
    real: np.ndarray
    integer: np.ndarray
    model: np.ndarray
    """The A-S policy's coefficients (`model_kernel.model_coefficients`)."""


def coefficients_of(
    lad: LadderOnGrid,
    *,
    pull_ticks: int,
    requote_ticks: int,
    tick_ns: int,
    start_ns: int,
    entry_ticks: int = 0,
) -> LadderCoefficients:
    """Every number the kernel prices with, read from the policy object and the market."""
    m, policy = lad.market, lad.policy
    real = np.zeros(C_SLOTS)
    real[C_INV_TARGET] = m.inventory_target
    real[C_INV_LIMIT] = m.inventory_limit
    real[C_SKEW_AT_LIMIT] = m.skew_bps_at_limit
    real[C_MAX_SKEW] = policy.max_skew_bps
    real[C_FLOOR_FACTOR] = policy.floor_notional_quote / policy.level_notional_quote
    real[C_LEVEL_NOTIONAL] = policy.level_notional_quote
    real[C_TICK] = lad.tick_f
    real[C_LOT] = lad.lot_f
    real[C_TOL_BPS] = m.requote_tolerance_bps
    real[C_MAX_SPREAD] = lad.max_spread
    real[C_SHRINK_SHARE] = REQUOTE_SIZE_CHANGE
    real[C_MARGIN] = EXACT_MARGIN
    integer = np.zeros(I_SLOTS, dtype=np.int64)
    integer[I_LPU], integer[I_TPU] = lad.lpu, lad.tpu
    integer[I_MIN_LOTS], integer[I_MIN_UNITS] = lad.min_lots, lad.min_units
    integer[I_PULL], integer[I_REQUOTE] = pull_ticks, requote_ticks
    integer[I_CLAMP_NEVER] = int(lad.clamp_never)
    integer[I_POLICY] = POLICY_CODES.get(m.policy, LIVE)
    integer[I_START_NS], integer[I_TICK_NS] = start_ns, tick_ns
    integer[I_ENTRY_TICKS] = entry_ticks
    # the kernel's one-sided rule is `quoted_sides`: check it reads the same
    assert quoted_sides(m.inventory_limit, m.inventory_limit) == (False, True)
    model = model_coefficients(m, tick_f=lad.tick_f, lot_f=lad.lot_f, tick_ns=tick_ns)
    offsets = np.asarray(policy.offsets_bps, dtype=float)
    return LadderCoefficients(offsets, real, integer, model)


@njit(cache=True)
def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else (hi if x > hi else x)


@njit(cache=True)
def desired_linear(
    mid: float, inv: int, regime: int, offs: np.ndarray, cf: np.ndarray, ci: np.ndarray,
    want: np.ndarray,
) -> bool:  # fmt: skip
    """The ladder at `mid`, `inv` lots on the grid into `want` (as a row, lots 0 where no
    level); False when the state is not linear (the live code must price it)."""
    L = len(offs)
    inventory = inv / ci[I_LPU] - cf[C_INV_TARGET]
    limit = cf[C_INV_LIMIT]
    q = _clamp(inventory / limit, -1.0, 1.0)
    max_skew = cf[C_MAX_SKEW]
    skew = _clamp(cf[C_SKEW_AT_LIMIT] * q, -max_skew, max_skew)
    shrunk = 0.0 if abs(q) >= 1.0 else 1.0 - (1.0 - cf[C_FLOOR_FACTOR]) * abs(q)
    bf, af = (shrunk, 1.0) if q > 0 else (1.0, shrunk)
    has_b = bf > 0 and inventory < limit
    has_a = af > 0 and inventory > -limit
    if regime != NORMAL:
        return False
    if not ci[I_CLAMP_NEVER]:  # `LadderOnGrid._clamp_free` on the touches
        b0 = 1 - (offs[0] + skew) / 1e4
        a0 = 1 + (offs[0] - skew) / 1e4
        ms = cf[C_MAX_SPREAD]
        if has_b and has_a:
            ok = b0 < 1 - _EPS and a0 > 1 + _EPS and a0 - b0 < ms * (1 - _EPS)
        elif has_b:
            ok = b0 < 1 - _EPS and 1 - b0 < ms / 2 * (1 - _EPS)
        elif has_a:
            ok = a0 > 1 + _EPS and a0 - 1 < ms / 2 * (1 - _EPS)
        else:
            ok = True
        if not ok:
            return False
    want[:] = 0
    size = cf[C_LEVEL_NOTIONAL] / mid
    tick_f, lot_f, min_units = cf[C_TICK], cf[C_LOT], ci[I_MIN_UNITS]
    margin = cf[C_MARGIN]
    if has_b:
        n = _steps(size * bf, lot_f, False, margin)
        if n < 0:
            return False
        if n >= ci[I_MIN_LOTS]:
            j = 0
            for i in range(L):
                t = _steps(mid * (1 - (offs[i] + skew) / 1e4), tick_f, False, margin)
                if t < 0:
                    return False
                if t > 0 and t * n >= min_units:
                    want[j] = t
                    want[L + j] = n
                    j += 1
    if has_a:
        n = _steps(size * af, lot_f, False, margin)
        if n < 0:
            return False
        if n >= ci[I_MIN_LOTS]:
            j = 0
            for i in range(L):
                t = _steps(mid * (1 + (offs[i] - skew) / 1e4), tick_f, True, margin)
                if t < 0:
                    return False
                if t * n >= min_units:
                    want[2 * L + j] = t
                    want[3 * L + j] = n
                    j += 1
    return True


@njit(cache=True)
def needs_requote(
    row: np.ndarray, want: np.ndarray, L: int, mid: float, cf: np.ndarray, ci: np.ndarray
) -> bool:
    """`engine.quoting.base.needs_requote` on the grid: live levels (lots > 0) against the
    desired ones, rank by rank per side."""
    tol = mid * cf[C_TOL_BPS] / 1e4
    tpu, lpu, share = ci[I_TPU], ci[I_LPU], cf[C_SHRINK_SHARE]
    for base in (0, 2 * L):
        nw = 0
        for i in range(L):
            if want[base + L + i]:
                nw += 1
        j = 0
        for i in range(L):
            h_lots = row[base + L + i]
            if not h_lots:
                continue
            if j >= nw:
                return True
            hp, wp = row[base + i] / tpu, want[base + j] / tpu
            ha, wa = h_lots / lpu, want[base + L + j] / lpu
            j += 1
            if abs(hp - wp) > tol or abs(ha - wa) > share * abs(wa):
                return True
        if j != nw:
            return True
    return False


@njit(cache=True)
def _place(
    t: int, row: np.ndarray, want: np.ndarray, st: np.ndarray, ver_tick: np.ndarray,
    ver_rows: np.ndarray, rep_tick: np.ndarray, rep_ver: np.ndarray, L: int,
) -> None:  # fmt: skip
    """The ladder in `want` replaces the live one at tick `t` (cancel-all, place)."""
    row[: 4 * L] = want
    row[4 * L] = st[INV]
    nb = 0
    for i in range(L):
        if want[L + i]:
            nb += 1
    st[CUR_NB] = nb
    v = st[N_VER]
    ver_tick[v] = t
    ver_rows[v, :] = row
    st[N_VER] = v + 1
    r = st[N_REP]
    rep_tick[r] = t
    rep_ver[r] = v
    st[N_REP] = r + 1
    st[CUR_REP] = r


# kept whole: one compiled loop keeps its state in registers; its body is the hot path
@njit(cache=True)
def run_chunk(
    c0: int, c1: int, mid: np.ndarray, regime: np.ndarray, news: np.ndarray,
    tk_tick: np.ndarray, tk_lots: np.ndarray, tk_ts: np.ndarray, tk_informed: np.ndarray,
    tk_coin_buy: np.ndarray, tk_ref: np.ndarray, sigma: np.ndarray,
    offs: np.ndarray, cf: np.ndarray, ci: np.ndarray, cm: np.ndarray,
    ist: np.ndarray, ip: np.ndarray, it_ts: np.ndarray, it_d: np.ndarray, counts: np.ndarray,
    grid: np.ndarray,
    st: np.ndarray, fst: np.ndarray, row: np.ndarray, want: np.ndarray, have_want: bool,
    ver_tick: np.ndarray, ver_rows: np.ndarray, rep_tick: np.ndarray, rep_ver: np.ndarray,
    fills_i: np.ndarray, fills_f: np.ndarray,
) -> int:  # fmt: skip
    """Ticks [st[TICK], c1) of the chunk [c0, c1); DONE, or NEED_LADDER with st[TICK] the
    tick whose decision needs the live code (call again with its ladder in `want`).

    Logs ladder versions (after each taker tick and each replacement), replacements and
    fills (int columns: ts, tick, maker buy, ticks, lots, replacement, level, trade seq;
    float: the reference mid the fill was seen at) for `engine.backtest.fast_rows`.
    """
    L = len(offs)
    R = ci[I_REQUOTE]
    glft = ci[I_POLICY] == GLFT
    tpu = ci[I_TPU]
    n_tk = len(tk_tick)
    t = st[TICK]
    while t < c1:
        i0 = t - c0
        if st[PHASE] == 0:
            if st[LANDS_AT] == t:  # a replacement sent `entry` ticks ago lands first
                _place(t, row, want, st, ver_tick, ver_rows, rep_tick, rep_ver, L)
                st[LANDS_AT] = -1
            k = st[TK_I]
            if k < n_tk and tk_tick[k] == t:
                # takers of this tick: informed ones follow the reference against the home mid
                fill_mid = mid[i0 - 1] if i0 > 0 else fst[LAST_MID]
                bb, ba = 0, 0
                for i in range(L):
                    if row[L + i]:
                        bb = row[i]
                        break
                for i in range(L):
                    if row[3 * L + i]:
                        ba = row[2 * L + i]
                        break
                informed_known = bb != 0 and ba != 0
                informed_buy = informed_known and tk_ref[k] > (bb + ba) / tpu / 2
                while k < n_tk and tk_tick[k] == t:
                    buy = informed_buy if (tk_informed[k] and informed_known) else tk_coin_buy[k]
                    lots = tk_lots[k]
                    base = 2 * L if buy else 0  # a buying taker lifts the asks
                    for i in range(base, base + L):
                        have = row[i + L]
                        if not have:
                            continue
                        qty = min(lots, have)
                        row[i + L] = have - qty
                        lots -= qty
                        st[TRADE_SEQ] += 1
                        st[INV] += -qty if buy else qty
                        n = st[N_FILL]
                        fills_i[n, 0] = tk_ts[k]
                        fills_i[n, 1] = t
                        fills_i[n, 2] = 0 if buy else 1
                        fills_i[n, 3] = row[i]
                        fills_i[n, 4] = qty
                        fills_i[n, 5] = st[CUR_REP]
                        fills_i[n, 6] = st[CUR_NB] + i - 2 * L if buy else i
                        fills_i[n, 7] = st[TRADE_SEQ]
                        fills_f[n] = fill_mid
                        st[N_FILL] = n + 1
                        if glft and not observe(
                            tk_ts[k], row[i] / tpu, fill_mid, ist, it_ts, it_d, counts, grid
                        ):
                            st[TICK] = t
                            return WINDOW_FULL
                        if not lots:
                            break
                    k += 1
                st[TK_I] = k
                row[4 * L] = st[INV]
                v = st[N_VER]
                ver_tick[v] = t
                ver_rows[v, :] = row
                st[N_VER] = v + 1
            st[REGIME] = regime[i0]
            timer = t - st[LAST_QUOTE] >= R
            # the shell waits for a replacement in flight: no decision until it lands
            if st[LANDS_AT] >= 0 or not (news[i0] or timer):
                t += 1
                continue
            st[DECISIONS] += 1
            policy = ci[I_POLICY]
            if policy == LADDER:
                priced = desired_linear(mid[i0], st[INV], st[REGIME], offs, cf, ci, want)
            elif policy == AVELLANEDA_STOIKOV:
                priced = model_levels(
                    mid[i0], st[INV], ci[I_LPU], st[REGIME], t, sigma[i0], cm, L,
                    ci[I_MIN_LOTS], ci[I_MIN_UNITS], want,
                )  # fmt: skip
            elif policy == GLFT:
                now = ci[I_START_NS] + t * ci[I_TICK_NS]
                has_fit, a, k_fit = fit(now, ist, ip, it_ts, it_d, counts, grid)
                fixed = cm[M_SIGMA_FIXED]
                sig = fixed if not math.isnan(fixed) else sigma[i0]
                if has_fit and not math.isnan(sig):
                    priced = model_levels(
                        mid[i0], st[INV], ci[I_LPU], st[REGIME], t, sig, cm, L,
                        ci[I_MIN_LOTS], ci[I_MIN_UNITS], want, True, a, k_fit,
                    )  # fmt: skip
                else:  # `GLFTPolicy`'s warm-up: the ladder
                    priced = desired_linear(mid[i0], st[INV], st[REGIME], offs, cf, ci, want)
            else:
                priced = False
            if not priced:
                st[PHASE] = 1
                st[TICK] = t
                return NEED_LADDER
        elif not have_want:
            return NEED_LADDER
        st[PHASE] = 0
        have_want = False
        if t - st[LAST_QUOTE] >= R or needs_requote(row, want, L, mid[i0], cf, ci):
            st[LAST_QUOTE] = t
            if ci[I_ENTRY_TICKS] > 0:  # the replacement reaches the venue later
                st[LANDS_AT] = t + ci[I_ENTRY_TICKS]
            else:
                _place(t, row, want, st, ver_tick, ver_rows, rep_tick, rep_ver, L)
        t += 1
    st[TICK] = t
    return DONE
