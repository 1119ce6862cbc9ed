from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import MarketConfig, VolGuardConfig
from engine.quoting import (
    ExternalBook,
    IntensityFit,
    QuoteContext,
    VolRegime,
    apply_market_rules,
    build_policy,
    round_quotes,
    vol_regime,
)
from engine.quoting.guards import clamp_spread, one_sided_at_limit, step_back_scale, widen
from engine.types import BookSnapshot, MarketSpec, QuoteLevel, Side

B, S = Side.BUY, Side.SELL


def prices(levels):
    return [(q.side, round(q.price, 9)) for q in levels]


def test_clamp_takes_the_excess_half_from_each_side():
    # spread 99.8 -> 100.2 = 40 bps of 100, max 20 bps: each side moves 0.1, deeper levels too
    levels = [QuoteLevel(B, 99.8, 1), QuoteLevel(B, 99.7, 1), QuoteLevel(S, 100.2, 1)]
    assert prices(clamp_spread(levels, 100.0, 20)) == [(B, 99.9), (B, 99.8), (S, 100.1)]


def test_clamp_moves_a_side_that_is_through_mid_back_to_mid():
    # long reservation price: ask below mid -> asks move up to mid; then spread 0.3 > 0.2,
    # and the bid takes the whole excess because the ask cannot move back through mid
    levels = [QuoteLevel(B, 99.6, 1), QuoteLevel(S, 99.9, 1), QuoteLevel(S, 100.0, 1)]
    assert prices(clamp_spread(levels, 100.0, 20)) == [(B, 99.8), (S, 100.0), (S, 100.1)]


def test_clamp_one_sided_ladder_keeps_half_the_max_from_mid():
    levels = [QuoteLevel(S, 100.5, 1)]
    assert prices(clamp_spread(levels, 100.0, 20)) == [(S, 100.1)]
    assert clamp_spread([QuoteLevel(S, 100.05, 1)], 100.0, 20) == [QuoteLevel(S, 100.05, 1)]


def test_widen_scales_distance_from_mid():
    assert prices(widen([QuoteLevel(B, 99.9, 1), QuoteLevel(S, 100.2, 1)], 100.0, 2)) == [
        (B, 99.8),
        (S, 100.4),
    ]


def test_one_sided_at_the_limit():
    levels = [QuoteLevel(B, 99.9, 1), QuoteLevel(S, 100.1, 1)]
    assert [q.side for q in one_sided_at_limit(levels, 2.0, 2.0)] == [S]
    assert [q.side for q in one_sided_at_limit(levels, -2.5, 2.0)] == [B]
    assert one_sided_at_limit(levels, 1.9, 2.0) == levels


def test_vol_regime_by_ratio_after_warm_up():
    cfg = VolGuardConfig(widen_ratio=2, pause_ratio=4, min_samples=10)
    assert vol_regime(5.0, 1.0, 9, cfg) is VolRegime.NORMAL  # still warming up
    assert vol_regime(1.9, 1.0, 10, cfg) is VolRegime.NORMAL
    assert vol_regime(2.0, 1.0, 10, cfg) is VolRegime.WIDEN
    assert vol_regime(4.0, 1.0, 10, cfg) is VolRegime.PAUSE
    assert vol_regime(None, 1.0, 10, cfg) is VolRegime.NORMAL
    with pytest.raises(ValueError, match="widen_ratio"):
        VolGuardConfig(widen_ratio=5, pause_ratio=3)


def test_step_back_scale():
    # users below the 10k target: the bot quotes in full
    assert step_back_scale(9_000, 20_000, 10_000, 0.3) == 1.0
    # users at 14k: bot = 0.3 / 0.7 * 14k = 6k of its 20k, so a share of 6 / 20 = 30 %
    assert step_back_scale(14_000, 20_000, 10_000, 0.3) == pytest.approx(0.3)
    assert step_back_scale(14_000, 20_000, 10_000, 1.0) == 1.0  # no step-back configured
    assert step_back_scale(14_000, 2_000, 10_000, 0.3) == 1.0  # never more than its own size
    assert step_back_scale(0.0, 20_000, 0.0, 0.3) == 1.0  # no users, no step-back


MARKET = MarketConfig(
    symbol="BTC/USDT",
    tier="flagship",  # max spread 15 bps, band 50 bps, depth target 50k
    levels=2,
    order_notional_quote=60_000,
    inventory_limit=1.0,
    bot_share_target=0.3,
    vol_guard={"widen_factor": 2.0},
)


def test_apply_rules_steps_back_one_side_only():
    ladder = build_policy(MARKET).desired_quotes(
        QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=MARKET)
    )
    ctx = QuoteContext(
        ts_ns=0, mid=100.0, inventory=0.0, market=MARKET, user_bid_depth_quote=70_000.0
    )
    out = apply_market_rules(ladder, ctx)
    bid_notional = sum(q.price * q.amount for q in out if q.side is B)
    ask_notional = sum(q.price * q.amount for q in out if q.side is S)
    assert bid_notional == pytest.approx(0.3 / 0.7 * 70_000)  # share 30 % of the bid band
    assert ask_notional == pytest.approx(60_000, rel=1e-3)


