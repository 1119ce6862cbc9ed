import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import RiskConfig
from engine.routing.planner import VenueQuote, client_order_id, plan_hedge
from engine.routing.reasons import Reason, ReasonKind, is_fault, kind_of
from engine.routing.walk import taking_side, walk_book
from engine.types import BookSnapshot, HedgeIntent, MarketSpec, Side

SYMBOL = "BTC/USDT"
NOW = 1_700_000_000_000_000_000
SPEC = MarketSpec(SYMBOL, Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal("5"))
RISK = RiskConfig(
    max_notional_per_trade=1_000_000.0,
    max_slippage_bps=50.0,
    max_book_age_s=5.0,
    limit_tolerance_bps=0.0,
)


def _book(venue, bids, asks, age_s=0.0, symbol=SYMBOL):
    return BookSnapshot(
        venue, symbol, NOW - int(age_s * 1e9), tuple(map(tuple, bids)), tuple(map(tuple, asks))
    )


def _quote(venue, bids, asks, *, fee=0.001, spec=SPEC, available=None, age_s=0.0):
    return VenueQuote(venue, _book(venue, bids, asks, age_s), fee, spec, available)


def _intent(side=Side.BUY, amount=1.0, hedge_id="m-f1"):
    return HedgeIntent(hedge_id, SYMBOL, side, amount, source_fill_id="f1")


DEEP_BIDS = [[99.9, 1.0], [99.8, 2.0], [99.0, 50.0]]
DEEP_ASKS = [[100.1, 1.0], [100.2, 2.0], [101.0, 50.0]]  # mid 100, 101 is 100 bps out


def test_plan_splits_and_fills_in_every_child_field():
    a = _quote("a", DEEP_BIDS, DEEP_ASKS, fee=0.001)
    b = _quote("b", [[99.95, 0.5]], [[100.05, 0.5], [100.15, 5.0]], fee=0.002)
    plan = plan_hedge(_intent(Side.BUY, 2.0), [b, a], RISK, NOW)
    # all-in: a 100.2001 (1), b 100.2501 (0.5), a 100.3002 (2), b 100.3503 (5)
    assert [(c.venue, c.amount, c.limit_price) for c in plan.children] == [
        ("a", 1.5, 100.2),
        ("b", 0.5, 100.05),
    ]
    assert plan.residual == 0.0 and plan.reasons == ()
    for leg, child in enumerate(plan.children):
        assert child.hedge_id == "m-f1" and child.source_fill_id == "f1"
        assert child.client_order_id == client_order_id("m-f1", leg)
        assert child.symbol == SYMBOL and child.side is Side.BUY
        assert (child.order_type, child.time_in_force) == ("limit", "IOC")
    assert plan.children[0].decision_mid == pytest.approx(100.0)
    assert plan.children[1].decision_mid == pytest.approx(100.0)


def test_stale_venue_is_excluded_with_its_age():
    fresh = _quote("a", DEEP_BIDS, DEEP_ASKS)
    stale = _quote("b", [[99.99, 10.0]], [[100.01, 10.0]], fee=0.0, age_s=9.0)  # better, old
    plan = plan_hedge(_intent(Side.SELL, 1.0), [fresh, stale], RISK, NOW)
    assert [c.venue for c in plan.children] == ["a"]
    assert "stale book: b 9.0s" in plan.reasons
    assert plan.residual == 0.0
    # a book past max_book_age_s whatever the market data: a stale book, a fault unless
    # what is left is dust
    assert {kind_of(r) for r in plan.reasons} == {ReasonKind.STALE_BOOK}


def test_excluded_wrong_symbol_and_one_sided_venues_are_not_used():
    plan = plan_hedge(
        _intent(Side.BUY, 1.0),
        [
            _quote("a", DEEP_BIDS, DEEP_ASKS),
            _quote("b", [], [[100.0, 5.0]], fee=0.0),
            VenueQuote("c", _book("c", DEEP_BIDS, DEEP_ASKS, symbol="ETH/USDT"), 0.0, SPEC, None),
            _quote("d", DEEP_BIDS, [[99.0, 9.0]], fee=0.0),
        ],
        RISK,
        NOW,
        excluded={"d": "unhealthy: timeout", "e": "unknown symbol BTC/USDT"},
    )
    assert [c.venue for c in plan.children] == ["a"]
    assert plan.reasons == (
        "d: unhealthy: timeout",
        "e: unknown symbol BTC/USDT",
        "empty book: b has no bids",
        "wrong book: c sent ETH/USDT for BTC/USDT",
    )


