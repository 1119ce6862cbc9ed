"""`marketmesh explain` on what a real run wrote: the RFQ graph shared with test_rfq.py."""

from __future__ import annotations

import pytest

from analytics.explain import explain_rfq
from analytics.views import connect

pytestmark = pytest.mark.integration


def test_an_accepted_rfq_quote_explained_from_its_parquet(rfq_run):
    accepted = rfq_run.seen["accepts"][0][1]["fill"]
    con = connect(str(rfq_run.data_dir))
    story = explain_rfq(con, accepted["quote_id"])
    assert story["fill_id"] == accepted["fill_id"] and story["kind"] == "rfq"
    events = con.execute(
        "select event, price, size from rfq_quotes where quote_id = ? order by ts",
        [accepted["quote_id"]],
    ).fetchall()
    assert [(e["event"], e["price"], e["size"]) for e in story["rfq"]["events"]] == events
    children = con.execute(
        "select client_order_id, venue, status, filled_amount from hedge_orders "
        "where source_fill_id = ? and venue is not null",
        [accepted["fill_id"]],
    ).fetchall()
    explained = [
        (c["client_order_id"], c["venue"], c["status"], c["filled_amount"])
        for h in story["hedges"]
        for c in h["children"]
    ]
    assert sorted(explained) == sorted(children) and children
    assert all(d["books"] for h in story["hedges"] for d in h["decisions"])
    postings = con.execute(
        "select count(*) from ledger_entries where ref = ?", [accepted["fill_id"]]
    ).fetchone()[0]
    assert sum(p["ref"] == accepted["fill_id"] for p in story["ledger"]) == postings > 0
    assert not [m for m in story["missing"] if m.startswith(("hedge", "ledger"))]
