"""The ladder policy reduced to integers on one market's grid, for the fast backtest.

The ladder's quotes are `mid * k` with sizes `level_size(mid) * factor`, where
the multiples `k` and the factors depend only on the inventory (and the vol
guard's regime): `LadderState` holds them for one (inventory, regime), read
from the policy itself (`LadderPolicy.price_factors`, `size_factors`) and the
market rules (`quoted_sides`), so the fast path copies no coefficient.
`LadderOnGrid.live_quotes` runs the policy, the rules and `GridRounder` for
the states that are not `mid * k` (vol guard widening or pausing, the spread
clamp). `SigmaRegimes` computes the vol guard's regime per tick with numpy.
"""

from __future__ import annotations

import math

import numpy as np

from engine.backtest import sigma_kernel
from engine.config import MarketConfig
from engine.quoting import (
    GridRounder,
    IntensityFit,
    LadderPolicy,
    MarketEstimators,
    QuoteContext,
    VolRegime,
    apply_market_rules,
    build_policy,
)
from engine.quoting.guards import quoted_sides
from engine.types import MarketSpec, Side

NORMAL, WIDEN, PAUSE = 0, 1, 2
REGIMES = (VolRegime.NORMAL, VolRegime.WIDEN, VolRegime.PAUSE)
_EPS = 1e-9  # a ladder this close to the spread clamp's bounds is handed to the live code


class FastPathUnsupported(ValueError):
    """The market needs something the fast path does not model; run the exact engine."""


class LadderState:
    """The ladder at one inventory (in lots) and regime, as multiples of mid.

    `bk`/`ak`: bid/ask price multiples, best first (empty: side not quoted);
    `bf`/`af`: size factors; `linear`: every price is exactly `mid * k` (no
    widening, pausing or spread clamp), so the fast loop may price it itself;
    `kmax`/`kmin`: the widest multiples quoted.
    """

    __slots__ = ("af", "ak", "bf", "bk", "inv", "kmax", "kmin", "linear")

    def __init__(
        self, bk: list[float], ak: list[float], bf: float, af: float, inv: int, linear: bool
    ) -> None:
        self.bk, self.ak, self.bf, self.af, self.inv, self.linear = bk, ak, bf, af, inv, linear
        self.kmax = ak[-1] if ak else (bk[0] if bk else 1.0)
        self.kmin = bk[-1] if bk else (ak[0] if ak else 1.0)


