from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sim.matching import MatchingEngine, MatchRejected, Trade
from engine.types import MarketSpec, Side

D = Decimal
SPEC = MarketSpec("BTC/USDT", tick_size=D("0.01"), lot_size=D("0.001"), min_notional=D("1"))


def engine(maker_fee: str = "0", taker_fee: str = "0", spec: MarketSpec = SPEC) -> MatchingEngine:
    return MatchingEngine(spec, maker_fee=D(maker_fee), taker_fee=D(taker_fee))


def fills(trades: list[Trade]) -> list[tuple[str, Decimal, Decimal]]:
    return [(t.maker_client_order_id, t.price, t.amount) for t in trades]


def test_better_price_first_then_fifo_within_a_price():
    e = engine()
    e.submit_limit("mm", "a1", Side.SELL, D("101.00"), D("1"), ts_ns=1)
    e.submit_limit("mm", "a2", Side.SELL, D("100.00"), D("1"), ts_ns=2)
    e.submit_limit("mm", "a3", Side.SELL, D("100.00"), D("1"), ts_ns=3)
    trades = e.submit_market("taker", Side.BUY, D("2.5"), ts_ns=4)
    assert fills(trades) == [
        ("a2", D("100.00"), D("1")),
        ("a3", D("100.00"), D("1")),
        ("a1", D("101.00"), D("0.5")),
    ]
    assert all(t.maker_side is Side.SELL and t.taker_owner == "taker" for t in trades)
    assert [t.ts_ns for t in trades] == [4, 4, 4]
    assert len({t.trade_id for t in trades}) == 3
    (left,) = e.open_orders()
    assert (left.client_order_id, left.remaining, left.amount) == ("a1", D("0.5"), D("1"))


def test_market_order_deeper_than_the_book_drops_the_rest():
    e = engine()
    e.submit_limit("mm", "b1", Side.BUY, D("99.00"), D("0.3"), ts_ns=1)
    trades = e.submit_market("taker", Side.SELL, D("1"), ts_ns=2)
    assert fills(trades) == [("b1", D("99.00"), D("0.3"))]
    assert e.open_orders() == [] and e.best_bid() is None


def test_crossing_limit_fills_at_maker_prices_and_rests_the_remainder():
    e = engine()
    e.submit_limit("mm", "a1", Side.SELL, D("100.00"), D("1"), ts_ns=1)
    e.submit_limit("mm", "a2", Side.SELL, D("100.50"), D("1"), ts_ns=2)
    e.submit_limit("mm", "a3", Side.SELL, D("101.00"), D("1"), ts_ns=3)
    resting, trades = e.submit_limit("t", "b1", Side.BUY, D("100.50"), D("2.5"), ts_ns=4)
    assert fills(trades) == [("a1", D("100.00"), D("1")), ("a2", D("100.50"), D("1"))]
    assert resting is not None
    assert (resting.price, resting.amount, resting.remaining) == (D("100.50"), D("2.5"), D("0.5"))
    assert (e.best_bid(), e.best_ask()) == (D("100.50"), D("101.00"))


def test_post_only_that_would_cross_is_rejected_and_leaves_the_book_alone():
    e = engine()
    e.submit_limit("mm", "a1", Side.SELL, D("100.00"), D("1"), ts_ns=1)
    with pytest.raises(MatchRejected, match="post-only") as info:
        e.submit_limit("mm", "b1", Side.BUY, D("100.00"), D("1"), ts_ns=2, post_only=True)
    assert info.value.client_order_id == "b1"
    resting, trades = e.submit_limit(
        "mm", "b2", Side.BUY, D("99.99"), D("1"), ts_ns=3, post_only=True
    )
    assert trades == [] and resting is not None
    assert [o.client_order_id for o in e.open_orders()] == ["b2", "a1"]


@pytest.mark.parametrize(
    ("price", "amount", "reason"),
    [
        ("100.001", "1", "tick"),
        ("100.00", "0.0005", "lot"),
        ("100.00", "0.009", "minimum notional"),
        ("0", "1", "positive"),
        ("100.00", "0", "positive"),
    ],
)
def test_orders_off_the_grid_or_below_minimums_are_rejected(price, amount, reason):
    with pytest.raises(MatchRejected, match=reason):
        engine().submit_limit("mm", "x", Side.BUY, D(price), D(amount), ts_ns=1)


def test_min_amount_and_duplicate_open_client_id_are_rejected():
    spec = MarketSpec("BTC/USDT", tick_size=D("0.01"), lot_size=D("0.001"), min_amount=D("0.01"))
    e = engine(spec=spec)
    with pytest.raises(MatchRejected, match="minimum amount"):
        e.submit_limit("mm", "x", Side.BUY, D("100.00"), D("0.009"), ts_ns=1)
    e.submit_limit("mm", "x", Side.BUY, D("100.00"), D("1"), ts_ns=1)
    with pytest.raises(MatchRejected, match="duplicate"):
        e.submit_limit("mm", "x", Side.SELL, D("101.00"), D("1"), ts_ns=2)
    e.submit_limit("other", "x", Side.SELL, D("101.00"), D("1"), ts_ns=2)  # ids are per owner


