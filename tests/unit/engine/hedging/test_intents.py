"""Mirror intents and how a hedge ends (engine/hedging/intents.py)."""

import pickle
from decimal import Decimal

from engine.hedging import (
    failed,
    hedge_outcome,
    mirror_hedge_id,
    mirror_intent,
    shortfall,
    skipped_outcome,
)
from engine.routing.reasons import Reason, ReasonKind, about_venue, kind_of
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


def _failed(outcome, results=(), plan_reasons=()):
    return failed(outcome.status, shortfall(list(results), list(plan_reasons)))


NOT_NEEDED = Reason("not needed: open gap 0.0003 covers only 0", ReasonKind.NOT_NEEDED)
LEFT = Reason("below venue minimum: 4.469e-05 left unplanned", ReasonKind.DUST)
ROUNDED = Reason("lot rounding: okx-sim 0.00005 -> 0", ReasonKind.DUST)
STALE = Reason(
    "kraken-sim: stale book: kraken-sim 187 ms > max_book_age_ms 150", ReasonKind.STALE_BOOK
)


def test_a_hedge_with_nothing_left_to_trade_did_not_fail():
    intent = mirror_intent(_fill())
    cases = [
        (skipped_outcome(intent, NOT_NEEDED), [], [NOT_NEEDED]),
        (hedge_outcome(intent, [], [LEFT]), [], [LEFT]),
        (hedge_outcome(intent, [], [ROUNDED, LEFT]), [], [ROUNDED, LEFT]),
        # dust on the young books, a venue out on a stale one that could not take it either
        (hedge_outcome(intent, [], [STALE, LEFT]), [], [STALE, LEFT]),
    ]
    for outcome, results, reasons in cases:
        assert outcome.status is HedgeStatus.SKIPPED
        assert not _failed(outcome, results, reasons), outcome.reason
        assert type(outcome.reason) is str  # the outcome carries the text, not the kinds


def test_a_hedge_that_executed_nothing_for_a_fault_failed():
    intent = mirror_intent(_fill())
    rejected = [_result("0", status="rejected")]
    outcome = hedge_outcome(intent, rejected, [])
    assert "rejected" in outcome.reason and _failed(outcome, rejected)
    # dust beside a fault is still a failure: the fault is what left the hedge undone
    expired = [_result("0", status="expired")]
    assert _failed(hedge_outcome(intent, expired, [ROUNDED]), expired, [ROUNDED])
    no_venue = "no venue healthy for BTC/USDT"
    assert _failed(skipped_outcome(intent, no_venue), plan_reasons=[no_venue])
    assert _failed(skipped_outcome(intent, ""))  # nothing executed and no reason: a fault
    # every venue's book stale and nothing placed: the stream path stalled, a fault
    assert _failed(hedge_outcome(intent, [], [STALE]), plan_reasons=[STALE])
    # whatever executed is not a failure, however little
    some = [_result("0.1")]
    assert not _failed(hedge_outcome(intent, some, [ROUNDED]), some, [ROUNDED])
    assert not _failed(hedge_outcome(intent, [_result("0.5")], []), [_result("0.5")])


def test_the_kind_made_with_a_reason_decides_a_failure_not_its_wording():
    """A fault that happens to read like dust still failed; dust reworded did not."""
    intent = mirror_intent(_fill())
    lookalike = "lot rounding: the venue said so"  # a plain str: a fault
    assert _failed(hedge_outcome(intent, [], [lookalike]), plan_reasons=[lookalike])
    reworded = Reason("under the lot size of every venue", ReasonKind.DUST)
    assert not _failed(hedge_outcome(intent, [], [reworded]), plan_reasons=[reworded])
    # the router's count of a run: only the faults
    outcomes = [
        (skipped_outcome(intent, NOT_NEEDED), [NOT_NEEDED]),
        (hedge_outcome(intent, [], [lookalike]), [lookalike]),
        (hedge_outcome(intent, [], [reworded]), [reworded]),
    ]
    assert sum(failed(o.status, r) for o, r in outcomes) == 1


def test_a_reason_keeps_its_kind_through_pickling_and_a_venue_prefix():
    wrapped = pickle.loads(pickle.dumps(about_venue("okx-sim", STALE)))
    assert wrapped == f"okx-sim: {STALE}" and wrapped.kind is ReasonKind.STALE_BOOK
    assert kind_of("any text") is ReasonKind.FAULT
    assert kind_of(about_venue("v1", "unhealthy: timeout")) is ReasonKind.FAULT
