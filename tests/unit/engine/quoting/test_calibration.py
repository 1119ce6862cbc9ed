import math

import numpy as np
import pytest

from engine.quoting import IntensityEstimator, SigmaEstimator


def _estimator(**overrides) -> IntensityEstimator:
    kwargs = {
        "window_s": 300.0,
        "min_trades": 30,
        "a_bounds_per_s": (0.01, 1_000.0),
        "k_bounds_per_bps": (0.01, 10.0),
    }
    return IntensityEstimator(**{**kwargs, **overrides})


def _feed_exponential_trades(est: IntensityEstimator, a: float, k: float, span_s: float, seed: int):
    """Trades at rate a whose distance from mid is Exp(k): then rate(distance >= d) = a e^(-k d)."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(a * span_s)
    for ts_s, d_bps in zip(
        np.sort(rng.uniform(0, span_s, n)), rng.exponential(1 / k, n), strict=True
    ):
        est.observe(int(ts_s * 1e9), 100.0 * (1 + d_bps / 1e4), 100.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_intensity_fit_recovers_a_and_k(seed):
    est = _estimator()
    _feed_exponential_trades(est, a=2.0, k=0.5, span_s=300.0, seed=seed)
    fit = est.fit(int(300e9))
    assert fit is not None
    assert fit.a_per_s == pytest.approx(2.0, rel=0.2)
    assert fit.k_per_bps == pytest.approx(0.5, rel=0.15)
    assert fit.rate_per_s(2.0) == pytest.approx(fit.a_per_s * math.exp(-2 * fit.k_per_bps))


def test_intensity_needs_enough_trades_and_forgets_old_ones():
    est = _estimator(min_trades=30, window_s=60.0)
    for i in range(29):
        est.observe(int(i * 1e9), 100.01 + 0.001 * i, 100.0)
    assert est.fit(int(29e9)) is None  # warm-up: the policy falls back to the ladder
    for i in range(29, 40):
        est.observe(int(i * 1e9), 100.01 + 0.001 * i, 100.0)
    assert est.fit(int(40e9)) is not None
    assert est.fit(int(200e9)) is None  # all of them are older than the window now


def test_intensity_fit_is_bounded():
    est = _estimator(k_bounds_per_bps=(0.1, 0.2), a_bounds_per_s=(0.5, 1.0))
    _feed_exponential_trades(est, a=5.0, k=2.0, span_s=120.0, seed=3)
    fit = est.fit(int(120e9))
    assert fit is not None and fit.k_per_bps == 0.2 and fit.a_per_s == 1.0


def test_intensity_without_spread_of_distances_has_no_fit():
    est = _estimator(min_trades=3)
    for i in range(10):  # every trade at exactly 1 bps: no slope to fit
        est.observe(int(i * 1e9), 100.01, 100.0)
    assert est.fit(int(10e9)) is None


def test_sigma_estimate_recovers_gbm_volatility():
    rng = np.random.default_rng(5)
    sigma_bps, dt_s = 1.5, 1.0
    est = SigmaEstimator(halflife_s=600.0)
    log_mid = math.log(65_000.0)
    for i in range(4_000):
        est.observe(int(i * dt_s * 1e9), math.exp(log_mid))
        log_mid += sigma_bps / 1e4 * math.sqrt(dt_s) * rng.standard_normal()
    assert est.sigma_bps_per_sqrt_s == pytest.approx(sigma_bps, rel=0.15)
    assert est.samples == 3_999


def test_sigma_skips_samples_closer_than_min_interval_and_bad_mids():
    est = SigmaEstimator(halflife_s=10.0, min_interval_s=1.0)
    est.observe(0, 100.0)
    est.observe(int(0.5e9), 101.0)  # too close: skipped
    est.observe(int(1e9), float("nan"))
    assert est.sigma_bps_per_sqrt_s is None
    est.observe(int(2e9), 100.01)  # 1 bps in 2 s: variance 1/2 bps^2 per s
    assert est.sigma_bps_per_sqrt_s == pytest.approx(math.sqrt(math.log(1.0001) ** 2 * 1e8 / 2))
