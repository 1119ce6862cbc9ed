"""The compiled pieces against the live objects they stand for."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from engine.backtest import intensity_kernel as ik
from engine.backtest import sigma_kernel
from engine.config import load_config
from engine.quoting.calibration import IntensityEstimator, SigmaEstimator
from engine.quoting.guards import vol_regime
from tests.conftest import LOCAL_CONFIG, REPO


def test_the_compiled_intensity_fit_is_the_estimators_to_1e_12():
    rng = np.random.default_rng(1)
    compared = 0
    for _ in range(150):
        est = IntensityEstimator(
            window_s=300.0, min_trades=30, a_bounds_per_s=(1e-3, 1e3), k_bounds_per_bps=(1e-3, 10.0)
        )
        ist, ip, grid = ik.intensity_parameters(est)
        it_ts, it_d = np.zeros(4096, np.int64), np.zeros(4096)
        counts = np.zeros(len(grid), np.int64)
        n, scale, t0 = int(rng.integers(20, 800)), rng.uniform(0.5, 20), 10**18
        for i in range(n):
            move = rng.exponential(scale) / 1e4 * rng.choice([-1, 1])
            ts, price = t0 + i * 10**8, 65_000.0 * (1 + move)
            est.observe(ts, price, 65_000.0)
            assert ik.observe(ts, price, 65_000.0, ist, it_ts, it_d, counts, grid)
        now = t0 + n * 10**8 + int(rng.integers(0, 400)) * 10**9  # some trades leave the window
        live = est.fit(now)
        ok, a, k = ik.fit(now, ist, ip, it_ts, it_d, counts, grid)
        assert ok == (live is not None)
        if live is not None:
            compared += 1
            assert abs(a - live.a_per_s) <= 1e-12 * live.a_per_s
            assert abs(k - live.k_per_bps) <= 1e-12 * live.k_per_bps
    assert compared > 50


def test_the_compiled_vol_guard_is_the_estimators_bit_for_bit():
    guard = load_config(LOCAL_CONFIG).market("BTC/USDT").vol_guard
    guard = guard.model_copy(update={"min_samples": 5, "widen_ratio": 1.1, "pause_ratio": 1.4})
    rng = np.random.default_rng(2)
    ts = 10**18 + np.cumsum(rng.integers(1, 4, 2_000)) * 500_000_000  # gaps under min_interval
    mids = 65_000 * np.exp(np.cumsum(rng.normal(0, 3e-4, 2_000) * (rng.random(2_000) < 0.9)))
    state = np.full(sigma_kernel.SIGMA_SLOTS, np.nan)
    state[sigma_kernel.SG_SAMPLES] = 0.0
    codes, sigma = sigma_kernel.sigma_regimes(
        ts, mids, 1.0, guard.short_halflife_s, guard.long_halflife_s, guard.min_samples,
        guard.widen_ratio, guard.pause_ratio, state, np.full(1, -1, np.int64),
    )  # fmt: skip
    short, long = SigmaEstimator(guard.short_halflife_s), SigmaEstimator(guard.long_halflife_s)
    seen = set()
    for i, (t, m) in enumerate(zip(ts.tolist(), mids.tolist(), strict=True)):
        short.observe(t, m)
        long.observe(t, m)
        regime = vol_regime(
            short.sigma_bps_per_sqrt_s, long.sigma_bps_per_sqrt_s, long.samples, guard
        )
        assert ["normal", "widen", "pause"][codes[i]] == regime.value, i
        live = long.sigma_bps_per_sqrt_s
        assert (np.isnan(sigma[i]) and live is None) or sigma[i] == live, i
        seen.add(regime.value)
    assert seen == {"normal", "widen", "pause"}


_RUN = """
import json, sys
from engine.backtest import BacktestSettings
from engine.backtest.vectorised import FastLadderBacktest
from engine.config import PolicyName, load_config
cfg = load_config(sys.argv[1])
market = cfg.market("BTC/USDT").model_copy(update={"policy": PolicyName(sys.argv[2])})
r = FastLadderBacktest(
    cfg, market, seed=2, session="k", start_ns=1_750_000_000 * 10**9, duration_s=150,
    settings=BacktestSettings(hedge=False), chunk_s=60,
).run()
print(json.dumps([r.fills, r.requotes, r.decisions, r.samples, r.home_position_base,
                  r.pnl_quote, r.inventory_sumsq]))
"""


def _totals(policy: str, *, jit: bool) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not jit:
        env["NUMBA_DISABLE_JIT"] = "1"  # every kernel runs as the Python it is written in
    out = subprocess.run(
        [sys.executable, "-c", _RUN, str(LOCAL_CONFIG), policy],
        env=env, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_pure_python_and_compiled_kernels_agree():
    """The kernels with numba's JIT off are the pure-Python reference of the compiled ones."""
    for policy in ("ladder", "glft"):
        compiled, interpreted = _totals(policy, jit=True), _totals(policy, jit=False)
        assert compiled == interpreted and compiled[0] > 0, policy
