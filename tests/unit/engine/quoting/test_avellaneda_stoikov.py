import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config import MarketConfig
from engine.quoting import (
    AvellanedaStoikov,
    AvellanedaStoikovPolicy,
    QuoteContext,
    RollingAvellanedaStoikov,
    build_policy,
)
from engine.types import Side

# the paper's section 4 setting
PAPER = {"gamma": 0.1, "sigma": 2.0, "k": 1.5, "horizon": 1.0}
LN_16_15 = 0.06453852113757118  # ln(1 + 0.1 / 1.5)


def test_quote_hand_computed_mid_horizon():
    # tau = 0.5: gamma sigma^2 tau = 0.1 * 4 * 0.5 = 0.2; r = 100 - 2 * 0.2 = 99.6
    # spread = 0.2 + (2 / 0.1) ln(16/15) = 0.2 + 1.2907704227514236
    bid, ask = AvellanedaStoikov(**PAPER).quote(100.0, 2.0, 0.5)
    half = (0.2 + 20 * LN_16_15) / 2
    assert bid == pytest.approx(99.6 - half, abs=1e-12)
    assert ask == pytest.approx(99.6 + half, abs=1e-12)
    assert (bid, ask) == pytest.approx((98.85461478862429, 100.34538521137571), abs=1e-12)


def test_quote_hand_computed_at_start_and_after_horizon():
    model = AvellanedaStoikov(**PAPER)
    # t = 0, q = 0: symmetric, spread 0.4 + 1.29077 = 1.69077
    assert model.quote(100.0, 0.0, 0.0) == pytest.approx((99.15461478862429, 100.84538521137571))
    # past T the inventory term is gone: only the (2/gamma) ln(1 + gamma/k) spread remains
    assert model.reservation_price(100.0, 5.0, 1.5) == 100.0
    assert model.spread(1.5) == pytest.approx(20 * LN_16_15)


def test_rolling_horizon_keeps_a_full_horizon_ahead():
    rolling = RollingAvellanedaStoikov(**PAPER)
    finite = AvellanedaStoikov(**PAPER)
    assert rolling.quote(100.0, -3.0, 0.9) == finite.quote(100.0, -3.0, 0.0)
    assert rolling.quote(100.0, -3.0) == rolling.quote(100.0, -3.0, 123.0)


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError, match="gamma"):
        AvellanedaStoikov(gamma=0.0, sigma=2.0, k=1.5, horizon=1.0)
    with pytest.raises(ValueError, match="k"):
        RollingAvellanedaStoikov(gamma=0.1, sigma=2.0, k=-1.0, horizon=1.0)


finite_floats = st.floats(min_value=1e-3, max_value=10.0)


@given(
    gamma=finite_floats,
    sigma=finite_floats,
    k=finite_floats,
    horizon=finite_floats,
    q=st.floats(min_value=-50, max_value=50),
    t=st.floats(min_value=0, max_value=20),
)
def test_never_crossed_and_skew_direction(gamma, sigma, k, horizon, q, t):
    model = AvellanedaStoikov(gamma=gamma, sigma=sigma, k=k, horizon=horizon)
    bid, ask = model.quote(100.0, q, t)
    assert bid < ask
    longer_bid, longer_ask = model.quote(100.0, q + 1.0, t)
    # one more unit long: both quotes lower (sell more, buy less), by gamma sigma^2 (T - t)
    shift = gamma * sigma**2 * model.time_left(t)
    assert bid - longer_bid == pytest.approx(shift, abs=1e-9)
    assert ask - longer_ask == pytest.approx(shift, abs=1e-9)
    if shift > 1e-9:
        assert longer_bid < bid and longer_ask < ask


MARKET = MarketConfig(
    symbol="BTC/USDT",
    tier="flagship",
    policy="avellaneda_stoikov",
    levels=2,
    level_spacing_bps=3,
    order_notional_quote=10_000,
    depth_target_quote=5_000,  # its floor (5000 * 1.1 / 2 / 0.995 per level) is below 5000
    policy_params={"gamma": 0.05, "k_per_bps": 0.5, "sigma_bps_per_sqrt_s": 1.0, "horizon_s": 60},
)


