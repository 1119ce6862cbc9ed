"""The one builder of hedge_orders / hedge_fills rows (engine/hedging/records.py)."""

from decimal import Decimal

import pytest

from analytics.schemas import schema_for
from analytics.views import connect
from analytics.writer import PartWriter
from engine.hedging.records import (
    execution_rows,
    modelled_hedge_columns,
    rows_of,
    skip_row,
    slice_rows,
)
from engine.routing.quality import DecisionBenchmarks
from engine.types import ChildOrder, ChildOrderResult, Execution, HedgeIntent, Side

PARENT = HedgeIntent("m-f1", "BTC/USDT", Side.SELL, 0.5, source_fill_id="f1", reason="mirror")
BENCH = DecisionBenchmarks(0.5, "a", 99.0, 99.2)


def _result(venue, cid, amount, filled, status, reason=""):
    child = ChildOrder("m-f1", cid, venue, "BTC/USDT", Side.SELL, amount, 99.5, decision_mid=100.0)
    executions = ()
    if filled:
        ex = Execution(7, "m-f1", cid, venue, "BTC/USDT", Side.SELL, Decimal(filled),
                       Decimal(filled) * 100, Decimal("0.01"), "USDT")  # fmt: skip
        executions = (ex,)
    return ChildOrderResult(child, status, executions, reason)


def test_a_slice_has_a_row_per_child_and_one_for_its_residual_with_the_plan_reasons():
    results = [_result("a", "c0", 0.3, "0.3", "filled"), _result("b", "c1", 0.1, "0.05", "partial",
                                                                  "ioc rest expired")]  # fmt: skip
    rows = slice_rows(PARENT, "mirror", results, 0.1, ("insufficient depth",), 5, BENCH)
    assert [(r["venue"], r["status"], r["amount"], r["filled_amount"]) for r in rows] == [
        ("a", "filled", 0.3, 0.3),
        ("b", "partial", 0.1, 0.05),
        (None, "skipped", 0.1, 0.0),
    ]
    assert [r["reason"] for r in rows] == [
        "mirror",
        "ioc rest expired",
        "mirror; insufficient depth",
    ]
    # every row of the slice carries what it achieved against its benchmarks: 0.35 sold at
    # 100 less 0.02 fees is 99.943 per unit, against 99.0 on the best single venue
    for r in rows:
        assert r["achieved_all_in_price"] == pytest.approx((35 - 0.02) / 0.35)
        assert r["saving_bps"] == pytest.approx((r["achieved_all_in_price"] - 99.0) / 99.0 * 1e4)
        assert (r["best_single_venue"], r["optimum_all_in_price"]) == ("a", 99.2)
        assert (r["hedge_id"], r["source_fill_id"], r["side"]) == ("m-f1", "f1", "sell")


def test_every_row_the_desk_builds_fits_the_tables_and_reads_back(tmp_path):
    results = [_result("a", "c0", 0.5, "0.5", "filled")]
    orders = slice_rows(PARENT, "mirror", results, 0.0, (), 5, BENCH)
    orders.append(skip_row(PARENT, 0.2, "not needed: open gap 0", 6))
    modelled_orders, modelled_fills = modelled_hedge_columns(
        2, ts=[8, 9], market="ETH/USDT", hedge_ids=["h1", "h2"], client_order_ids=["h1-0", "h2-0"],
        source_fill_ids=["f8", None], venue=["a", "b"], side=["buy", "sell"], amount=[1.0, 2.0],
        decision_mid=[10.0, 10.0], price=[10.1, 9.9], cost=[10.1, 19.8], fee=[0.0, 0.01],
        fee_currency="USDT",
    )  # fmt: skip
    orders += rows_of(modelled_orders)
    fills = execution_rows((e for r in results for e in r.executions), 5) + rows_of(modelled_fills)
    for table, rows in (("hedge_orders", orders), ("hedge_fills", fills)):
        assert all(set(r) <= set(schema_for(table).names) for r in rows)
        writer = PartWriter(str(tmp_path), table, writer_id="t", run_id="r", config_hash="c")
        writer.append(rows)
        writer.close()
    con = connect(str(tmp_path))
    got = con.execute(
        "select hedge_id, status, reason, filled_amount from hedge_orders order by ts"
    ).fetchall()
    assert got == [
        ("m-f1", "filled", "mirror", 0.5),
        ("m-f1", "skipped", "not needed: open gap 0", 0.0),
        ("h1", "filled", "backtest: filled at once at the venue's touch", 1.0),
        ("h2", "filled", "backtest: filled at once at the venue's touch", 2.0),
    ]
    assert con.execute("select sum(amount), count(*) from hedge_fills").fetchone() == (3.5, 3)


def test_every_row_of_a_slice_carries_the_books_it_was_planned_on():
    import json

    from engine.hedging.records import decision_fields
    from engine.routing.planner import VenueQuote
    from engine.types import BookSnapshot, MarketSpec

    spec = MarketSpec("BTC/USDT", Decimal("0.01"), Decimal("0.0001"))
    book = BookSnapshot("b", "BTC/USDT", 1_000_000_000, ((99.9, 1.0),), ((100.1, 1.0),))
    quotes = [VenueQuote("b", book, 0.001, spec, 5.0)]
    decision = decision_fields(quotes, ["a: unhealthy: down"], 1_250_000_000)
    results = [_result("b", "c0", 0.3, "0.3", "filled")]
    rows = slice_rows(PARENT, "mirror", results, 0.1, ("a: unhealthy: down",), 5, BENCH, decision)
    assert [json.loads(r["decision_books"]) for r in rows] == [
        [{"venue": "b", "best_bid": 99.9, "best_ask": 100.1, "age_ms": 250.0,
          "taker_fee": 0.001, "available": 5.0}]
    ] * 2  # fmt: skip
    assert all(json.loads(r["plan_reasons"]) == ["a: unhealthy: down"] for r in rows)
    schema_for("hedge_orders").field("decision_books")  # a column analysts can query
