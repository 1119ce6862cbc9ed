"""The quotes rows a market writes carry the decision that placed them (`marketmesh explain`)."""

from __future__ import annotations

from decimal import Decimal

from analytics.schemas import schema_for
from engine.quote_records import decision_inputs, placed_rows
from engine.types import Side
from tests.unit.engine.market.test_quoter import MARKET, T0, Book, fill, quoter

S = 10**9


def test_placed_rows_carry_the_decision_and_its_inputs():
    q = quoter()
    q.on_reference(T0, (65_000.0, T0 - S // 2))
    q.on_fills([fill(Side.BUY, "1.2")])  # past the 1.0 inventory limit: asks only
    decision = q.decide(T0, Book())
    inputs = decision_inputs(q, T0)
    rows = placed_rows("BTC/USDT", T0, decision.quotes, ["c0", "c1", "c2"], inputs)
    assert rows and all(r["decision_id"] == f"BTC/USDT@{T0}" for r in rows)
    assert {r["side"] for r in rows} == {"sell"}
    row = rows[0]
    assert row["policy"] == str(MARKET.policy) and row["hedge_mode"] == str(MARKET.hedge_mode)
    assert row["decision_mid"] == 65_000.0 and row["reference_age_s"] == 0.5
    assert row["inventory"] == 1.2 - MARKET.inventory_target
    assert row["guards"] == "inventory_limit:asks_only"
    assert row["target_spread_bps"] == MARKET.target_spread_bps
    assert set(inputs) <= set(schema_for("quotes").names)


def test_rows_without_inputs_keep_their_old_shape():
    [row] = placed_rows("BTC/USDT", T0, [(Side.BUY, Decimal("1"), Decimal("2"))], ["c"])
    assert "decision_id" not in row and row["action"] == "place"
