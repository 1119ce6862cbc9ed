"""Mirror intents and how a hedge ends (engine/hedging/intents.py)."""

from decimal import Decimal

from engine.hedging import (
    failed,
    hedge_outcome,
    mirror_hedge_id,
    mirror_intent,
    skipped_outcome,
)
from engine.types import ChildOrder, ChildOrderResult, Execution, Fill, HedgeStatus, Side


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


def test_a_hedge_not_sent_is_skipped_for_its_whole_amount_with_its_reason():
    intent = mirror_intent(_fill(Side.SELL, "0.3"))
    outcome = skipped_outcome(intent, "not needed: open gap 0")
    assert outcome.status is HedgeStatus.SKIPPED and outcome.filled == 0
    assert (outcome.requested, outcome.side, outcome.source_fill_id) == (0.3, Side.BUY, "f1")
    assert outcome.reason == "not needed: open gap 0"


def test_a_hedge_with_nothing_left_to_trade_did_not_fail():
    intent = mirror_intent(_fill())
    not_needed = skipped_outcome(intent, "not needed: open gap 0.0003 covers only 0")
    dust = hedge_outcome(intent, [], ["below venue minimum: 4.469e-05 left unplanned"])
    rounded = hedge_outcome(
        intent, [], ["lot rounding: okx-sim 0.00005 -> 0", "below venue minimum: 5e-05 left"]
    )
    # dust on the young books, a venue out on a stale one that could not take it either
    stale = "kraken-sim: stale book: kraken-sim 187 ms > max_book_age_ms 150"
    dust_beside_stale = hedge_outcome(
        intent, [], [stale, "below venue minimum: 0.0001998 left unplanned"]
    )
    for outcome in (not_needed, dust, rounded, dust_beside_stale):
        assert outcome.status is HedgeStatus.SKIPPED
        assert not failed(outcome), outcome.reason


def test_a_hedge_that_executed_nothing_for_a_fault_failed():
    intent = mirror_intent(_fill())
    rejected = hedge_outcome(intent, [_result("0", status="rejected")], [])
    assert "rejected" in rejected.reason and failed(rejected)
    # dust beside a fault is still a failure: the fault is what left the hedge undone
    mixed = hedge_outcome(intent, [_result("0", status="expired")], ["lot rounding: v1 1 -> 0"])
    assert failed(mixed)
    assert failed(skipped_outcome(intent, "no venue healthy for BTC/USDT"))
    assert failed(skipped_outcome(intent, ""))  # nothing executed and no reason: a fault
    # every venue's book stale and nothing placed: the stream path stalled, a fault
    assert failed(hedge_outcome(intent, [], ["v1: stale book: v1 400 ms > max_book_age_ms 150"]))
    # whatever executed is not a failure, however little
    assert not failed(hedge_outcome(intent, [_result("0.1")], ["lot rounding: v1 1 -> 0"]))
    assert not failed(hedge_outcome(intent, [_result("0.5")], []))
