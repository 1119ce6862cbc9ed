import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config import MarketConfig
from engine.quoting import GLFT, GLFTPolicy, IntensityFit, LadderPolicy, QuoteContext, build_policy
from engine.types import Side


def test_coefficients_hand_computed():
    # gamma = xi = 0.05, Delta = 1, A = 1, k = 0.5:
    # c1 = ln(1.1) / 0.05 = 1.906203596; c2 = sqrt(0.05 / (2 * 1 * 0.5) * 1.1^11)
    #    = sqrt(0.05 * 2.853116706) = 0.377698074
    c1, c2 = GLFT(gamma=0.05).coefficients(a=1.0, k=0.5)
    assert c1 == pytest.approx(1.9062035960864971, abs=1e-12)
    assert c2 == pytest.approx(0.3776980742676618, abs=1e-12)


def test_depths_hand_computed():
    # q = 2, sigma = 1: bid depth c1 + 2.5 c2, ask depth c1 - 1.5 c2
    bid_depth, ask_depth = GLFT(gamma=0.05).depths(2.0, 1.0, 1.0, 0.5)
    assert bid_depth == pytest.approx(1.9062035960864971 + 2.5 * 0.3776980742676618)
    assert ask_depth == pytest.approx(1.9062035960864971 - 1.5 * 0.3776980742676618)
    assert GLFT(gamma=0.05).quote(100.0, 2.0, 1.0, 1.0, 0.5) == pytest.approx(
        (100 - bid_depth, 100 + ask_depth)
    )


pos = st.floats(min_value=1e-2, max_value=5.0)


@given(gamma=pos, sigma=pos, a=st.floats(0.1, 200), k=pos, q=st.floats(-20, 20))
def test_matches_the_2013_paper_form_and_never_crosses(gamma, sigma, a, k, q):
    """GLFT 2013: d_b = (1/g) ln(1 + g/k) + (2q+1)/2 sqrt(s^2 g / (2kA) (1 + g/k)^(1 + k/g))."""
    root = math.sqrt(sigma**2 * gamma / (2 * k * a) * (1 + gamma / k) ** (1 + k / gamma))
    c1 = math.log(1 + gamma / k) / gamma
    bid_depth, ask_depth = GLFT(gamma=gamma).depths(q, sigma, a, k)
    assert bid_depth == pytest.approx(c1 + (2 * q + 1) / 2 * root, rel=1e-9, abs=1e-9)
    assert ask_depth == pytest.approx(c1 - (2 * q - 1) / 2 * root, rel=1e-9, abs=1e-9)
    bid, ask = GLFT(gamma=gamma).quote(100.0, q, sigma, a, k)
    assert bid < ask
    longer_bid, longer_ask = GLFT(gamma=gamma).quote(100.0, q + 1, sigma, a, k)
    assert longer_bid < bid and longer_ask < ask


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="gamma"):
        GLFT(gamma=0.0)
    with pytest.raises(ValueError, match="intensity"):
        GLFT(gamma=0.1).coefficients(a=0.0, k=1.0)


MARKET = MarketConfig(
    symbol="ETH/USDT",
    tier="flagship",
    policy="glft",
    levels=1,
    order_notional_quote=10_000,
    policy_params={"gamma": 0.05},
)


def test_policy_warms_up_on_the_ladder():
    policy = build_policy(MARKET)
    assert isinstance(policy, GLFTPolicy)
    ctx = QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=MARKET, sigma_bps_per_sqrt_s=1.0)
    assert policy.desired_quotes(ctx) == LadderPolicy(MARKET).desired_quotes(ctx)
    fitted = QuoteContext(
        ts_ns=0, mid=100.0, inventory=0.0, market=MARKET, intensity=IntensityFit(1.0, 0.5, 50)
    )
    # a fit but no sigma yet: still the ladder
    assert policy.desired_quotes(fitted) == LadderPolicy(MARKET).desired_quotes(fitted)


def test_policy_quotes_glft_depths_in_bps_once_calibrated():
    # order size 10000 / 100 = 100 base, inventory 200 base = q 2
    ctx = QuoteContext(
        ts_ns=0,
        mid=100.0,
        inventory=200.0,
        market=MARKET,
        sigma_bps_per_sqrt_s=1.0,
        intensity=IntensityFit(a_per_s=1.0, k_per_bps=0.5, n_trades=50),
    )
    levels = GLFTPolicy(MARKET).desired_quotes(ctx)
    bid_bps, ask_bps = GLFT(gamma=0.05).depths(2.0, 1.0, 1.0, 0.5)
    assert [(q.side, q.price) for q in levels] == [
        (Side.BUY, pytest.approx(100 * (1 - bid_bps / 1e4))),
        (Side.SELL, pytest.approx(100 * (1 + ask_bps / 1e4))),
    ]
