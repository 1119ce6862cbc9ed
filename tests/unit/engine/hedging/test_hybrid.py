"""Hybrid hedging: fills held back, netted, and hedged once (engine/hedging/hybrid.py)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.hedging import UnhedgedFills, hybrid_intent, hybrid_trigger
from engine.types import Fill, Side

S = 10**9


def _hfill(fill_id, side, amount, ts_s):
    return Fill(
        ts_s * S,
        "home",
        "BTC/USDT",
        fill_id,
        "o",
        side,
        Decimal("100"),
        Decimal(amount),
        Decimal(0),
        "USDT",
    )


def _waiting(*fills):
    u = UnhedgedFills("BTC/USDT")
    for f in fills:
        u = u.add(f)
    return u


def test_hybrid_waits_below_threshold_and_age_then_fires_on_each():
    u = _waiting(_hfill("f1", Side.BUY, "3", 10), _hfill("f2", Side.SELL, "1", 11))
    assert u.net_base == Decimal(2) and u.oldest_ts_ns == 10 * S
    kwargs = {"threshold_quote": 250.0, "max_age_s": 5.0}
    assert hybrid_trigger(u, 100.0, now_ns=12 * S, **kwargs) is None  # 200 quote, 2 s old
    by_size = hybrid_trigger(u, 130.0, now_ns=12 * S, **kwargs)  # 260 quote
    assert by_size is not None and "threshold" in by_size
    by_age = hybrid_trigger(u, 100.0, now_ns=15 * S, **kwargs)
    assert by_age is not None and "max age" in by_age
    assert hybrid_trigger(u, None, now_ns=12 * S, **kwargs) is None  # no mid: only age counts
    assert hybrid_trigger(u, None, now_ns=16 * S, **kwargs) is not None


def test_hybrid_never_fires_on_a_flat_net_and_hedges_the_net_once():
    flat = _waiting(_hfill("f1", Side.BUY, "2", 0), _hfill("f2", Side.SELL, "2", 1))
    assert hybrid_trigger(flat, 100.0, threshold_quote=0.0, max_age_s=1.0, now_ns=99 * S) is None
    assert hybrid_intent(flat, "x") is None
    u = _waiting(_hfill("f1", Side.SELL, "3", 4), _hfill("f2", Side.BUY, "1", 5))
    intent = hybrid_intent(u, "hybrid: age")
    assert (intent.side, intent.amount, intent.symbol) == (Side.BUY, 2.0, "BTC/USDT")
    assert intent.source_fill_id == "f1" and intent.source_ts_ns == 4 * S
    assert intent.reason == "hybrid: age"
    assert hybrid_intent(u, "again").hedge_id == intent.hedge_id  # derived from the fills
    other = _waiting(_hfill("f1", Side.SELL, "3", 4), _hfill("f3", Side.BUY, "1", 5))
    assert hybrid_intent(other, "x").hedge_id != intent.hedge_id


_amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3)
_flow = st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), _amounts), max_size=30)


@given(_flow)
def test_the_net_hedge_closes_exactly_what_the_fills_opened(flow):
    fills = [_hfill(f"f{i}", side, str(amount), i) for i, (side, amount) in enumerate(flow)]
    u = _waiting(*fills)
    net = sum((f.side.sign * f.amount for f in fills), Decimal(0))
    assert u.net_base == net
    intent = hybrid_intent(u, "x")
    if net == 0:
        assert intent is None
        return
    assert intent is not None
    # the hedge brings the net back to zero, never past it
    assert net + intent.side.sign * Decimal(repr(intent.amount)) == 0
    assert intent.source_fill_id == "f0"


@given(_flow, st.floats(min_value=0.0, max_value=1e6), st.floats(min_value=0.1, max_value=60))
def test_a_trigger_fires_only_on_a_non_zero_net(flow, threshold, age_s):
    fills = [_hfill(f"f{i}", side, str(amount), i) for i, (side, amount) in enumerate(flow)]
    u = _waiting(*fills)
    far_future = (len(fills) + 10_000) * S
    fired = hybrid_trigger(u, 100.0, threshold_quote=threshold, max_age_s=age_s, now_ns=far_future)
    assert (fired is not None) == (u.net_base != 0)
