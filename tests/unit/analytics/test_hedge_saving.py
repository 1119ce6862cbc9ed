"""Execution-quality columns of hedge_orders, as hedge_quality and the SLA summary show them."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.schemas import schema_for
from analytics.sla import sla_summary
from analytics.views import connect
from analytics.writer import PartWriter

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def _order(hedge_id, cid, filled, saving, achieved, single, optimum, **extra):
    return {
        "ts": T0 + 1_000_000,
        "market": "BTC/USDT",
        "hedge_id": hedge_id,
        "source_fill_id": "f1",
        "venue": "v",
        "client_order_id": cid,
        "side": "buy",
        "type": "limit",
        "amount": filled,
        "limit_price": 101.0,
        "decision_mid": 100.0,
        "status": "filled",
        "reason": "mirror",
        "filled_amount": filled,
        "achieved_all_in_price": achieved,
        "best_single_venue": "v",
        "best_single_all_in_price": single,
        "optimum_all_in_price": optimum,
        "saving_bps": saving,
        **extra,
    }


def _write(tmp_path, table, rows):
    w = PartWriter(str(tmp_path), table, writer_id="t", run_id="r", config_hash="c")
    w.append(rows)
    w.flush()


def test_saving_is_weighted_by_executed_amount_in_the_view_and_the_sla(tmp_path):
    # one hedge in two TWAP slices: 1.0 executed saving 10 bps, 3.0 saving 2 bps
    _write(
        tmp_path,
        "hedge_orders",
        [
            _order("h1", "c1", 1.0, 10.0, 100.0, 100.1, 100.0),
            _order("h1", "c2", 3.0, 2.0, 100.4, 100.42, 100.4),
            # a residual row (nothing executed) never weighs in
            _order("h1", None, 0.0, 50.0, None, 100.0, 100.0, venue=None, status="skipped"),
        ],
    )
    _write(
        tmp_path,
        "fills",
        [
            {
                "ts": T0,
                "market": "BTC/USDT",
                "fill_id": "f1",
                "side": "sell",
                "price": 100.0,
                "amount": 4.0,
            }
        ],
    )
    con = connect(str(tmp_path))
    row = con.execute(
        "select saving_bps, achieved_all_in_price, best_single_all_in_price, "
        "optimum_all_in_price, vs_optimum_bps, child_orders from hedge_quality"
    ).fetchone()
    assert row[0] == pytest.approx((10.0 * 1 + 2.0 * 3) / 4)
    assert row[1] == pytest.approx((100.0 + 100.4 * 3) / 4)
    assert row[2] == pytest.approx((100.1 + 100.42 * 3) / 4)
    assert row[4] == pytest.approx((row[3] - row[1]) / row[3] * 1e4)
    assert row[5] == 2
    (summary,) = sla_summary(con)
    assert summary["hedge_saving_bps"] == pytest.approx(4.0)


def test_parts_written_before_the_quality_columns_still_query(tmp_path):
    old = schema_for("hedge_orders")
    for name in ("achieved_all_in_price", "best_single_venue", "best_single_all_in_price"):
        old = old.remove(old.get_field_index(name))
    for name in ("optimum_all_in_price", "saving_bps"):
        old = old.remove(old.get_field_index(name))
    row = _order("h1", "c1", 1.0, None, None, None, None)
    row = {k: v for k, v in row.items() if k in old.names} | {"run_id": "r", "config_hash": "c"}
    part = tmp_path / "hedge_orders" / "date=2026-01-01" / "market_id=BTC-USDT"
    part.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([row], schema=old), part / "part-old.parquet")
    fill = {"ts": T0, "market": "BTC/USDT", "fill_id": "f1", "side": "sell", "price": 1.0}
    _write(tmp_path, "fills", [fill | {"amount": 1.0}])
    con = connect(str(tmp_path))
    assert con.execute("select saving_bps, filled from hedge_quality").fetchone() == (None, 1.0)
    (summary,) = sla_summary(con)
    assert summary["hedge_saving_bps"] is None
