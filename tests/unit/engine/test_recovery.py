"""A restarted router's decisions, without Ray: intents, rows, rebuilt summaries."""

from __future__ import annotations

from decimal import Decimal

from engine.hedging import mirror_hedge_id, source_fill_of
from engine.ledger import Ledger
from engine.recovery import (
    RecordedChild,
    abandoned_intent,
    carried_exposure,
    fill_look_back,
    outcome_summary,
    recovered_intent,
    recovery_rows,
    summarised_children,
)
from engine.types import (
    ChildOrder,
    ChildOrderResult,
    Execution,
    Fill,
    HedgeOutcome,
    HedgeStatus,
    Side,
)


def _result(filled: str, amount: float = 0.5) -> ChildOrderResult:
    order = ChildOrder("m-f1", "mmabc-0", "okx-sim", "BTC/USDT", Side.SELL, amount, 64_000.0)
    ex = Execution(1, "m-f1", "mmabc-0", "okx-sim", "BTC/USDT", Side.SELL, Decimal(filled),
                   Decimal(filled) * 64_000, Decimal(0), "USDT", "o1", "t1")  # fmt: skip
    return ChildOrderResult(order, "partial", (ex,), "")


def test_mirror_ids_round_trip_and_others_have_no_source_fill():
    assert source_fill_of(mirror_hedge_id("home-7")) == "home-7"
    assert source_fill_of("rb-run-3:BTC") is None


def test_a_pending_mirror_hedge_keeps_its_side_and_size_the_venue_is_only_a_fallback():
    intent = recovered_intent("m-f1", "X/Y", ("BTC/USDT", Decimal("-0.5")), [_result("0.4")])
    assert (intent.symbol, intent.side, intent.amount) == ("BTC/USDT", Side.SELL, 0.5)
    assert intent.source_fill_id == "f1"
    fallback = recovered_intent("rb-1:BTC", "BTC/USDT", None, [_result("0.4", amount=0.3)])
    assert (fallback.side, fallback.amount, fallback.source_fill_id) == (Side.SELL, 0.3, None)


def test_rows_carry_every_child_and_the_open_rest_with_its_reason():
    intent = recovered_intent("m-f1", "BTC/USDT", ("BTC/USDT", Decimal("-0.5")), [])
    rows = recovery_rows(intent, [RecordedChild.of(_result("0.4"))], "found", "rest", 9)
    assert [(r["status"], r.get("venue"), r["filled_amount"]) for r in rows] == [
        ("partial", "okx-sim", 0.4),
        ("skipped", None, 0.0),
    ]
    assert rows[1]["amount"] == 0.5 - 0.4 and rows[1]["reason"] == "rest"
    assert all(r["source_fill_id"] == "f1" and r["side"] == "sell" for r in rows)
    nothing_sent = recovery_rows(
        abandoned_intent("m-f2", "BTC/USDT", Decimal("0.2")), [], "a", "b", 9
    )
    assert [(r["status"], r["amount"], r["side"]) for r in nothing_sent] == [
        ("skipped", 0.2, "buy")
    ]


def test_a_summary_rebuilds_the_rows_of_a_concluded_hedge():
    result = _result("0.5")
    outcome = HedgeOutcome(
        "m-f1", "BTC/USDT", Side.SELL, 0.5, HedgeStatus.HEDGED, "", result.executions, "f1"
    )
    summary = outcome_summary(outcome)
    assert summary["children"] == [["okx-sim", "mmabc-0", "0.5"]]
    (child,) = summarised_children(summary)
    assert (child.venue, child.filled, child.status) == ("okx-sim", 0.5, "filled")


def test_carried_exposure_is_the_booked_position_plus_what_landed_after_the_stop():
    ledger = Ledger("USDT")
    postings = ledger.open_balances("home", {"BTC": Decimal(10), "USDT": Decimal(10**6)}, 0)
    fill = Fill(
        ts_ns=1,
        fill_id="home:BTC/USDT:1",
        venue="home",
        market="BTC/USDT",
        side=Side.BUY,  # the bot bought 0.5 BTC: +0.5 to hedge by selling
        price=Decimal("64000"),
        amount=Decimal("0.5"),
        fee=Decimal(0),
        fee_currency="BTC",
        order_id="o1",
    )
    postings += ledger.post_fill(fill)
    # nothing landed, nothing carried before: the booked position is what is left
    assert carried_exposure("USDT", postings, {}, []) == {"BTC": Decimal("0.5")}
    # its hedge was in flight: the venue says 0.3 of the sell executed after the stop
    landed = [_result("0.3")]
    assert carried_exposure("USDT", postings, {}, landed) == {"BTC": Decimal("0.2")}
    # an earlier carry adds; assets that net to zero are dropped
    before = {"ETH": Decimal("-2"), "BTC": Decimal("-0.2")}
    assert carried_exposure("USDT", postings, before, landed) == {"ETH": Decimal("-2")}


def test_fill_look_back_is_per_market_a_margin_before_its_last_booked_fill():
    ledger = Ledger("USDT")
    postings = []
    for i, (market, ts) in enumerate((("BTC/USDT", 100), ("BTC/USDT", 500), ("ETH/USDT", 300))):
        fill = Fill(
            ts_ns=ts,
            fill_id=f"run-{market.replace('/', '-')}-q{i}-f1",
            venue="home",
            market=market,
            side=Side.BUY,
            price=Decimal("10"),
            amount=Decimal("1"),
            fee=Decimal("0.001"),
            fee_currency="BNB",  # a third asset in the entry does not hide its pair
            order_id=f"o{i}",
        )
        postings += ledger.post_fill(fill)
    since = fill_look_back(
        postings, ["BTC/USDT", "ETH/USDT", "SOL/USDT"], started_ns=50, lookback_ns=100
    )
    # ETH's own last fill counts, not BTC's later one; no fill: from the run's start
    assert since == {"BTC/USDT": 400, "ETH/USDT": 200, "SOL/USDT": 50}
    assert fill_look_back(postings, ["ETH/USDT"], started_ns=250, lookback_ns=100) == {
        "ETH/USDT": 250
    }
