from decimal import Decimal

import pytest
import yaml

from engine.config import ConfigError, HedgeMode, parse_config
from engine.hedging import (
    UnhedgedFills,
    cap_to_open_gap,
    hedge_outcome,
    hybrid_intent,
    hybrid_trigger,
    mirror_hedge_id,
    mirror_intent,
)
from engine.types import ChildOrder, ChildOrderResult, Execution, Fill, HedgeStatus, Side
from tests.conftest import LOCAL_CONFIG


def _fill(side=Side.BUY, amount="0.5"):
    return Fill(
        0,
        "home",
        "BTC/USDT",
        "f1",
        "o1",
        side,
        Decimal("100"),
        Decimal(amount),
        Decimal("0"),
        "USDT",
    )


def _result(amount: str, status="filled"):
    child = ChildOrder("m-f1", "c1", "v1", "BTC/USDT", Side.SELL, 0.5, 99.0)
    ex = Execution(
        0,
        "m-f1",
        "c1",
        "v1",
        "BTC/USDT",
        Side.SELL,
        Decimal(amount),
        Decimal(amount) * 99,
        Decimal("0.01"),
        "USDT",
    )
    return ChildOrderResult(child, status, (ex,) if Decimal(amount) else ())


def test_mirror_intent_trades_opposite_side_same_amount():
    intent = mirror_intent(_fill(Side.BUY, "0.5"))
    assert intent.side is Side.SELL and intent.amount == 0.5
    assert intent.hedge_id == mirror_hedge_id("f1") and intent.source_fill_id == "f1"


def test_outcome_status_and_reasons():
    intent = mirror_intent(_fill())
    assert hedge_outcome(intent, [_result("0.5")], []).status is HedgeStatus.HEDGED
    partial = hedge_outcome(intent, [_result("0.2", "partial")], ["max_notional_per_trade"])
    assert partial.status is HedgeStatus.PARTIAL
    assert partial.filled == Decimal("0.2")
    assert "max_notional_per_trade" in partial.reason and "v1: partial" in partial.reason
    skipped = hedge_outcome(intent, [], ["stale book: v1 9.0s"])
    assert skipped.status is HedgeStatus.SKIPPED and "stale book" in skipped.reason


# hybrid -----------------------------------------------------------------------

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


def test_cap_to_open_gap_never_over_hedges():
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("5")) == 2.0  # long 5: sell all 2
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("0.5")) == 0.5  # netting closed most
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("0")) == 0.0
    assert cap_to_open_gap(Side.SELL, 2.0, Decimal("-1")) == 0.0  # short: selling adds risk
    assert cap_to_open_gap(Side.BUY, 2.0, Decimal("-1.5")) == 1.5
    assert cap_to_open_gap(Side.BUY, 2.0, Decimal("3")) == 0.0


def test_hybrid_mode_and_slicing_are_configured_per_market_and_risk():
    data = yaml.safe_load(LOCAL_CONFIG.read_text())
    data["markets"][0].update(
        {"hedge_mode": "hybrid", "hybrid_threshold_quote": 5000, "hybrid_max_age_s": 1.5}
    )
    data["risk"].update({"slice_interval_s": 0.5, "max_slices": 20})
    cfg = parse_config(data, "x.yaml")
    market = cfg.market(data["markets"][0]["symbol"])
    assert market.hedge_mode is HedgeMode.HYBRID
    assert (market.hybrid_threshold_quote, market.hybrid_max_age_s) == (5000, 1.5)
    assert (cfg.risk.slice_interval_s, cfg.risk.max_slices) == (0.5, 20)
    data["markets"][0]["hybrid_max_age_s"] = 0
    with pytest.raises(ConfigError, match=r"x.yaml: markets\[0\].hybrid_max_age_s: "):
        parse_config(data, "x.yaml")
