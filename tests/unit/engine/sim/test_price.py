import math

import numpy as np
import pytest

from engine.config import AssetProcessConfig
from engine.sim.price import ReferencePrice

ASSETS = {"BTC": AssetProcessConfig(initial_price=65000, vol_annual=0.6, jumps_per_day=0)}
STEP_NS = 100_000_000


def test_two_processes_see_the_same_path():
    a = ReferencePrice(ASSETS, seed=3, step_ms=100, start_ns=10**18)
    b = ReferencePrice(ASSETS, seed=3, step_ms=100, start_ns=10**18)
    ts = [10**18 + i * 7_919 * STEP_NS for i in range(20)]
    # b is read backwards: random access must not depend on the order of reads
    assert [a.price("BTC", t) for t in ts] == [b.price("BTC", t) for t in reversed(ts)][::-1]


def test_starts_at_initial_price_and_seed_matters():
    a = ReferencePrice(ASSETS, seed=3, step_ms=100, start_ns=0)
    c = ReferencePrice(ASSETS, seed=4, step_ms=100, start_ns=0)
    assert a.price("BTC", 0) == pytest.approx(65000.0, rel=1e-12)
    assert a.price("BTC", 10**11) != c.price("BTC", 10**11)


def test_volatility_matches_configuration():
    r = ReferencePrice(ASSETS, seed=11, step_ms=100, start_ns=0)
    rets = r.log_returns("BTC", 20_000 * STEP_NS, 20_000)
    per_step = 0.6 * math.sqrt(0.1 / (365 * 86400))
    assert abs(np.std(rets) / per_step - 1) < 0.05


def test_a_cross_is_priced_as_the_ratio_of_its_legs():
    assets = {
        **ASSETS,
        "ETH": AssetProcessConfig(initial_price=3200, vol_annual=0.8, jumps_per_day=0),
    }
    r = ReferencePrice(assets, seed=5, step_ms=100, start_ns=0)
    for t in (0, 10**11, 7 * 10**12):
        assert r.symbol_price("ETH/BTC", t) == r.price("ETH", t) / r.price("BTC", t)
        assert r.symbol_price("ETH/USDT", t) == r.price("ETH", t)
    assert r.symbol_price("ETH/BTC", 0) == pytest.approx(3200 / 65000, rel=1e-12)