def test_no_usable_venue_leaves_everything_residual():
    plan = plan_hedge(_intent(amount=0.7), [_quote("a", DEEP_BIDS, DEEP_ASKS, age_s=60)], RISK, NOW)
    assert plan.children == () and plan.residual == 0.7
    assert plan.reasons == ("stale book: a 60.0s", "no usable venue")
    assert is_fault(plan.reasons)


def test_dust_with_no_usable_venue_is_dust_not_a_fault():
    """Below every venue's minimum (0.05 at mid 100 here), no young book could have taken
    it: a failure count that called it a fault had blamed the venues' books for the grid."""
    stale = _quote("a", DEEP_BIDS, DEEP_ASKS, age_s=60)
    plan = plan_hedge(_intent(amount=0.01), [stale], RISK, NOW)
    assert plan.children == () and plan.residual == 0.01
    assert plan.reasons[0] == "stale book: a 60.0s"
    assert plan.reasons[1].startswith("below venue minimum: 0.01 under every venue's")
    assert [kind_of(r) for r in plan.reasons] == [ReasonKind.STALE_BOOK, ReasonKind.DUST]
    assert not is_fault(plan.reasons)
    # a streamed book left out by the router, as `old_streamed_books` names it: the same
    left_out = {"a": Reason("stale book: a 400 ms > max_book_age_ms 150", ReasonKind.STALE_BOOK)}
    fresh = _quote("a", DEEP_BIDS, DEEP_ASKS)
    plan = plan_hedge(_intent(amount=0.01), [fresh], RISK, NOW, excluded=left_out)
    assert "no usable venue" not in plan.reasons and not is_fault(plan.reasons)
    # one placeable amount: the venues' state is what left it, a fault
    plan = plan_hedge(_intent(amount=0.7), [fresh], RISK, NOW, excluded=left_out)
    assert plan.reasons[-1] == "no usable venue" and is_fault(plan.reasons)


def test_depth_beyond_the_slippage_bound_is_never_taken():
    risk = RISK.model_copy(update={"max_slippage_bps": 20.0})  # mid 100 -> asks up to 100.2
    plan = plan_hedge(_intent(Side.BUY, 10.0), [_quote("a", DEEP_BIDS, DEEP_ASKS)], risk, NOW)
    (child,) = plan.children
    assert child.amount == 3.0 and child.limit_price == 100.2
    assert plan.residual == pytest.approx(7.0)
    assert any(r.startswith("insufficient depth within 20 bps") for r in plan.reasons)


def test_max_notional_per_trade_caps_a_leg_and_leaves_the_rest_residual():
    risk = RISK.model_copy(update={"max_notional_per_trade": 150.0})
    plan = plan_hedge(_intent(Side.BUY, 2.0), [_quote("a", DEEP_BIDS, DEEP_ASKS)], risk, NOW)
    (child,) = plan.children
    assert child.limit_price == 100.2
    assert child.amount == 1.497  # floor(150 / 100.2) to the 0.001 lot
    assert child.amount * child.limit_price <= 150.0
    assert plan.residual == pytest.approx(0.503)
    assert any(r.startswith("max_notional_per_trade: a") for r in plan.reasons)


def test_leg_below_minimum_after_rounding_goes_to_residual():
    # 0.05 meets min_notional 5 at mid 100, but a sell limit at 99.9 makes it 4.995
    plan = plan_hedge(_intent(Side.SELL, 0.05), [_quote("a", DEEP_BIDS, DEEP_ASKS)], RISK, NOW)
    assert plan.children == () and plan.residual == 0.05
    assert any(r.startswith("below venue minimum: a") for r in plan.reasons)
    assert all(kind_of(r) is ReasonKind.DUST for r in plan.reasons if "minimum" in r)


def test_amount_below_every_minimum_is_residual_with_reason():
    plan = plan_hedge(_intent(Side.BUY, 0.01), [_quote("a", DEEP_BIDS, DEEP_ASKS)], RISK, NOW)
    assert plan.children == () and plan.residual == 0.01
    assert any(r.startswith("below venue minimum") for r in plan.reasons)
    assert {kind_of(r) for r in plan.reasons} == {ReasonKind.DUST}


def test_lot_rounding_shortfall_is_residual_with_reason():
    plan = plan_hedge(_intent(Side.BUY, 0.12345), [_quote("a", DEEP_BIDS, DEEP_ASKS)], RISK, NOW)
    (child,) = plan.children
    assert child.amount == 0.123
    assert plan.residual == pytest.approx(0.00045)
    (rounding,) = (r for r in plan.reasons if r.startswith("lot rounding: a"))
    assert kind_of(rounding) is ReasonKind.DUST