def test_fees_are_rates_on_quote_notional_quantized_half_up():
    e = engine(maker_fee="0.0002", taker_fee="0.001")
    e.submit_limit("mm", "a1", Side.SELL, D("65000.01"), D("0.123"), ts_ns=1)
    (t,) = e.submit_market("taker", Side.BUY, D("0.123"), ts_ns=2)
    # notional 65000.01 * 0.123 = 7995.00123
    assert t.notional_quote == D("7995.00123")
    assert t.taker_fee == D("7.99500123")  # 7.99500123 exactly
    assert t.maker_fee == D("1.59900025")  # 1.599000246 -> 8 places


def test_fee_exact_half_rounds_up_and_rebates_are_negative():
    spec = MarketSpec("X/USDT", tick_size=D("0.01"), lot_size=D("1"))
    e = MatchingEngine(spec, maker_fee=D("-0.0001"), taker_fee=D("0.001"), fee_places=2)
    e.submit_limit("mm", "a1", Side.SELL, D("5.00"), D("1"), ts_ns=1)
    (t,) = e.submit_market("taker", Side.BUY, D("1"), ts_ns=2)
    assert t.taker_fee == D("0.01")  # 0.005 -> 0.01 (half-even would give 0.00)
    assert t.maker_fee == D("-0.00")  # -0.0005 rounds to zero at 2 places
    assert t.maker_fee == 0


def test_cancel_removes_the_order_once():
    e = engine()
    e.submit_limit("mm", "b1", Side.BUY, D("99.00"), D("1"), ts_ns=1)
    e.submit_limit("mm", "b2", Side.BUY, D("99.00"), D("2"), ts_ns=2)
    cancelled = e.cancel("mm", "b1")
    assert cancelled is not None and cancelled.remaining == D("1")
    assert e.cancel("mm", "b1") is None
    assert e.cancel("mm", "never") is None
    assert e.cancel("someone-else", "b2") is None
    assert fills(e.submit_market("t", Side.SELL, D("5"), ts_ns=3)) == [("b2", D("99.00"), D("2"))]
    assert e.cancel("mm", "b2") is None  # filled orders cannot be cancelled
    assert e.best_bid() is None


def test_returned_orders_are_snapshots():
    e = engine()
    resting, _ = e.submit_limit("mm", "b1", Side.BUY, D("99.00"), D("1"), ts_ns=1)
    assert resting is not None
    resting.remaining = D("0")
    assert e.open_orders()[0].remaining == D("1")


def test_self_trades_are_skipped_and_the_maker_keeps_its_place():
    e = engine()
    e.submit_limit("mm", "own", Side.SELL, D("100.00"), D("1"), ts_ns=1)
    e.submit_limit("x", "other", Side.SELL, D("100.00"), D("1"), ts_ns=2)
    e.submit_limit("x", "other2", Side.SELL, D("100.00"), D("1"), ts_ns=3)
    trades = e.submit_market("mm", Side.BUY, D("1.5"), ts_ns=4)
    assert fills(trades) == [("other", D("100.00"), D("1")), ("other2", D("100.00"), D("0.5"))]
    assert [o.client_order_id for o in e.open_orders()] == ["own", "other2"]
    trades = e.submit_market("y", Side.BUY, D("1"), ts_ns=5)
    assert fills(trades) == [("own", D("100.00"), D("1"))]
    # a crossing limit's remainder expires when only its own orders are left across
    e.submit_limit("mm", "own2", Side.SELL, D("100.00"), D("1"), ts_ns=6)
    resting, trades = e.submit_limit("mm", "b", Side.BUY, D("100.00"), D("1"), ts_ns=7)
    assert resting is None and fills(trades) == [("other2", D("100.00"), D("0.5"))]
    assert [o.client_order_id for o in e.open_orders()] == ["own2"]
    assert e.best_bid() is None and e.best_ask() == D("100.00")


def test_levels_and_depth_within():
    e = engine()
    e.submit_limit("mm", "b1", Side.BUY, D("99.00"), D("1"), ts_ns=1)
    e.submit_limit("x", "b2", Side.BUY, D("99.00"), D("2"), ts_ns=2)
    e.submit_limit("mm", "b3", Side.BUY, D("98.00"), D("1"), ts_ns=3)
    e.submit_limit("mm", "a1", Side.SELL, D("101.00"), D("1"), ts_ns=4)
    assert e.levels(Side.BUY, 5) == [(D("99.00"), D("3")), (D("98.00"), D("1"))]
    assert e.levels(Side.BUY, 1) == [(D("99.00"), D("3"))]
    assert e.levels(Side.SELL, 5) == [(D("101.00"), D("1"))]
    # 150 bps around 100 reaches 98.5: only the 99 level
    assert e.depth_within(Side.BUY, 100.0, 150) == pytest.approx(297.0)
    assert e.depth_within(Side.BUY, 100.0, 150, owner="mm") == pytest.approx(99.0)
    assert e.depth_within(Side.BUY, 100.0, 200) == pytest.approx(395.0)
    assert e.depth_within(Side.SELL, 100.0, 100) == pytest.approx(101.0)
    assert e.depth_within(Side.SELL, 100.0, 50) == 0.0


