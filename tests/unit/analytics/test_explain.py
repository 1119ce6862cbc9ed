"""`marketmesh explain` against a hand-written dataset, field by field against its Parquet.

Four fills: one hedged in two children (with a venue left out), one netted by
the rebalancer (hedge mode net), one whose hedge was skipped with a reason,
and one RFQ fill.
"""

import json
from decimal import Decimal

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from analytics.explain import NotInDataset, explain_fill, explain_hedge, explain_rfq
from analytics.views import connect
from analytics.writer import PartWriter
from marketmesh.cli import app

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9
MS = 10**6
MKT = "BTC/USDT"
BOOKS = [
    {"venue": "a", "best_bid": 99.9, "best_ask": 100.1, "age_ms": 120.0, "taker_fee": 0.001,
     "available": 50_000.0},
    {"venue": "b", "best_bid": 99.8, "best_ask": 100.2, "age_ms": 480.0, "taker_fee": 0.0005,
     "available": 3_000.0},
]  # fmt: skip
REASONS = ["c: unhealthy: unreachable: ConnectionError"]


def _inputs(decision_id, hedge_mode="mirror"):
    return {
        "decision_id": decision_id,
        "policy": "ladder",
        "hedge_mode": hedge_mode,
        "decision_mid": 100.0,
        "reference_age_s": 0.25,
        "inventory": 0.4,
        "inventory_limit": 1.0,
        "vol_regime": "widen",
        "sigma_bps_per_sqrt_s": 3.5,
        "guards": "vol_guard:widen",
        "target_spread_bps": 20.0,
        "max_spread_bps": 50.0,
    }


def _order(hedge_id, fill_id, ts, **kw):
    return {"ts": ts, "market": MKT, "hedge_id": hedge_id, "source_fill_id": fill_id,
            "side": "sell", **kw}  # fmt: skip


