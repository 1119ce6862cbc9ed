"""OTC / broker mode end to end: real Ray graph (runner), venue-sim over HTTP, ccxt hedges,
Parquet. The RFQ client signs every request (aiohttp on 127.0.0.1); every assertion reads
what the broker answered, what the ledger actor holds, or what the run wrote. The run is
shared with test_rfq_security.py (tests/integration/rfq_graph.py)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.integration.rfq_graph import SIZE, TTL_S

pytestmark = pytest.mark.integration


def test_health_and_bad_requests_name_what_is_wrong(rfq_run):
    seen = rfq_run.seen
    status, health = seen["health"]
    assert status == 200 and health["symbol"] == "BTC/USDT" and health["quoting"]
    status, body, _ = seen["malformed"]
    assert status == 400 and body["error"] == "malformed_json"
    status, body, _ = seen["unsigned"]
    assert status == 401 and body["error"] == "unauthorized"
    status, body, _ = seen["client_field"]  # the client is the key's owner, not a field
    assert status == 400 and body["field"] == "client"
    status, body, _ = seen["oversized"]
    assert status == 422 and body["error"] == "oversized"
    assert "above max_size 2" in body["message"] and body["max_size"] == "2"
    status, body, _ = seen["increment"]
    assert status == 422 and body["error"] == "bad_increment"
    status, body, _ = seen["paused"]
    assert status == 503 and body["error"] == "paused" and "desk closed" in body["message"]
    status, body, _ = seen["over_request_limit"]  # acme: 50,000 per request; 1 BTC ~ 65,000
    assert status == 403 and body["error"] == "client_request_limit"


def test_firm_quote_walks_the_book_plus_spread(rfq_run):
    cfg, seen = rfq_run.cfg, rfq_run.seen
    status, q, _ = seen["quote"]
    assert status == 200, q
    assert {"quote_id", "side", "size", "price", "expiry"} <= set(q)
    assert q["side"] == "buy" and q["size"] == SIZE and q["client"] == "acme"
    assert q["ttl_s"] == pytest.approx(TTL_S)
    spread = cfg.brokers[0].spread / 100
    sell_q = seen["sell_quote"][1]
    buy, sell = Decimal(q["price"]), Decimal(sell_q["price"])
    mid = q["mid_price"]  # the check's mid over every healthy venue, not only the formula's
    # the spread on top of the walked price (no takers: inventory is flat at quote time)
    assert float(buy) == pytest.approx(q["walked_price"] * (1 + spread), abs=0.011)
    assert float(sell) == pytest.approx(sell_q["walked_price"] * (1 - spread), abs=0.011)
    # each walked near its own instant's mid (the two sources' books may cross each other
    # by a bps or so, so a walked ask can sit under their consolidated mid)
    for quote in (q, sell_q):
        assert abs(quote["walked_price"] / quote["mid_price"] - 1) < 5e-4
    assert abs(float(buy) / mid - 1) < spread + 0.002  # and not absurd
    assert q["deviation_bps"] <= cfg.brokers[0].max_deviation_bps


def test_double_accept_is_one_fill_booked_in_the_ledger(rfq_run):
    seen = rfq_run.seen
    (s1, a1, _), (s2, a2, _) = seen["accepts"]
    assert s1 == s2 == 200, (a1, a2)
    assert a1["fill"] == a2["fill"]
    assert sorted([a1["already_accepted"], a2["already_accepted"]]) == [False, True]
    status, retry, _ = seen["retry_after_ttl"]  # an accept retried after the TTL: same fill
    assert status == 200 and retry["fill"] == a1["fill"] and retry["already_accepted"]
    fill = a1["fill"]
    assert fill["fill_id"].startswith("rfq-") and fill["broker_side"] == "sell"
    before, after = seen["ledger_before"]["home"], seen["ledger_after"]["home"]
    price = Decimal(fill["price"])
    assert Decimal(after["BTC"]) == Decimal(before["BTC"]) - Decimal(SIZE)
    assert Decimal(after["USDT"]) == Decimal(before["USDT"]) + price * Decimal(SIZE)


def test_expired_unknown_and_foreign_accepts_are_refused(rfq_run):
    seen = rfq_run.seen
    status, body, _ = seen["expired"]
    assert status == 410 and body["error"] == "quote_expired" and "expired at" in body["message"]
    status, body, _ = seen["unknown"]
    assert status == 404 and body["error"] == "unknown_quote"
    status, foreign, _ = seen["foreign_accept"]  # another client's quote: just as unknown
    assert status == 404 and foreign == body


def test_cross_is_priced_off_both_legs(rfq_run):
    status, q, _ = rfq_run.seen["cross"]
    assert status == 200, q
    assert q["symbol"] == "ETH/BTC"
    assert 0.02 < q["mid_price"] < 0.08  # ETH ~3200 / BTC ~65000
    # the 0.2 % spread on the walked cross (the check's mid spans every venue, not the
    # formula's); no takers, so the ETH inventory is flat and there is no skew
    assert float(q["price"]) == pytest.approx(q["walked_price"] * 1.002, abs=1.1e-6)
    assert float(q["price"]) > q["walked_price"]


def test_the_broker_fill_is_hedged_through_the_router(rfq_run):
    result, seen, con = rfq_run.result, rfq_run.seen, rfq_run.con
    assert seen["pending_after"] == 0
    assert seen["router"]["hedged"] >= 1
    fill_id = seen["accepts"][0][1]["fill"]["fill_id"]
    external_btc = sum(
        Decimal(v.get("BTC", "0")) for k, v in seen["ledger_hedged"].items() if k != "home"
    )
    opening = sum(
        Decimal(v.get("BTC", "0")) for k, v in seen["ledger_before"].items() if k != "home"
    )
    # bought back on the hedge venues, less the commission Binance takes from the BTC bought
    fee_btc = con.execute(
        "select coalesce(sum(fee), 0) from hedge_fills where fee_currency = 'BTC' and hedge_id "
        "in (select hedge_id from hedge_orders where source_fill_id = ?)",
        [fill_id],
    ).fetchone()[0]
    assert 0 < fee_btc < float(SIZE) * 0.01
    assert float(external_btc - opening) == pytest.approx(float(SIZE) - fee_btc, abs=1e-12)
    rows = con.execute(
        "select side, amount, liquidity from fills where fill_id = ?", [fill_id]
    ).fetchall()
    assert rows == [("sell", 0.1, "maker")]
    hedged = con.execute(
        "select side, sum(filled_amount), bool_and(status = 'filled') from hedge_orders "
        "where source_fill_id = ? group by 1",
        [fill_id],
    ).fetchall()
    assert hedged == [("buy", pytest.approx(0.1), True)]
    booked = con.execute(
        "select asset, sum(amount) from ledger_entries where ref = ? and account = 'wallet' "
        "group by 1 order by 1",
        [fill_id],
    ).fetchall()
    assert [a for a, _ in booked] == ["BTC", "USDT"] and booked[0][1] == Decimal("-0.1")
    assert result.reconciled, result.reconciliation


def test_rfq_cli_signs_quotes_and_reports_refusals(rfq_run):
    seen = rfq_run.seen
    ok = seen["cli_quote"]
    assert ok.exit_code == 0, ok.output
    quote = json.loads(ok.stdout)
    assert quote["side"] == "sell" and quote["size"] == "0.002" and quote["client"] == "cli"
    bad = seen["cli_oversized"]
    assert bad.exit_code == 1 and "422 oversized: size 3 is above max_size 2" in bad.output
    unknown = seen["cli_unknown"]
    assert unknown.exit_code == 1 and "404 unknown_quote" in unknown.output
    no_secret = seen["cli_no_secret"]  # the secret only from the environment, never a flag
    assert no_secret.exit_code == 2 and "MARKETMESH_RFQ_API_SECRET" in no_secret.output
    health = seen["cli_health"]
    assert health.exit_code == 0, health.output
    assert json.loads(health.stdout)["client"]["client"] == "cli"  # signed: its own usage


def test_cross_fill_hedges_its_base_leg_on_the_hedge_symbol(rfq_run):
    seen, con = rfq_run.seen, rfq_run.con
    status, accepted, _ = seen["cross_accept"]
    assert status == 200, accepted
    fill = accepted["fill"]
    assert fill["symbol"] == "ETH/BTC" and fill["broker_side"] == "sell"
    assert seen["pending_after_cross"] == 0
    hedged = con.execute(
        "select market, side, sum(filled_amount) from hedge_orders "
        "where source_fill_id = ? group by 1, 2",
        [fill["fill_id"]],
    ).fetchall()
    assert hedged == [("ETH/USDT", "buy", pytest.approx(1.0))]
    booked = dict(
        con.execute(
            "select asset, sum(amount) from ledger_entries where ref = ? and account = 'wallet' "
            "group by 1",
            [fill["fill_id"]],
        ).fetchall()
    )
    assert booked == {"ETH": Decimal("-1"), "BTC": Decimal(fill["notional"])}


def test_every_rfq_event_is_in_parquet(rfq_run):
    """Quotes given, requests refused, accepts executed or rejected: each one row in
    `rfq_quotes`, the accepted quote's price equal to its fill's."""
    seen, con = rfq_run.seen, rfq_run.con
    rows = con.execute(
        "select event, quote_id, price, reason from rfq_quotes where broker = 'otc-btc'"
    ).fetchall()
    by_event: dict[str, list] = {}
    for event, quote_id, price, reason in rows:
        by_event.setdefault(event, []).append((quote_id, price, reason))
    quoted = {q for q, _, _ in by_event["quoted"]}
    assert seen["quote"][1]["quote_id"] in quoted and seen["sell_quote"][1]["quote_id"] in quoted
    reasons = " ".join(r for _, _, r in by_event["refused"])
    for refusal in ("oversized", "increment", "paused", "unsigned", "client_field"):
        assert seen[refusal][1]["error"] in reasons
    qid = seen["quote"][1]["quote_id"]
    (accepted,) = [(q, p) for q, p, _ in by_event["accepted"] if q == qid]  # once, not twice
    fill_price = con.execute(
        "select price from fills where fill_id = ?", [f"rfq-{qid}"]
    ).fetchone()[0]
    assert accepted[1] == pytest.approx(fill_price)
    rejected = {q for q, _, _ in by_event["accept_rejected"]}
    assert "otc-btc-nope-1" in rejected
