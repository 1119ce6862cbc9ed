from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import MarketConfig
from engine.quoting import (
    LadderPolicy,
    QuoteContext,
    build_policy,
    needs_requote,
    round_quotes,
)
from engine.types import MarketSpec, QuoteLevel, Side

# target 8 bps (half 4), 3 levels 4 bps apart, 15000 quote per side, limit 0.5 base;
# depth floor 11940 / 3 / (1 - 50 bps) = 4000 quote per level: 40 base at mid 100
MARKET = MarketConfig(
    symbol="BTC/USDT",
    tier="flagship",
    levels=3,
    level_spacing_bps=4,
    order_notional_quote=15_000,
    inventory_limit=0.5,
    skew_bps_at_limit=10,
    spread_buffer_bps=0,
    depth_target_quote=11_940,
    depth_headroom=0,
)


def quotes(inventory: float, mid: float = 100.0, market: MarketConfig = MARKET):
    ctx = QuoteContext(ts_ns=0, mid=mid, inventory=inventory, market=market)
    return LadderPolicy(market).desired_quotes(ctx)


def table(levels: list[QuoteLevel]) -> list[tuple[Side, float, float]]:
    return [(q.side, round(q.price, 9), round(q.amount, 9)) for q in levels]


def test_flat_inventory_hand_computed():
    # prices 100 * (1 -/+ (4 + 4 i) / 1e4); size 15000 / 100 / 3 = 50 per level
    assert table(quotes(0.0)) == [
        (Side.BUY, 99.96, 50.0),
        (Side.BUY, 99.92, 50.0),
        (Side.BUY, 99.88, 50.0),
        (Side.SELL, 100.04, 50.0),
        (Side.SELL, 100.08, 50.0),
        (Side.SELL, 100.12, 50.0),
    ]


def test_long_inventory_hand_computed():
    # q = 0.1 / 0.5 = 0.2: skew 10 * 0.2 = 2 bps down; bids shrink 20 % of the way from
    # 50 to the 40 floor (48), asks keep 50: the skew moves prices, sizes stay >= target
    assert table(quotes(0.1)) == [
        (Side.BUY, 99.94, 48.0),
        (Side.BUY, 99.90, 48.0),
        (Side.BUY, 99.86, 48.0),
        (Side.SELL, 100.02, 50.0),
        (Side.SELL, 100.06, 50.0),
        (Side.SELL, 100.10, 50.0),
    ]


def test_skew_is_clamped_to_keep_the_touch_a_quarter_half_spread_from_mid():
    # q = 0.4: raw skew 8 bps, clamped to 3/4 of half (3 bps): ask touch 1 bp above mid
    levels = quotes(0.2)
    assert levels[0].price == pytest.approx(99.93)
    assert levels[3].price == pytest.approx(100.01)


@pytest.mark.parametrize("inventory", [0.05, 0.2, 0.4])
def test_long_inventory_lowers_both_sides_and_shrinks_bids_toward_the_floor(inventory):
    flat, long = quotes(0.0), quotes(inventory)
    short = quotes(-inventory)
    for f, lo, sh in zip(flat, long, short, strict=True):
        assert lo.price < f.price < sh.price
        if f.side is Side.SELL:
            assert lo.amount == f.amount > sh.amount >= 40.0
        else:
            assert sh.amount == f.amount > lo.amount >= 40.0


def test_one_sided_at_the_inventory_limit():
    at_long_limit = quotes(0.5)
    assert {q.side for q in at_long_limit} == {Side.SELL}
    assert [q.amount for q in at_long_limit] == pytest.approx([50.0] * 3)
    beyond_short = quotes(-0.9)
    assert {q.side for q in beyond_short} == {Side.BUY}
    assert [q.amount for q in beyond_short] == pytest.approx([50.0] * 3)


def test_spread_is_clamped_to_max_spread():
    wide = MARKET.model_copy(update={"target_spread_bps": 40.0})  # bypasses the validator
    levels = quotes(0.0, market=wide)
    assert levels[0].price == pytest.approx(100 * (1 - 7.5e-4))  # half = 15 / 2
    assert levels[3].price == pytest.approx(100 * (1 + 7.5e-4))


def test_zero_target_spread_is_refused():
    with pytest.raises(ValueError, match="BTC/USDT"):
        LadderPolicy(MARKET.model_copy(update={"target_spread_bps": 0.0}))


def test_build_policy_by_name():
    assert isinstance(build_policy(MARKET), LadderPolicy)
    with pytest.raises(
        ValueError, match=r"policy\n.*'ladder', 'avellaneda_stoikov', 'glft'.*'mirror'"
    ):
        MarketConfig.model_validate({**MARKET.model_dump(), "policy": "grid"})


@st.composite
def markets(draw: st.DrawFn) -> MarketConfig:
    target = draw(st.floats(0.05, 500))
    return MarketConfig(
        symbol="X/USDT",
        target_spread_bps=target,
        max_spread_bps=draw(st.floats(target, 1000)),
        levels=draw(st.integers(1, 10)),
        level_spacing_bps=draw(st.floats(0.01, 100)),
        order_notional_quote=draw(st.floats(1, 1e6)),
        inventory_limit=draw(st.floats(1e-3, 1e4)),
        skew_bps_at_limit=draw(st.floats(0, 1000)),
        depth_band_bps=5_000,  # every touch fits at full skew: the depth floor is defined
        depth_target_quote=draw(st.floats(0, 1e6)),
    )


