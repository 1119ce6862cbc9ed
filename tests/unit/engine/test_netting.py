from decimal import Decimal

import pytest

from engine.netting import Exposure, exposures, residual_intents
from engine.types import Side

D = Decimal


def _exposures(positions, pending=None, mids=None, threshold_quote=250.0, thresholds_base=None):
    return exposures(
        positions,
        pending or {},
        quote_asset="USDT",
        mids={"BTC": 65000.0, "ETH": 3200.0, "SOL": 150.0} if mids is None else mids,
        threshold_quote=threshold_quote,
        thresholds_base=thresholds_base or {},
    )


def test_one_exposure_per_non_quote_asset_with_quote_threshold_in_base():
    result = _exposures({"USDT": D("-1000"), "ETH": D("1.5"), "BTC": D(0)}, {"SOL": D("-2")})
    assert [e.asset for e in result] == ["BTC", "ETH", "SOL"]
    btc, eth, sol = result
    assert btc == Exposure("BTC", D(0), D(0), D(0), D("0.00384615"))  # 250 / 65000
    assert eth.net == D("1.5") and eth.threshold == D("0.07812500")
    assert sol.net == D(0) and sol.pending == D(-2) and sol.threshold == D("1.66666667")


def test_base_threshold_overrides_quote_threshold():
    (eth,) = _exposures({"ETH": D(1)}, thresholds_base={"ETH": D("0.25")})
    assert eth.threshold == D("0.25")


def test_missing_price_means_no_hedge_and_zero_threshold_hedges_everything():
    (eth,) = _exposures({"ETH": D(100)}, mids={})
    assert eth.threshold == D("Infinity")
    assert residual_intents([eth], quote_asset="USDT", plan_id="p") == []
    (eth,) = _exposures({"ETH": D("0.0001")}, mids={}, threshold_quote=0.0)
    assert eth.threshold == 0
    assert len(residual_intents([eth], quote_asset="USDT", plan_id="p")) == 1


@pytest.mark.parametrize(
    ("net", "pending", "side", "amount"),
    [
        ("0.5", "0", Side.SELL, 0.5),  # long: sell it
        ("-0.5", "0", Side.BUY, 0.5),  # short: buy it back
        ("0.5", "-0.3", Side.SELL, 0.2),  # a pending hedge already closes part of it
        ("-0.1", "-0.4", Side.BUY, 0.5),  # over-hedged in flight: buy back the overshoot
    ],
)
def test_residual_side_and_amount(net, pending, side, amount):
    exposure = Exposure("ETH", D(net), D(pending), D(0), D("0.1"))
    (intent,) = residual_intents([exposure], quote_asset="USDT", plan_id="rb-r1-3")
    assert intent.side is side and intent.amount == pytest.approx(amount)
    assert intent.symbol == "ETH/USDT" and intent.hedge_id == "rb-r1-3-ETH"
    assert intent.reason == "rebalance" and intent.source_fill_id is None


def test_within_threshold_or_fully_pending_sends_nothing():
    quiet = [
        Exposure("ETH", D("0.1"), D(0), D(0), D("0.1")),  # exactly at the threshold
        Exposure("BTC", D("2"), D("-2"), D(0), D("0.001")),  # in-flight hedge closes it
        Exposure("SOL", D("-0.09"), D(0), D(0), D("0.1")),
    ]
    assert residual_intents(quiet, quote_asset="USDT", plan_id="p") == []


def test_target_shifts_the_gap_and_quote_asset_is_never_hedged():
    rows = [
        Exposure("ETH", D(3), D(0), D(2), D("0.5")),
        Exposure("USDT", D(-5000), D(0), D(0), D(1)),
    ]
    (intent,) = residual_intents(rows, quote_asset="USDT", plan_id="p")
    assert intent.side is Side.SELL and intent.amount == 1.0


def test_exposures_feed_residual_intents_end_to_end():
    rows = _exposures({"BTC": D("0.01"), "ETH": D("-0.05"), "SOL": D("3")}, {"SOL": D("-1")})
    intents = residual_intents(rows, quote_asset="USDT", plan_id="p")
    # BTC 0.01 > 0.0038 -> sell; ETH 0.05 < 0.078 -> none; SOL 2 > 1.67 -> sell
    assert [(i.symbol, i.side, i.amount) for i in intents] == [
        ("BTC/USDT", Side.SELL, 0.01),
        ("SOL/USDT", Side.SELL, 2.0),
    ]
