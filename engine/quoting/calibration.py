"""Online calibration of the model-based policies: sigma from mid returns, A and k from trades.

Sigma: an exponentially weighted mean of squared log returns per second
(RiskMetrics-style EWMA, J.P. Morgan 1996, with a weight set by elapsed time so
irregular sampling is handled), in bps/sqrt(s). Samples closer than
`min_interval_s` are skipped so the external books' quote noise does not
dominate the estimate.

Fill intensity: lambda(delta) = A exp(-k delta) as in Avellaneda and Stoikov
(2008, section 2.4) and Gueant, Lehalle and Fernandez-Tapia (2013). Following
the usual empirical recipe (e.g. hftbacktest's GLFT tutorial), lambda(delta) is
the rate of home trades that printed at least `delta` bps away from the mid,
counted on a grid of distances over a sliding window; ln lambda = ln A - k delta
is then fitted by least squares weighted by the counts (the variance of a log
Poisson count is about 1/count) and both parameters are clamped to bounds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from engine.config import MarketConfig

_LN2 = math.log(2.0)
_DISTANCE_GRID_BPS: tuple[float, ...] = tuple(2.0 * i for i in range(51))  # 0, 2, .. 100 bps


@dataclass(frozen=True, slots=True)
class IntensityFit:
    """lambda(delta) = a_per_s * exp(-k_per_bps * delta_bps), fitted from `n_trades` trades."""

    a_per_s: float
    k_per_bps: float
    n_trades: int

    def rate_per_s(self, delta_bps: float) -> float:
        return self.a_per_s * math.exp(-self.k_per_bps * delta_bps)


class SigmaEstimator:
    """EWMA volatility of the mid in bps/sqrt(s), with a half-life in seconds."""

    def __init__(self, halflife_s: float, *, min_interval_s: float = 1.0) -> None:
        if halflife_s <= 0:
            raise ValueError(f"sigma estimator: halflife_s {halflife_s} must be positive")
        self.halflife_s = halflife_s
        self.min_interval_s = min_interval_s
        self._last: tuple[int, float] | None = None
        self._var_per_s: float | None = None
        self.samples = 0

    def observe(self, ts_ns: int, mid: float) -> None:
        """Add one mid; ignores non-positive mids and samples too close to the last one."""
        if not (mid > 0 and math.isfinite(mid)):
            return
        if self._last is None:
            self._last = (ts_ns, mid)
            return
        last_ts, last_mid = self._last
        dt_s = (ts_ns - last_ts) / 1e9
        if dt_s < self.min_interval_s:
            return
        self._last = (ts_ns, mid)
        r_bps = math.log(mid / last_mid) * 1e4
        var_per_s = r_bps * r_bps / dt_s
        if self._var_per_s is None:
            self._var_per_s = var_per_s
        else:
            # until the half-life holds enough returns, the plain mean of those seen: an
            # EWMA seeded with one squared return keeps its noise for a half-life (a long
            # estimate seeded small made the vol guard widen on ordinary moves)
            w = max(1.0 - math.exp(-dt_s * _LN2 / self.halflife_s), 1.0 / (self.samples + 1))
            self._var_per_s += w * (var_per_s - self._var_per_s)
        self.samples += 1

    @property
    def sigma_bps_per_sqrt_s(self) -> float | None:
        return None if self._var_per_s is None else math.sqrt(self._var_per_s)


class IntensityEstimator:
    """Fits lambda(delta) = A exp(-k delta) to home trades seen over the last `window_s`."""

    def __init__(
        self,
        *,
        window_s: float,
        min_trades: int,
        a_bounds_per_s: tuple[float, float],
        k_bounds_per_bps: tuple[float, float],
        grid_bps: tuple[float, ...] = _DISTANCE_GRID_BPS,
    ) -> None:
        self.window_s = window_s
        self.min_trades = min_trades
        self.a_bounds_per_s = a_bounds_per_s
        self.k_bounds_per_bps = k_bounds_per_bps
        self._grid = np.asarray(grid_bps, dtype=float)
        self._trades: deque[tuple[int, float]] = deque()
        self._first_ts_ns: int | None = None

    def observe(self, ts_ns: int, price: float, mid: float) -> None:
        """One home trade at `price` while the mid was `mid`."""
        if not (mid > 0 and price > 0):
            return
        if self._first_ts_ns is None:
            self._first_ts_ns = ts_ns
        self._trades.append((ts_ns, abs(price - mid) / mid * 1e4))

    def fit(self, now_ns: int) -> IntensityFit | None:
        """The bounded fit, or None while there are too few trades or distances to fit."""
        cutoff = now_ns - int(self.window_s * 1e9)
        while self._trades and self._trades[0][0] < cutoff:
            self._trades.popleft()
        n = len(self._trades)
        if n < self.min_trades or self._first_ts_ns is None:
            return None
        span_s = min(self.window_s, (now_ns - self._first_ts_ns) / 1e9)
        if span_s <= 0:
            return None
        distances = np.fromiter((d for _, d in self._trades), dtype=float, count=n)
        counts = (distances[None, :] >= self._grid[:, None]).sum(axis=1)
        seen = counts > 0
        if np.count_nonzero(seen) < 2 or len(set(counts[seen].tolist())) < 2:
            return None
        x = self._grid[seen]
        y = np.log(counts[seen] / span_s)
        # weighted by counts: var(ln N) ~ 1/N, so sparse tail points do not bend the fit
        slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(counts[seen]))
        k = float(np.clip(-slope, *self.k_bounds_per_bps))
        a = float(np.clip(math.exp(intercept), *self.a_bounds_per_s))
        return IntensityFit(a_per_s=a, k_per_bps=k, n_trades=n)


@dataclass(slots=True)
class MarketEstimators:
    """What a market calibrates online: short and long sigma (volatility guard and
    models) and the fill-intensity fit (GLFT), from the market's config."""

    sigma_short: SigmaEstimator
    sigma_long: SigmaEstimator
    intensity: IntensityEstimator

    @classmethod
    def for_market(cls, market: MarketConfig) -> MarketEstimators:
        p, guard = market.policy_params, market.vol_guard
        return cls(
            SigmaEstimator(guard.short_halflife_s),
            SigmaEstimator(guard.long_halflife_s),
            IntensityEstimator(
                window_s=p.calibration_window_s,
                min_trades=p.calibration_min_trades,
                a_bounds_per_s=p.a_bounds_per_s,
                k_bounds_per_bps=p.k_bounds_per_bps,
            ),
        )