@settings(max_examples=300, deadline=None)
@given(markets(), st.floats(1e-4, 1e6), st.floats(-3, 3))
def test_ladder_never_crosses_and_keeps_its_shape(market, mid, q):
    inventory = q * market.inventory_limit
    q = inventory / market.inventory_limit
    levels = quotes(inventory, mid=mid, market=market)
    bids = [x for x in levels if x.side is Side.BUY]
    asks = [x for x in levels if x.side is Side.SELL]
    assert levels == bids + asks
    assert all(b.price < mid for b in bids) and all(a.price > mid for a in asks)
    assert [b.price for b in bids] == sorted({b.price for b in bids}, reverse=True)
    assert [a.price for a in asks] == sorted({a.price for a in asks})
    assert all(x.amount > 0 for x in levels)
    assert (len(bids) == 0) == (q >= 1) and (len(asks) == 0) == (q <= -1)
    if bids and asks:
        touch_bps = (asks[0].price - bids[0].price) / mid * 1e4
        assert touch_bps <= market.max_spread_bps * (1 + 1e-9)
        # rounding to a grid finer than the spread keeps the book uncrossed
        tick = Decimal(repr(mid * 1e-6))
        spec = MarketSpec("X/USDT", tick_size=tick, lot_size=Decimal("1e-12"))
        rounded = round_quotes(levels, spec)
        best_bid = max(p for s, p, _ in rounded if s is Side.BUY)
        best_ask = min(p for s, p, _ in rounded if s is Side.SELL)
        assert best_bid < best_ask


def test_needs_requote_rules():
    desired = quotes(0.0)
    assert not needs_requote(desired, desired, 2.0, 100.0)
    assert not needs_requote(list(reversed(desired)), desired, 2.0, 100.0)  # order-free
    nudged = [QuoteLevel(q.side, q.price + 0.015, q.amount * 1.05) for q in desired]
    assert not needs_requote(nudged, desired, 2.0, 100.0)  # 1.5 bps, 5 %
    moved = [QuoteLevel(q.side, q.price + 0.025, q.amount) for q in desired]
    assert needs_requote(moved, desired, 2.0, 100.0)  # 2.5 bps
    part_filled = [*desired[:3], QuoteLevel(Side.SELL, desired[3].price, 40.0), *desired[4:]]
    assert needs_requote(part_filled, desired, 2.0, 100.0)  # 20 % smaller
    assert needs_requote(desired[:-1], desired, 2.0, 100.0)  # a level missing
    assert needs_requote([], desired, 2.0, 100.0)
    assert not needs_requote([], [], 2.0, 100.0)


def test_needs_requote_when_inventory_moves_the_ladder():
    assert needs_requote(quotes(0.0), quotes(0.5), 2.0, 100.0)
    assert needs_requote(quotes(0.0), quotes(0.1), 1.0, 100.0)


def test_spread_buffer_quotes_inside_the_target():
    buffered = MARKET.model_copy(update={"spread_buffer_bps": 0.5})
    levels = quotes(0.0, market=buffered)
    best_bid = max(q.price for q in levels if q.side is Side.BUY)
    best_ask = min(q.price for q in levels if q.side is Side.SELL)
    assert (best_ask - best_bid) / 100.0 * 1e4 == pytest.approx(7.5)


@st.composite
def depth_markets(draw: st.DrawFn) -> MarketConfig:
    target = draw(st.floats(1, 60))
    band = draw(st.floats(target, 300))
    market = MarketConfig(
        symbol="X/USDT",
        target_spread_bps=target,
        max_spread_bps=draw(st.floats(target, 2 * target)),
        depth_band_bps=band,
        depth_target_quote=draw(st.floats(100, 1e6)),
        levels=draw(st.integers(1, 6)),
        level_spacing_bps=draw(st.floats(0.5, 30)),
        order_notional_quote=draw(st.floats(1, 1e6)),
        inventory_limit=draw(st.floats(1e-3, 1e4)),
        skew_bps_at_limit=draw(st.floats(0, 100)),
    )
    try:
        LadderPolicy(market)
    except ValueError:  # no level fits in the band: refused at start, not quoted
        from hypothesis import assume

        assume(False)
    return market


@settings(max_examples=300, deadline=None)
@given(depth_markets(), st.floats(1e-2, 1e5), st.floats(-0.999, 0.999))
def test_depth_in_band_meets_the_target_on_both_sides_inside_the_limit(market, mid, q):
    """Depth by construction: at any exposure inside the limit, after the market rules and
    the venue grid, each side's quote notional within the band is >= the depth target."""
    from engine.quoting import apply_market_rules

    inventory = q * market.inventory_limit
    ctx = QuoteContext(ts_ns=0, mid=mid, inventory=inventory, market=market)
    levels = apply_market_rules(LadderPolicy(market).desired_quotes(ctx), ctx)
    size_quote = market.depth_target_quote / market.levels
    # a grid finer than the headroom: tick 1e-6 of mid, lot 1e-4 of a level's size
    tick = Decimal(repr(mid * 1e-6))
    lot = Decimal(repr(size_quote / mid * 1e-4))
    rounded = round_quotes(levels, MarketSpec("X/USDT", tick_size=tick, lot_size=lot))
    for side in (Side.BUY, Side.SELL):
        depth = sum(
            float(p) * float(a)
            for s, p, a in rounded
            if s is side and abs(float(p) - mid) <= mid * market.depth_band_bps / 1e4
        )
        assert depth >= market.depth_target_quote