class LadderOnGrid:
    """The ladder's constants on one market's grid, and the live code for the rare cases.

    Prices and sizes are integers: ticks and lots.
    """

    def __init__(self, market: MarketConfig, spec: MarketSpec) -> None:
        self.market = market
        self.policy = LadderPolicy(market)
        self.quoting = build_policy(market)
        self.level_size = self.policy.level_size
        self.grid = GridRounder(spec)
        self.tick_f = float(spec.tick_size)
        self.lot_f = float(spec.lot_size)
        tpu, lpu = 1 / spec.tick_size, 1 / spec.lot_size
        if tpu != tpu.to_integral_value() or lpu != lpu.to_integral_value():
            raise FastPathUnsupported("tick and lot sizes must be 1/integer for the fast path")
        self.tpu, self.lpu = int(tpu), int(lpu)  # ticks (lots) per unit: float(Decimal) exactly
        self.spec = spec
        self.min_units = int(
            (spec.min_notional / (spec.tick_size * spec.lot_size)).to_integral_value(
                rounding="ROUND_CEILING"
            )
        )
        self.min_lots = int((spec.min_amount / spec.lot_size).to_integral_value("ROUND_CEILING"))
        self.max_spread = market.max_spread_bps / 1e4
        half, skew = self.policy.half_spread_bps / 1e4, self.policy.max_skew_bps / 1e4
        # both sides move together with the skew, so a two-sided touch spread is 2 half, a
        # one-sided touch at most half + max skew from mid: when both fit under the clamp
        # with room, the clamp never moves a price (checked per inventory otherwise)
        self.clamp_never = (
            half > 0
            and 2 * half < self.max_spread * (1 - 1e-6)
            and half + skew < self.max_spread / 2 * (1 - 1e-6)
        )

    def state(self, inv_lots: int, regime: int) -> LadderState:
        """The ladder's multiples at `inv_lots` and `regime` (see `LadderState`)."""
        inventory = inv_lots / self.lpu - self.market.inventory_target
        bf, af = self.policy.size_factors(inventory)
        bids_ok, asks_ok = quoted_sides(inventory, self.market.inventory_limit)
        bid_k, ask_k = self.policy.price_factors(inventory)
        bk = bid_k if bf > 0 and bids_ok else []
        ak = ask_k if af > 0 and asks_ok else []
        linear = regime == NORMAL and (self.clamp_never or self._clamp_free(bk, ak))
        return LadderState(bk, ak, bf, af, inv_lots, linear)

    def _clamp_free(self, bk: list[float], ak: list[float]) -> bool:
        """The spread clamp moves nothing: touches off mid and inside the cap, with room."""
        max_spread = self.max_spread
        if bk and ak:
            return bk[0] < 1 - _EPS and ak[0] > 1 + _EPS and ak[0] - bk[0] < max_spread * (1 - _EPS)
        if bk:
            return bk[0] < 1 - _EPS and 1 - bk[0] < max_spread / 2 * (1 - _EPS)
        if ak:
            return ak[0] > 1 + _EPS and ak[0] - 1 < max_spread / 2 * (1 - _EPS)
        return True

    def live_quotes(
        self,
        mid: float,
        now_ns: int,
        inv_lots: int,
        regime: int,
        *,
        elapsed_s: float = 0.0,
        sigma: float | None = None,
        intensity: IntensityFit | None = None,
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks) best first as (ticks, lots): the market's policy, the market rules
        and the grid, as `engine.market.Quoter.desired_levels` runs them for a book with the
        bot's quotes only and no hedge venues."""
        inventory = inv_lots / self.lpu - self.market.inventory_target
        ctx = QuoteContext(
            ts_ns=now_ns,
            mid=mid,
            inventory=inventory,
            market=self.market,
            elapsed_s=elapsed_s,
            sigma_bps_per_sqrt_s=sigma,
            intensity=intensity,
        )
        wanted = apply_market_rules(self.quoting.desired_quotes(ctx), ctx, REGIMES[regime])
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        for side, price, amount in self.grid.round(wanted):
            level = (int(price * self.tpu), int(amount * self.lpu))
            (bids if side is Side.BUY else asks).append(level)
        return bids, asks

    def on_grid(
        self, mid: float, st: LadderState
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """A linear ladder at `mid` on the grid (`GridRounder` without its Decimal edge)."""
        size = self.level_size(mid)
        tick_f, lot_f, min_units = self.tick_f, self.lot_f, self.min_units
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        if st.bk:
            n = math.floor(size * st.bf / lot_f)
            if n >= self.min_lots:
                for k in st.bk:
                    t = math.floor(mid * k / tick_f)
                    if t > 0 and t * n >= min_units:
                        bids.append((t, n))
        if st.ak:
            n = math.floor(size * st.af / lot_f)
            if n >= self.min_lots:
                for k in st.ak:
                    t = math.ceil(mid * k / tick_f)
                    if t * n >= min_units:
                        asks.append((t, n))
        return bids, asks


class SigmaRegimes:
    """The vol guard's regime and the models' long sigma per tick: every new reference
    through `engine.quoting.calibration.SigmaEstimator` and `vol_regime`, compiled
    (`sigma_kernel.sigma_regimes`), operation for operation."""

    def __init__(self, market: MarketConfig, *, start_ns: int, tick_ns: int) -> None:
        self.guard = market.vol_guard
        self.min_interval_s = MarketEstimators.for_market(market).sigma_long.min_interval_s
        self.start, self.tick_ns = start_ns, tick_ns
        self.state = np.full(sigma_kernel.SIGMA_SLOTS, np.nan)
        self.state[sigma_kernel.SG_SAMPLES] = 0.0
        self.last_ts = np.full(1, -1, dtype=np.int64)

    def per_tick(
        self, c0: int, c1: int, obs_ticks: np.ndarray, obs_mids: np.ndarray, current: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Regime code per tick in [c0, c1) (`current` before the chunk's first new
        reference at `obs_ticks`, ascending), and the long sigma (NaN: none yet)."""
        g = self.guard
        sigma_before = math.sqrt(self.state[sigma_kernel.SG_VAR_LONG])  # NaN stays NaN
        codes, sigma = sigma_kernel.sigma_regimes(
            self.start + obs_ticks * self.tick_ns, np.ascontiguousarray(obs_mids),
            self.min_interval_s, g.short_halflife_s, g.long_halflife_s, g.min_samples,
            g.widen_ratio, g.pause_ratio, self.state, self.last_ts,
        )  # fmt: skip
        per_tick = np.empty(c1 - c0, dtype=np.int8)
        sigma_tick = np.empty(c1 - c0)
        if len(obs_ticks) == 0:
            per_tick[:] = current
            sigma_tick[:] = sigma_before
            return per_tick, sigma_tick
        idx = np.searchsorted(obs_ticks, np.arange(c0, c1), side="right") - 1
        per_tick[:] = np.where(idx >= 0, codes[np.maximum(idx, 0)], current)
        sigma_tick[:] = np.where(idx >= 0, sigma[np.maximum(idx, 0)], sigma_before)
        return per_tick, sigma_tick