def test_apply_rules_pause_quotes_nothing_and_widen_stays_under_max():
    ctx = QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=MARKET)
    ladder = build_policy(MARKET).desired_quotes(ctx)
    assert apply_market_rules(ladder, ctx, VolRegime.PAUSE) == []
    wide = apply_market_rules(ladder, ctx, VolRegime.WIDEN)
    touch_bid = max(q.price for q in wide if q.side is B)
    touch_ask = min(q.price for q in wide if q.side is S)
    # ladder touch spread 7.5 bps, doubled 15 bps: at the max, not over it
    assert (touch_ask - touch_bid) / 100 * 1e4 == pytest.approx(15.0)


SPEC = MarketSpec("BTC/USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal(1))
EXTERNAL = ExternalBook(
    BookSnapshot("c", "BTC/USDT", 0, ((99.99, 3.0), (99.9, 5.0)), ((100.01, 3.0), (100.2, 5.0))),
    base_available=100.0,
    quote_available=1e6,
    taker_fee=0.001,
)


@settings(max_examples=150, deadline=None)
@given(
    policy=st.sampled_from(["ladder", "avellaneda_stoikov", "glft", "mirror"]),
    inventory=st.floats(min_value=-5, max_value=5),
    gamma=st.floats(min_value=0.001, max_value=5),
    sigma=st.floats(min_value=0.01, max_value=20),
    regime=st.sampled_from([VolRegime.NORMAL, VolRegime.WIDEN]),
    users=st.floats(min_value=0, max_value=200_000),
)
def test_every_policy_after_the_rules_never_crosses_and_is_one_sided_at_the_limit(
    policy, inventory, gamma, sigma, regime, users
):
    market = MARKET.model_copy(
        update={
            "policy": policy,
            "policy_params": MARKET.policy_params.model_copy(update={"gamma": gamma}),
        }
    )
    ctx = QuoteContext(
        ts_ns=0,
        mid=100.0,
        inventory=inventory,
        market=market,
        elapsed_s=12.0,
        sigma_bps_per_sqrt_s=sigma,
        intensity=IntensityFit(a_per_s=2.0, k_per_bps=0.5, n_trades=100),
        external=EXTERNAL,
        user_bid_depth_quote=users,
        user_ask_depth_quote=users / 2,
    )
    out = apply_market_rules(build_policy(market).desired_quotes(ctx), ctx, regime)
    bids = [q.price for q in out if q.side is B]
    asks = [q.price for q in out if q.side is S]
    if bids and asks:
        assert max(bids) < min(asks)
        assert (min(asks) - max(bids)) / 100 * 1e4 <= 15.0 + 1e-6  # the max spread
    assert all(p <= 100.0 for p in bids) and all(p >= 100.0 for p in asks)
    if inventory >= 1.0:
        assert not bids
    if inventory <= -1.0:
        assert not asks
    rounded = round_quotes(out, SPEC)
    r_bids = [p for s, p, _ in rounded if s is B]
    r_asks = [p for s, p, _ in rounded if s is S]
    if r_bids and r_asks:
        assert max(r_bids) < min(r_asks)


def test_the_vol_guard_widening_names_its_breach_and_its_target():
    """Issue 13: the guard's x2 widening must show as a breach with its reason."""
    from engine.config import MarketConfig
    from engine.quote_records import QuoteState, quote_state
    from engine.quoting.guards import guarded_target_spread_bps, regime_breach_reason

    m = MarketConfig(symbol="BTC/USDT", tier="flagship")
    assert guarded_target_spread_bps(m, VolRegime.NORMAL) == m.target_spread_bps
    widened = guarded_target_spread_bps(m, VolRegime.WIDEN)
    assert widened == min(m.target_spread_bps * m.vol_guard.widen_factor, m.max_spread_bps)
    assert regime_breach_reason(VolRegime.NORMAL) is None
    common = {
        "paused": False,
        "stale": False,
        "configured_target_spread_bps": 8.0,
        "effective_target_spread_bps": 8.0,
        "bot_bids": True,
        "bot_asks": True,
    }
    assert quote_state(regime=VolRegime.WIDEN, **common) is QuoteState.VOL_WIDEN
    assert quote_state(regime=VolRegime.PAUSE, **common) is QuoteState.VOL_PAUSE
    assert quote_state(regime=VolRegime.NORMAL, **common) is QuoteState.NORMAL
    assert quote_state(regime=VolRegime.WIDEN, **common | {"paused": True}) is QuoteState.PAUSED
