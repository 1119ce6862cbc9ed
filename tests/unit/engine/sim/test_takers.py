import math

import numpy as np
import pytest

from engine.config import TakerFlowConfig
from engine.sim.takers import TakerFlow
from engine.types import Side

S = 1_000_000_000
T0 = 1_700_000_000 * S


def flow(seed: int = 1, symbol: str = "BTC/USDT", **overrides: float) -> TakerFlow:
    cfg = TakerFlowConfig(
        **{"rate_per_s": 2.0, "mean_notional_quote": 1000.0, "size_sigma": 0.8, **overrides}
    )
    return TakerFlow(cfg, seed=seed, symbol=symbol)


def windows(f: TakerFlow, n: int, width_s: float, **kw: float | None) -> list[list]:
    width = int(width_s * S)
    kw = {"reference_price": 100.0, "home_mid": 100.0, **kw}
    return [f.arrivals(T0 + i * width, T0 + (i + 1) * width, **kw) for i in range(n)]


def test_poisson_count_mean_and_dispersion():
    # 2/s over 2000 windows of 5 s: 20000 expected, sd 141; per-window variance = mean (Poisson)
    counts = np.array([len(w) for w in windows(flow(), 2000, 5.0)])
    assert abs(counts.sum() - 20_000) < 5 * math.sqrt(20_000)
    assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.15)


def test_short_windows_add_up_like_one_long_window():
    many_short = sum(len(w) for w in windows(flow(seed=2), 5000, 0.1))
    one_long = len(flow(seed=3).arrivals(T0, T0 + 500 * S, reference_price=100.0, home_mid=None))
    for n in (many_short, one_long):
        assert abs(n - 1000) < 5 * math.sqrt(1000)


def test_arrivals_are_inside_the_window_in_time_order():
    (orders,) = windows(flow(rate_per_s=50.0), 1, 10.0)
    ts = [o.ts_ns for o in orders]
    assert ts == sorted(ts)
    assert ts[0] >= T0 and ts[-1] < T0 + 10 * S
    assert flow().arrivals(T0, T0, reference_price=100.0, home_mid=100.0) == []


def test_sizes_are_lognormal_with_the_configured_mean_notional_in_base_units():
    orders = [o for w in windows(flow(rate_per_s=20.0), 100, 10.0, reference_price=50.0) for o in w]
    notionals = np.array([o.amount * 50.0 for o in orders])
    assert all(o.amount > 0 for o in orders)
    assert notionals.mean() == pytest.approx(1000.0, rel=0.04)
    assert np.log(notionals).std() == pytest.approx(0.8, rel=0.05)


def test_informed_takers_trade_toward_the_reference():
    f = flow(rate_per_s=20.0, informed_share=1.0)
    up = [o for w in windows(f, 10, 10.0, reference_price=101.0, home_mid=100.0) for o in w]
    down = [o for w in windows(f, 10, 10.0, reference_price=99.0, home_mid=100.0) for o in w]
    assert up and all(o.side is Side.BUY for o in up)
    assert down and all(o.side is Side.SELL for o in down)


def test_informed_share_mixes_with_noise_and_no_mid_means_no_signal():
    f = flow(rate_per_s=50.0, informed_share=0.2)
    orders = [o for w in windows(f, 100, 10.0, reference_price=101.0) for o in w]
    buys = sum(o.side is Side.BUY for o in orders) / len(orders)
    assert buys == pytest.approx(0.2 + 0.8 * 0.5, abs=0.02)
    f = flow(rate_per_s=50.0, informed_share=1.0)
    orders = [o for w in windows(f, 40, 10.0, reference_price=101.0, home_mid=None) for o in w]
    buys = sum(o.side is Side.BUY for o in orders) / len(orders)
    assert buys == pytest.approx(0.5, abs=0.03)


def test_same_seed_and_calls_give_the_same_orders():
    assert windows(flow(seed=5), 50, 1.0) == windows(flow(seed=5), 50, 1.0)
    assert windows(flow(seed=5), 50, 1.0) != windows(flow(seed=6), 50, 1.0)
    assert windows(flow(seed=5), 50, 1.0) != windows(flow(seed=5, symbol="ETH/USDT"), 50, 1.0)


def test_no_rate_means_no_takers_and_bad_reference_is_refused():
    assert windows(flow(rate_per_s=0.0), 10, 10.0) == [[]] * 10
    with pytest.raises(ValueError, match="reference_price"):
        flow().arrivals(T0, T0 + S, reference_price=0.0, home_mid=None)
