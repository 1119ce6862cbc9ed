"""DuckDB views: every table queryable from the first second, with the schema's columns."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from analytics.schemas import DEPTH_BANDS_BPS, SCHEMAS, TABLES
from analytics.views import connect, create_views
from analytics.writer import PartWriter

T0 = 1_714_521_600 * 10**9


def _columns(con, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {table}").fetchall()]


@pytest.mark.parametrize("table", TABLES)
def test_a_fresh_dataset_has_empty_views_with_the_schema_columns(tmp_path, table):
    con = connect(str(tmp_path / "nothing-yet"))
    assert con.execute(f"select count(*) from {table}").fetchall() == [(0,)]
    names = [name for name, _ in _columns(con, table)]
    assert names == [*SCHEMAS[table].names, "date"]


def test_empty_views_answer_the_queries_analysts_run(tmp_path):
    con = connect(str(tmp_path))
    depth = " + ".join(f"bid_depth_{b}bps" for b in DEPTH_BANDS_BPS)
    rows = con.execute(
        f"select market, avg(spread_bps), sum({depth}) from book_samples "
        "where epoch_ns(ts) > 0 and date >= '2024-01-01' group by market"
    ).fetchall()
    assert rows == []
    assert con.execute("select sum(amount) from ledger_entries").fetchall() == [(None,)]


def test_an_empty_view_has_the_same_types_as_a_written_one(tmp_path):
    fresh = connect(str(tmp_path))
    empty = {t: _columns(fresh, t) for t in ("fills", "ledger_entries")}
    fills = PartWriter(str(tmp_path), "fills", writer_id="m", run_id="r", config_hash="c")
    fills.append(
        [
            {
                "ts": T0,
                "market": "BTC/USDT",
                "fill_id": "f",
                "side": "buy",
                "price": 1.0,
                "amount": 1.0,
            }
        ]
    )
    fills.flush()
    ledger = PartWriter(str(tmp_path), "ledger_entries", writer_id="l", run_id="r", config_hash="c")
    ledger.append(
        [
            {
                "ts": T0,
                "entry_id": "e",
                "venue": "home",
                "account": "wallet",
                "asset": "BTC",
                "amount": Decimal("1"),
            }
        ]
    )
    ledger.flush()
    written = connect(str(tmp_path))
    for table, columns in empty.items():
        assert _columns(written, table) == columns
    assert dict(empty["ledger_entries"])["amount"] == "DECIMAL(38,18)"
    assert dict(empty["fills"])["ts"] == "TIMESTAMPTZ_NS"  # nanoseconds survive


def test_market_id_partition_key_stays_out_of_the_way(tmp_path):
    w = PartWriter(str(tmp_path), "quotes", writer_id="m", run_id="r", config_hash="c")
    w.append([{"ts": T0, "market": "ETH/USDT", "action": "cancel_all"}])
    w.flush()
    con = connect(str(tmp_path))
    assert "market_id" not in [n for n, _ in _columns(con, "quotes")]
    assert con.execute("select market, action from quotes").fetchall() == [
        ("ETH/USDT", "cancel_all")
    ]


def test_create_views_again_picks_up_a_table_written_after_connect(tmp_path):
    con = connect(str(tmp_path))
    w = PartWriter(str(tmp_path), "exposure", writer_id="ledger", run_id="r", config_hash="c")
    w.append([{"ts": T0, "asset": "BTC", "net": 0.5}])
    w.flush()
    assert con.execute("select count(*) from exposure").fetchall() == [(0,)]
    create_views(con, str(tmp_path))
    assert con.execute("select asset, net from exposure").fetchall() == [("BTC", 0.5)]


def test_a_file_database_keeps_the_views(tmp_path):
    database = str(tmp_path / "analytics.duckdb")
    connect(str(tmp_path / "data"), database=database).close()
    con = duckdb.connect(database)
    assert con.execute("select count(*) from hedge_orders").fetchall() == [(0,)]