def test_available_balance_limits_the_plan():
    quote = _quote("a", DEEP_BIDS, DEEP_ASKS, fee=0.0, available=50.05)
    plan = plan_hedge(_intent(Side.BUY, 1.0), [quote], RISK, NOW)
    (child,) = plan.children
    assert child.amount == 0.5  # 50.05 quote at 100.1
    assert any(r.startswith("insufficient balance") for r in plan.reasons)


def test_limit_rounds_to_tick_outward_but_never_beyond_the_bound():
    spec = MarketSpec(SYMBOL, Decimal("0.5"), Decimal("0.001"))
    book = ([[99.8, 5.0]], [[100.3, 5.0]])  # mid 100.05
    wide = RISK.model_copy(update={"max_slippage_bps": 50.0})  # bound 100.55
    tight = RISK.model_copy(update={"max_slippage_bps": 30.0})  # bound 100.35
    (child,) = plan_hedge(_intent(amount=1.0), [_quote("a", *book, spec=spec)], wide, NOW).children
    assert child.limit_price == 100.5  # 100.3 rounded up to the tick
    # 100.5 would breach the bound and 100.0 cannot reach the 100.3 ask: nothing is sent
    plan = plan_hedge(_intent(amount=1.0), [_quote("a", *book, spec=spec)], tight, NOW)
    assert plan.children == () and plan.residual == 1.0
    assert any(r.startswith("no depth within 30 bps") for r in plan.reasons)
    wider = RISK.model_copy(update={"max_slippage_bps": 100.0})  # sell bound 99.05
    sell = plan_hedge(_intent(Side.SELL, 1.0), [_quote("a", *book, spec=spec)], wider, NOW)
    assert sell.children[0].limit_price == 99.5  # 99.8 rounded down to the tick
    sell = plan_hedge(_intent(Side.SELL, 1.0), [_quote("a", *book, spec=spec)], wide, NOW)
    assert sell.children == ()  # 99.5 is below the 99.55 bound, 100.0 misses the 99.8 bid


def test_legs_follow_sorted_venue_ids_including_excluded_ones():
    quotes = [_quote(v, DEEP_BIDS, DEEP_ASKS) for v in ("c", "b")]
    plan = plan_hedge(_intent(Side.BUY, 4.0), quotes, RISK, NOW, excluded={"a": "unhealthy"})
    assert {c.venue: c.client_order_id for c in plan.children} == {
        "b": client_order_id("m-f1", 1),
        "c": client_order_id("m-f1", 2),
    }


def test_zero_and_negative_amounts():
    plan = plan_hedge(_intent(amount=0.0), [_quote("a", DEEP_BIDS, DEEP_ASKS)], RISK, NOW)
    assert plan.children == () and plan.residual == 0.0
    with pytest.raises(ValueError, match=r"intent\.amount"):
        plan_hedge(_intent(amount=-1.0), [], RISK, NOW)


def test_client_order_ids_are_deterministic_short_and_venue_safe():
    ids = {
        client_order_id(h, leg) for h in ("m-f1", "m-f2", "rb-run/ü 1-BTC" * 20) for leg in (0, 7)
    }
    assert len(ids) == 6
    assert client_order_id("m-f1", 3) == client_order_id("m-f1", 3)
    assert client_order_id("m-f1", 999_999_999).endswith("-999999999")
    for cid in ids | {client_order_id("x", 999_999_999)}:
        assert len(cid) <= 36 and re.fullmatch(r"[A-Za-z0-9_-]+", cid)
    with pytest.raises(ValueError, match="leg"):
        client_order_id("m-f1", -1)


# properties -------------------------------------------------------------------


@st.composite
def venue_quotes(draw):
    quotes = []
    for venue in draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True)):
        mid = draw(st.floats(95.0, 105.0))
        half = draw(st.floats(0.005, 0.5))
        sides = []
        for sign in (-1.0, 1.0):
            price, levels = mid + sign * half, []
            for _ in range(draw(st.integers(1, 6))):
                levels.append([round(price, 4), draw(st.floats(0.001, 3.0))])
                price += sign * draw(st.floats(0.001, 0.3))
            sides.append(levels)
        spec = MarketSpec(
            SYMBOL,
            draw(st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("0.1")])),
            draw(st.sampled_from([Decimal("0.001"), Decimal("0.01")])),
            draw(st.sampled_from([Decimal(0), Decimal("0.01")])),
            draw(st.sampled_from([Decimal(0), Decimal("5")])),
        )
        available = draw(st.none() | st.floats(0.0, 500.0))
        age_s = draw(st.sampled_from([0.0, 1.0, 10.0]))
        quotes.append(_quote(venue, *sides, fee=0.001, spec=spec, available=available, age_s=age_s))
    return quotes