def test_policy_in_bps_of_mid_with_inventory_in_order_sizes():
    # mid 100: order size 10000 / 100 = 100 base; inventory 50 base = q 0.5
    # gamma sigma^2 tau = 0.05 * 1 * 60 = 3 bps; r = -1.5 bps
    # spread = 3 + 40 ln(1.1) = 3 + 3.812407 bps
    policy = build_policy(MARKET)
    assert isinstance(policy, AvellanedaStoikovPolicy)
    levels = policy.desired_quotes(QuoteContext(ts_ns=0, mid=100.0, inventory=50.0, market=MARKET))
    half = (3 + 40 * math.log(1.1)) / 2
    bids = [q for q in levels if q.side is Side.BUY]
    asks = [q for q in levels if q.side is Side.SELL]
    assert [q.price for q in bids] == pytest.approx(
        [100 * (1 + (-1.5 - half) / 1e4), 100 * (1 + (-1.5 - half - 3) / 1e4)]
    )
    assert [q.price for q in asks] == pytest.approx(
        [100 * (1 + (-1.5 + half) / 1e4), 100 * (1 + (-1.5 + half + 3) / 1e4)]
    )
    assert {q.amount for q in levels} == {50.0}  # 10000 / 100 / 2 levels


def test_levels_hold_the_depth_target_when_the_nominal_size_is_short_of_it():
    # 2 levels must hold 50000 * 1.1 / 0.995 of quote in the 50 bps band: 27638.19 each
    thin = MARKET.model_copy(update={"depth_target_quote": 50_000.0})
    levels = build_policy(thin).desired_quotes(
        QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=thin)
    )
    assert {round(q.amount, 6) for q in levels} == {round(50_000 * 1.1 / 2 / 0.995 / 100, 6)}


def test_policy_uses_online_sigma_then_fallback():
    market = MARKET.model_copy(
        update={
            "policy_params": MARKET.policy_params.model_copy(update={"sigma_bps_per_sqrt_s": None})
        }
    )
    policy = AvellanedaStoikovPolicy(market)
    ctx = QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=market)
    assert policy.model(ctx).sigma == market.policy_params.sigma_fallback_bps_per_sqrt_s
    ctx = QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=market, sigma_bps_per_sqrt_s=2.5)
    assert policy.model(ctx).sigma == 2.5


def _simulate(rng: np.random.Generator, n_paths: int, inventory_strategy: bool, spread: float):
    """Section 4 of Avellaneda-Stoikov (2008): binomial mid, Poisson fills A exp(-k delta) dt."""
    s0, T, sigma, dt, gamma, k, A = 100.0, 1.0, 2.0, 0.005, 0.1, 1.5, 140.0
    model = AvellanedaStoikov(gamma=gamma, sigma=sigma, k=k, horizon=T)
    s = np.full(n_paths, s0)
    q = np.zeros(n_paths)
    cash = np.zeros(n_paths)
    for step in range(round(T / dt)):
        t = step * dt
        if inventory_strategy:
            bid, ask = model.quote(s, q, t)
        else:
            bid, ask = s - spread / 2, s + spread / 2
        p_bid = np.minimum(A * np.exp(-k * (s - bid)) * dt, 1.0)
        p_ask = np.minimum(A * np.exp(-k * (ask - s)) * dt, 1.0)
        bought = rng.random(n_paths) < p_bid
        sold = rng.random(n_paths) < p_ask
        q += bought.astype(float) - sold.astype(float)
        cash += np.where(sold, ask, 0.0) - np.where(bought, bid, 0.0)
        s = s + np.where(rng.random(n_paths) < 0.5, 1.0, -1.0) * sigma * math.sqrt(dt)
    return cash + q * s, q


def test_monte_carlo_inventory_strategy_beats_symmetric_on_risk():
    """The paper's table (gamma = 0.1): profit std 5.89 vs 13.43, final q std 2.80 vs 8.66."""
    model = AvellanedaStoikov(**PAPER)
    average_spread = float(np.mean([model.spread(i * 0.005) for i in range(200)]))
    inv_profit, inv_q = _simulate(np.random.default_rng(1), 500, True, average_spread)
    sym_profit, sym_q = _simulate(np.random.default_rng(2), 500, False, average_spread)
    assert inv_profit.std() < 0.7 * sym_profit.std()
    assert inv_q.std() < 0.6 * sym_q.std()
    # same ballpark as the paper's figures
    assert 3.5 < inv_profit.std() < 9 and 9 < sym_profit.std() < 19
    assert 55 < inv_profit.mean() < 72 and 58 < sym_profit.mean() < 76