# property test against a naive reference book ----------------------------------------------

OWNERS = ("a", "b")
SMALL = MarketSpec("X/USDT", tick_size=D("1"), lot_size=D("0.5"))


@dataclass
class _Ref:
    cid: str
    owner: str
    side: Side
    price: Decimal
    remaining: Decimal
    seq: int


def _ref_take(book: list[_Ref], owner: str, side: Side, amount: Decimal, limit: Decimal | None):
    """Quadratic but obviously right: eligible makers sorted by (better price, earlier)."""
    sign = 1 if side is Side.BUY else -1
    eligible = sorted(
        (
            o
            for o in book
            if o.side is side.opposite
            and o.owner != owner
            and (limit is None or sign * (limit - o.price) >= 0)
        ),
        key=lambda o: (sign * o.price, o.seq),
    )
    out = []
    for o in eligible:
        if amount == 0:
            break
        qty = min(amount, o.remaining)
        o.remaining -= qty
        amount -= qty
        out.append((o.cid, o.price, qty))
    book[:] = [o for o in book if o.remaining > 0]
    return amount, out


op_limit = st.tuples(
    st.just("limit"),
    st.sampled_from(OWNERS),
    st.sampled_from(list(Side)),
    st.integers(98, 102),
    st.integers(1, 8),
    st.booleans(),
)
op_market = st.tuples(
    st.just("market"), st.sampled_from(OWNERS), st.sampled_from(list(Side)), st.integers(1, 12)
)
op_cancel = st.tuples(st.just("cancel"), st.integers(0, 200))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(op_limit, op_limit, op_market, op_cancel), max_size=60))
def test_random_flow_matches_a_reference_book_and_conserves_amounts(ops):
    e = MatchingEngine(SMALL, maker_fee=D("0"), taker_fee=D("0"))
    ref: list[_Ref] = []
    submitted: dict[tuple[str, str], Decimal] = {}
    taken: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # as taker, at submission
    made: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # as maker, later
    gone: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # cancelled or expired
    cids: list[tuple[str, str]] = []
    seq = 0
    for ts, op in enumerate(ops):
        if op[0] == "limit":
            _, owner, side, ticks, lots, post_only = op
            seq += 1
            cid, price, amount = f"o{seq}", D(ticks), D(lots) / 2
            sign = 1 if side is Side.BUY else -1
            would_cross = any(
                o.side is side.opposite and sign * (price - o.price) >= 0 for o in ref
            )
            if post_only and would_cross:
                with pytest.raises(MatchRejected):
                    e.submit_limit(owner, cid, side, price, amount, ts, post_only=True)
                continue
            resting, trades = e.submit_limit(owner, cid, side, price, amount, ts)
            left, expected = _ref_take(ref, owner, side, amount, price)
            assert fills(trades) == expected
            key = (owner, cid)
            submitted[key] = amount
            cids.append(key)
            taken[key] = sum((t.amount for t in trades), D(0))
            crossed_own = any(
                o.side is side.opposite and sign * (price - o.price) >= 0 for o in ref
            )
            if left > 0 and not crossed_own:
                assert resting is not None and resting.remaining == left
                ref.append(_Ref(cid, owner, side, price, left, seq))
            else:
                assert resting is None
                gone[key] = left
        elif op[0] == "market":
            _, owner, side, lots = op
            trades = e.submit_market(owner, side, D(lots) / 2, ts)
            _, expected = _ref_take(ref, owner, side, D(lots) / 2, None)
            assert fills(trades) == expected
        else:
            if not cids:
                continue
            owner, cid = cids[op[1] % len(cids)]
            cancelled = e.cancel(owner, cid)
            match = [o for o in ref if o.cid == cid]
            assert (cancelled is None) == (not match)
            if cancelled is not None:
                assert cancelled.remaining == match[0].remaining
                gone[(owner, cid)] += cancelled.remaining
                ref.remove(match[0])
        if op[0] != "cancel":
            for t in trades:
                made[(t.maker_owner, t.maker_client_order_id)] += t.amount
                assert t.maker_owner != t.taker_owner
        # the book is never crossed
        bid, ask = e.best_bid(), e.best_ask()
        if bid is not None and ask is not None:
            assert bid < ask
        # same open orders, FIFO (arrival order) within every price level
        open_orders = e.open_orders()
        assert sorted(o.client_order_id for o in open_orders) == sorted(o.cid for o in ref)
        by_level: dict[tuple[Side, Decimal], list[int]] = defaultdict(list)
        for o in open_orders:
            by_level[(o.side, o.price)].append(o.seq)
        assert all(s == sorted(s) for s in by_level.values())
        # every unit submitted is resting, traded (once, as taker or maker) or gone
        remaining = {(o.owner, o.client_order_id): o.remaining for o in open_orders}
        for key, amount in submitted.items():
            assert remaining.get(key, D(0)) + taken[key] + made[key] + gone[key] == amount