@settings(max_examples=200, deadline=None)
@given(
    venue_quotes(),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.floats(0.0, 8.0),
    st.floats(1.0, 80.0),
    st.floats(50.0, 2000.0),
)
def test_every_plan_stays_inside_the_limits(quotes, side, amount, bps, max_notional):
    risk = RiskConfig(max_notional_per_trade=max_notional, max_slippage_bps=bps, max_book_age_s=5)
    plan = plan_hedge(_intent(side, amount), quotes, risk, NOW)
    by_venue = {q.venue: q for q in quotes}
    assert plan.residual >= 0
    assert sum(c.amount for c in plan.children) + plan.residual == pytest.approx(amount, abs=1e-9)
    if plan.residual > 1e-9:
        assert plan.reasons
    assert len({c.venue for c in plan.children}) == len(plan.children)
    for child in plan.children:
        q = by_venue[child.venue]
        mid = q.book.mid
        assert q.book.ts_ns >= NOW - 5e9  # never a stale venue
        assert side.sign * (child.limit_price - mid) / mid * 1e4 <= bps + 1e-9
        assert child.amount * child.limit_price <= max_notional + 1e-9
        assert Decimal(repr(child.amount)) % q.spec.lot_size == 0
        assert Decimal(repr(child.limit_price)) % q.spec.tick_size == 0
        assert Decimal(repr(child.amount)) >= q.spec.min_amount
        assert Decimal(repr(child.amount)) * Decimal(repr(child.limit_price)) >= q.spec.min_notional
        if q.available is not None:
            spend = child.amount * (child.limit_price * 1.001 if side is Side.BUY else 1.0)
            assert spend <= q.available + 1e-6
    assert plan_hedge(_intent(side, amount), list(reversed(quotes)), risk, NOW) == plan


def test_limit_tolerance_widens_the_ioc_limit_but_never_past_the_slippage_bound():
    tolerant = RISK.model_copy(update={"limit_tolerance_bps": 10.0})
    quote = _quote("a", DEEP_BIDS, DEEP_ASKS, fee=0.0)
    (buy,) = plan_hedge(_intent(Side.BUY, 0.5), [quote], tolerant, NOW).children
    assert buy.limit_price == pytest.approx(100.21)  # 100.1 walked, +10 bps, on the 0.01 grid
    (sell,) = plan_hedge(_intent(Side.SELL, 0.5), [quote], tolerant, NOW).children
    assert sell.limit_price == pytest.approx(99.80)  # 99.8001 rounds outward
    wide = RISK.model_copy(update={"limit_tolerance_bps": 500.0})
    (capped,) = plan_hedge(_intent(Side.BUY, 0.5), [quote], wide, NOW).children
    assert capped.limit_price == pytest.approx(100.5)  # the 50 bps bound wins


@settings(max_examples=150, deadline=None)
@given(venue_quotes(), st.sampled_from([Side.BUY, Side.SELL]), st.floats(0.01, 8.0))
def test_children_are_ioc_limits_at_the_walked_marginal_price_inside_the_bound(
    quotes, side, amount
):
    """The limit reaches every level the child's amount needs (so the IOC can fill it on
    the book it was planned on), is that marginal price rounded by less than one tick,
    and never lies beyond max_slippage_bps of the venue's mid."""
    risk = RISK.model_copy(update={"max_slippage_bps": 30.0})
    plan = plan_hedge(_intent(side, amount), quotes, risk, NOW)
    by_venue = {q.venue: q for q in quotes}
    for child in plan.children:
        assert (child.order_type, child.time_in_force) == ("limit", "IOC")
        q = by_venue[child.venue]
        levels = taking_side(q.book.as_ccxt(), side)
        marginal = walk_book(levels, child.amount).marginal_price
        tick = float(q.spec.tick_size)
        assert side.sign * (child.limit_price - marginal) >= -1e-9  # reaches the marginal level
        assert side.sign * (child.limit_price - marginal) < tick + 1e-9  # and no further
        mid = q.book.mid
        assert side.sign * (child.limit_price - mid) / mid * 1e4 <= 30.0 + 1e-9