DATA = {
    "quotes": [
        *(
            {
                "ts": T0,
                "market": MKT,
                "side": s,
                "level": 0,
                "price": p,
                "amount": 0.5,
                "client_order_id": cid,
                "action": "place",
                **_inputs(f"{MKT}@{T0}"),
            }
            for s, p, cid in (("buy", 99.85, "q1"), ("sell", 100.15, "q2"))
        ),
        {
            "ts": T0 + 2 * S,
            "market": MKT,
            "side": "buy",
            "level": 0,
            "price": 99.8,
            "amount": 0.3,
            "client_order_id": "q3",
            "action": "place",
            **_inputs(f"{MKT}@{T0 + 2 * S}", "net"),
        },
        {
            "ts": T0 + 2 * S,
            "market": MKT,
            "side": "sell",
            "level": 0,
            "price": 100.2,
            "amount": 0.3,
            "client_order_id": "q4",
            "action": "place",
            **_inputs(f"{MKT}@{T0 + 2 * S}", "net"),
        },
        {
            "ts": T0 + 3 * S,
            "market": MKT,
            "side": "buy",
            "level": 0,
            "price": 99.9,
            "amount": 0.2,
            "client_order_id": "q5",
            "action": "place",
        },  # written before inputs
    ],
    "fills": [
        {
            "ts": T0 + 100 * MS,
            "seen_ts": T0 + 110 * MS,
            "market": MKT,
            "fill_id": "fA",
            "order_id": "q1",
            "side": "buy",
            "price": 99.85,
            "amount": 0.5,
            "fee": 0.01,
            "fee_currency": "USDT",
            "liquidity": "maker",
            "mid": 100.0,
        },
        {
            "ts": T0 + 2500 * MS,
            "seen_ts": T0 + 2510 * MS,
            "market": MKT,
            "fill_id": "fB",
            "order_id": "q4",
            "side": "sell",
            "price": 100.2,
            "amount": 0.3,
            "fee": 0.0,
            "liquidity": "maker",
            "mid": 100.0,
        },
        {
            "ts": T0 + 3100 * MS,
            "seen_ts": T0 + 3110 * MS,
            "market": MKT,
            "fill_id": "fC",
            "order_id": "q5",
            "side": "buy",
            "price": 99.9,
            "amount": 0.2,
            "fee": 0.0,
            "liquidity": "maker",
            "mid": 100.0,
        },
        {
            "ts": T0 + 4 * S,
            "seen_ts": T0 + 4 * S,
            "market": MKT,
            "fill_id": "fR",
            "order_id": "rq1",
            "side": "sell",
            "price": 100.3,
            "amount": 1.0,
            "fee": 0.0,
            "liquidity": "taker",
            "mid": 100.05,
        },
    ],
    "hedge_orders": [
        *(
            _order(
                "m-fA",
                "fA",
                T0 + 150 * MS,
                venue=v,
                client_order_id=cid,
                type="limit",
                amount=amt,
                limit_price=99.5,
                decision_mid=100.0,
                status="filled",
                reason=reason,
                filled_amount=amt,
                achieved_all_in_price=99.86,
                best_single_venue="a",
                best_single_all_in_price=99.84,
                optimum_all_in_price=99.87,
                saving_bps=2.0,
                decision_books=json.dumps(BOOKS),
                plan_reasons=json.dumps(REASONS),
            )
            for v, cid, amt, reason in (
                ("a", "mmA-0", 0.3, "mirror"),
                ("b", "mmA-1", 0.2, "looked up after unknown outcome"),
            )
        ),
        _order(
            "m-fC",
            "fC",
            T0 + 3200 * MS,
            amount=0.2,
            status="skipped",
            reason="not needed: in-flight hedges already cover 0.2 of it",
            filled_amount=0.0,
        ),
        _order(
            "plan7-BTC",
            None,
            T0 + 6 * S,
            venue="a",
            client_order_id="mmP-0",
            type="limit",
            amount=0.3,
            limit_price=100.5,
            decision_mid=100.0,
            status="filled",
            reason="rebalance",
            filled_amount=0.3,
            side="buy",
        )
        | {"side": "buy"},
        _order(
            "m-fR",
            "fR",
            T0 + 4100 * MS,
            venue="b",
            client_order_id="mmR-1",
            type="limit",
            amount=1.0,
            limit_price=100.6,
            decision_mid=100.05,
            status="filled",
            reason="mirror",
            filled_amount=1.0,
        )
        | {"side": "buy"},
    ],
    "hedge_fills": [
        {
            "ts": T0 + 160 * MS,
            "market": MKT,
            "hedge_id": "m-fA",
            "client_order_id": "mmA-0",
            "venue": "a",
            "side": "sell",
            "price": 99.9,
            "amount": 0.3,
            "cost": 29.97,
            "fee": 0.03,
            "fee_currency": "USDT",
        },
        {
            "ts": T0 + 170 * MS,
            "market": MKT,
            "hedge_id": "m-fA",
            "client_order_id": "mmA-1",
            "venue": "b",
            "side": "sell",
            "price": 99.8,
            "amount": 0.2,
            "cost": 19.96,
            "fee": 0.01,
            "fee_currency": "USDT",
        },
        {
            "ts": T0 + 4200 * MS,
            "market": MKT,
            "hedge_id": "m-fR",
            "client_order_id": "mmR-1",
            "venue": "b",
            "side": "buy",
            "price": 100.1,
            "amount": 1.0,
            "cost": 100.1,
            "fee": 0.05,
            "fee_currency": "USDT",
        },
    ],
    "ledger_entries": [
        {
            "ts": T0 + 100 * MS,
            "entry_id": f"fA:{i}",
            "ref": "fA",
            "venue": "home",
            "account": acc,
            "asset": asset,
            "amount": Decimal(amt),
            "kind": "fill",
        }
        for i, (acc, asset, amt) in enumerate(
            (
                ("wallet", "BTC", "0.5"),
                ("counterparty", "BTC", "-0.5"),
                ("wallet", "USDT", "-49.925"),
                ("counterparty", "USDT", "49.925"),
            )
        )
    ]
    + [
        {
            "ts": T0 + 160 * MS,
            "entry_id": "m-fA:a:mmA-0:t1:0",
            "ref": "m-fA:a:mmA-0:t1",
            "venue": "a",
            "account": "wallet",
            "asset": "BTC",
            "amount": Decimal("-0.3"),
            "kind": "hedge",
        },
        {
            "ts": T0 + 160 * MS,
            "entry_id": "m-fAB:a:x:0",
            "ref": "m-fAB:a:x",
            "venue": "a",
            "account": "wallet",
            "asset": "BTC",
            "amount": Decimal("1"),
            "kind": "hedge",
        },  # another hedge whose id merely starts like it
    ],
    "exposure": [
        {"ts": T0 - S, "asset": "BTC", "net": 0.4, "pending": 0.0, "target": 0.0, "threshold": 0.1},
        {
            "ts": T0 + S,
            "asset": "BTC",
            "net": 0.9,
            "pending": -0.5,
            "target": 0.0,
            "threshold": 0.1,
        },
    ],
    "book_samples": [
        {
            "ts": T0 + t,
            "market": MKT,
            "mid": mid,
            "best_bid": mid - 0.1,
            "best_ask": mid + 0.1,
            "spread_bps": 20.0,
            "quoting": True,
        }
        for t, mid in ((0, 100.0), (2 * S, 100.2), (6 * S, 100.4), (61 * S, 99.9))
    ],
    "rfq_quotes": [
        {
            "ts": T0 + 3 * S,
            "market": MKT,
            "broker": "otc",
            "event": "quoted",
            "quote_id": "rq1",
            "client": "acme",
            "side": "buy",
            "size": 1.0,
            "price": 100.3,
            "mid_price": 100.05,
            "walked_price": 100.12,
            "deviation_bps": 0.4,
            "expires_ts": T0 + 8 * S,
        },
        {
            "ts": T0 + 4 * S,
            "market": MKT,
            "broker": "otc",
            "event": "accepted",
            "quote_id": "rq1",
            "client": "acme",
            "side": "buy",
            "size": 1.0,
            "price": 100.3,
            "mid_price": 100.05,
        },
        {
            "ts": T0 + 5 * S,
            "market": MKT,
            "broker": "otc",
            "event": "quoted",
            "quote_id": "rq2",
            "client": "acme",
            "side": "sell",
            "size": 2.0,
            "price": 99.7,
            "mid_price": 100.0,
        },
    ],
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    for table, rows in DATA.items():
        w = PartWriter(str(root), table, writer_id="t", run_id="r1", config_hash="cfg9")
        w.append(rows)
        w.flush()
    return root


@pytest.fixture(scope="module")
def con(data_dir):
    return connect(str(data_dir))


def parquet(data_dir, table, **match):
    """Rows of `table` as stored in its Parquet parts, filtered by equality on `match`."""
    rows = ds.dataset(data_dir / table, format="parquet", partitioning="hive").to_table()
    return [r for r in rows.to_pylist() if all(r.get(k) == v for k, v in match.items())]


def test_a_fill_hedged_in_two_children_field_by_field(con, data_dir):
    story = explain_fill(con, "fA")
    [quote_row] = parquet(data_dir, "quotes", client_order_id="q1")
    q = story["quote"]
    for field in ("side", "level", "price", "amount", "client_order_id", "config_hash",
                  *_inputs("x")):  # fmt: skip
        assert q[field] == quote_row[field], field
    assert [r["client_order_id"] for r in q["ladder"]] == ["q1", "q2"]
    assert q["effective_spread_bps"] == pytest.approx((100.15 - 99.85) / 100.0 * 1e4)
    assert q["exposure"]["net"] == 0.4  # the row before the quote, not the one after
    [fill_row] = parquet(data_dir, "fills", fill_id="fA")
    for field in ("order_id", "side", "price", "amount", "fee", "mid"):
        assert story["fill"][field] == fill_row[field], field

    [hedge] = story["hedges"]
    orders = parquet(data_dir, "hedge_orders", hedge_id="m-fA")
    assert [c["client_order_id"] for c in hedge["children"]] == ["mmA-0", "mmA-1"]
    for child, row in zip(hedge["children"], orders, strict=True):
        for field in ("venue", "client_order_id", "amount", "limit_price", "status", "reason"):
            assert child[field] == row[field], field
    assert hedge["children"][1]["looked_up"] and not hedge["children"][0]["looked_up"]
    execs = parquet(data_dir, "hedge_fills", hedge_id="m-fA")
    assert [e["price"] for c in hedge["children"] for e in c["executions"]] == [
        e["price"] for e in execs
    ]
    [decision] = hedge["decisions"]
    assert decision["books"] == json.loads(orders[0]["decision_books"])
    assert decision["excluded_and_shortfalls"] == REASONS
    assert hedge["benchmarks"]["best_single_venue"] == "a"
    assert hedge["benchmarks"]["optimum_all_in_price"] == pytest.approx(99.87)
    assert hedge["benchmarks"]["fill_to_hedge_ms"] == pytest.approx(50.0)
    assert hedge["not_sent"] == []

    refs = {p["ref"] for p in story["ledger"]}
    assert refs == {"fA", "m-fA:a:mmA-0:t1"}  # not m-fAB's
    assert [p["amount"] for p in story["ledger"] if p["ref"] == "fA"] == [
        str(r["amount"]) for r in parquet(data_dir, "ledger_entries", ref="fA")
    ]

    pnl = story["pnl"]
    assert pnl["capture_quote"] == pytest.approx((100.0 - 99.85) * 0.5)
    assert pnl["hedge_slippage_quote"] == pytest.approx(-(99.9 - 100) * 0.3 - (99.8 - 100) * 0.2)
    assert pnl["hedge_fees_quote"] == pytest.approx(0.04)
    assert pnl["markouts"]["mid_1s"] == 100.2 and pnl["markouts"]["mid_60s"] == 99.9
    assert story["missing"] == []


def test_a_netted_fill_names_the_rebalance_that_took_it(con):
    story = explain_fill(con, "fB")
    assert story["quote"]["hedge_mode"] == "net"
    assert story["hedges"] == []
    [netted] = story["netting"]
    assert netted["kind"] == "rebalance" and netted["hedge_id"] == "plan7-BTC"
    assert netted["after_fill_s"] == pytest.approx(6 - 2.51)
    assert netted["children"][0]["client_order_id"] == "mmP-0"
    assert any("ledger" in m for m in story["missing"])  # no postings were written for fB
    assert (
        "netting: which fills rebalance hedge plan7-BTC covered is not recorded"
        in (story["missing"])
    )


def test_a_skipped_hedge_keeps_its_reason_and_missing_inputs_are_named(con):
    story = explain_fill(con, "fC")
    [hedge] = story["hedges"]
    assert hedge["children"] == []
    assert hedge["not_sent"][0]["reason"].startswith("not needed: in-flight hedges")
    assert hedge["not_sent"][0]["amount"] == 0.2
    assert story["quote"]["policy"] is None
    assert "quote inputs: quotes.policy not recorded" in story["missing"]
    assert "quote inputs: quotes.decision_id not recorded" in story["missing"]
    assert story["pnl"]["hedge_slippage_quote"] is None


def test_an_rfq_fill_by_fill_id_and_by_quote_id(con, data_dir):
    story = explain_fill(con, "fR")
    assert story["kind"] == "rfq" and story["quote"] is None
    events = parquet(data_dir, "rfq_quotes", quote_id="rq1")
    assert [e["event"] for e in story["rfq"]["events"]] == [e["event"] for e in events]
    for field in ("client", "size", "price", "mid_price", "walked_price", "deviation_bps"):
        assert story["rfq"]["quoted"][field] == events[0][field], field
    [hedge] = story["hedges"]
    assert hedge["children"][0]["client_order_id"] == "mmR-1"
    assert story["pnl"]["capture_quote"] == pytest.approx(-(100.05 - 100.3) * 1.0)
    by_quote = explain_rfq(con, "rq1")
    assert by_quote["fill_id"] == "fR" and by_quote["focus"] == "rq1"
    unfilled = explain_rfq(con, "rq2")
    assert unfilled["fill_id"] is None
    assert "not executed" in unfilled["missing"][0]


def test_by_hedge_id_and_unknown_ids(con):
    assert explain_hedge(con, "m-fA")["fill_id"] == "fA"
    alone = explain_hedge(con, "plan7-BTC")
    assert alone["fill_id"] is None and alone["hedges"][0]["hedge_id"] == "plan7-BTC"
    for call, key in ((explain_fill, "nope"), (explain_hedge, "nope"), (explain_rfq, "nope")):
        with pytest.raises(NotInDataset):
            call(con, key)


def test_cli_text_and_json(data_dir):
    runner = CliRunner()
    text = runner.invoke(app, ["explain", "fA", "--data-dir", str(data_dir)])
    assert text.exit_code == 0, text.output
    assert "child mmA-1 @ b" in text.output and "left out / short: c: unhealthy" in text.output
    assert "missing: nothing" in text.output
    out = runner.invoke(app, ["explain", "--rfq", "rq1", "--json", "--data-dir", str(data_dir)])
    assert json.loads(out.output)["fill_id"] == "fR"
    gone = runner.invoke(app, ["explain", "zz", "--data-dir", str(data_dir)])
    assert gone.exit_code == 1
