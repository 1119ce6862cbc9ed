"""PartWriter: the dataset layout analysts and DuckDB rely on, and exact ledger amounts."""

from __future__ import annotations

import threading
import time
from decimal import Decimal, localcontext
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.schemas import EXACT_AMOUNT_TYPE, SchemaError, schema_for
from analytics.views import connect
from analytics.writer import PartWriter

DAY_NS = 86_400 * 10**9
T0 = 1_714_521_600 * 10**9 + 123_456_789  # 2024-05-01T00:00:00.123456789Z


def _writer(data_dir: Path, table: str, writer_id: str = "w1", run_id: str = "run-1") -> PartWriter:
    return PartWriter(str(data_dir), table, writer_id=writer_id, run_id=run_id, config_hash="cfg-1")


def _fill(ts: int, market: str = "BTC/USDT", fill_id: str = "f1", **extra: object) -> dict:
    return {
        "ts": ts,
        "market": market,
        "fill_id": fill_id,
        "side": "buy",
        "price": 100.5,
        "amount": 0.25,
        **extra,
    }


def _entry(ts: int, amount: Decimal, entry_id: str) -> dict:
    return {
        "ts": ts,
        "entry_id": entry_id,
        "ref": "fill-1",
        "venue": "home",
        "account": "wallet",
        "asset": "BTC",
        "amount": amount,
        "kind": "fill",
    }


def test_one_part_per_date_and_market_with_hive_layout_and_monotonic_names(tmp_path):
    w = _writer(tmp_path, "fills")
    w.append([_fill(T0, "BTC/USDT", "a"), _fill(T0 + DAY_NS, "BTC/USDT", "b")])
    w.append([_fill(T0 + 5, "ETH/USDT", "c"), _fill(T0 + 6, "BTC/USDT", "d")])
    assert w.pending_rows == 4

    paths = w.flush()

    assert w.pending_rows == 0
    relative = [str(Path(p).relative_to(tmp_path)) for p in paths]
    assert relative == [
        "fills/date=2024-05-01/market_id=BTC-USDT/part-w1-000000.parquet",
        "fills/date=2024-05-01/market_id=ETH-USDT/part-w1-000001.parquet",
        "fills/date=2024-05-02/market_id=BTC-USDT/part-w1-000002.parquet",
    ]
    first = pq.read_table(paths[0])
    assert first.column("fill_id").to_pylist() == ["a", "d"]
    assert first.column("market").to_pylist() == ["BTC/USDT", "BTC/USDT"]
    assert "market_id" not in first.schema.names

    w.append([_fill(T0 + 7, "BTC/USDT", "e")])
    assert [Path(p).name for p in w.close()] == ["part-w1-000003.parquet"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_tables_without_a_market_partition_by_date_only(tmp_path):
    w = _writer(tmp_path, "ledger_entries", writer_id="ledger")
    w.append([_entry(T0, Decimal("1.5"), "e1")])
    (path,) = w.flush()
    rel = Path(path).relative_to(tmp_path)
    assert str(rel) == "ledger_entries/date=2024-05-01/part-ledger-000000.parquet"


def test_round_trip_through_duckdb_views(tmp_path):
    w = _writer(tmp_path, "fills")
    w.append([_fill(T0, fee=0.01, fee_currency="USDT"), _fill(T0 + 1, fill_id="f2")])
    w.flush()

    con = connect(str(tmp_path))
    rows = con.execute(
        "select epoch_ns(ts), run_id, config_hash, market, fill_id, price, amount, fee, "
        "fee_currency, mid, date::varchar from fills order by ts"
    ).fetchall()
    assert rows == [
        (T0, "run-1", "cfg-1", "BTC/USDT", "f1", 100.5, 0.25, 0.01, "USDT", None, "2024-05-01"),
        (T0 + 1, "run-1", "cfg-1", "BTC/USDT", "f2", 100.5, 0.25, None, None, None, "2024-05-01"),
    ]
    columns = [r[0] for r in con.execute("describe fills").fetchall()]
    assert "market_id" not in columns
    assert columns[: len(schema_for("fills"))] == schema_for("fills").names


def test_ledger_amount_is_exact_decimal_through_parquet_and_duckdb(tmp_path):
    w = _writer(tmp_path, "ledger_entries", writer_id="ledger")
    tenth, dust = Decimal("0.1"), Decimal("0.000000000000000001")
    w.append([_entry(T0 + i, tenth, f"t{i}") for i in range(10_000)])
    w.append([_entry(T0 + 20_000 + i, dust, f"d{i}") for i in range(1_000)])
    w.flush()

    con = connect(str(tmp_path))
    assert con.execute("select distinct typeof(amount) from ledger_entries").fetchall() == [
        ("DECIMAL(38,18)",)
    ]
    ((total,),) = con.execute("select sum(amount) from ledger_entries").fetchall()
    assert total == Decimal("1000.000000000000001")  # float64 would give 999.9999999999...


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(
            min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=18, allow_nan=False
        ),
        min_size=1,
        max_size=50,
    )
)
def test_any_ledger_amounts_sum_exactly(tmp_path_factory, amounts):
    data_dir = tmp_path_factory.mktemp("ledger")
    w = _writer(data_dir, "ledger_entries", writer_id="ledger")
    w.append([_entry(T0 + i, a, f"e{i}") for i, a in enumerate(amounts)])
    (path,) = w.flush()
    assert pq.read_schema(path).field("amount").type == EXACT_AMOUNT_TYPE
    ((total,),) = (
        duckdb.connect().execute("select sum(amount) from read_parquet(?)", [path]).fetchall()
    )
    with localcontext(prec=60):  # the default 28 digits would round the expected sum itself
        assert total == sum(amounts, Decimal(0))


def test_an_amount_finer_than_18_places_is_refused_not_rounded(tmp_path):
    w = _writer(tmp_path, "ledger_entries", writer_id="ledger")
    w.append([_entry(T0, Decimal("0.0000000000000000001"), "e1")])
    with pytest.raises(SchemaError, match=r"ledger_entries\.amount"):
        w.flush()
    assert not list(tmp_path.rglob("*.parquet"))


def test_unknown_key_names_the_table_and_the_key_and_buffers_nothing(tmp_path):
    w = _writer(tmp_path, "fills")
    with pytest.raises(SchemaError, match=r"fills.*unknown key\(s\) colour"):
        w.append([_fill(T0), _fill(T0, colour="blue")])
    assert w.pending_rows == 0


def test_missing_required_key_is_refused_at_append(tmp_path):
    w = _writer(tmp_path, "fills")
    row = _fill(T0)
    del row["market"]
    with pytest.raises(SchemaError, match=r"fills.*missing required key\(s\) market"):
        w.append([row])


def test_a_malformed_partition_is_dropped_with_an_error_and_the_others_are_written(tmp_path):
    w = _writer(tmp_path, "fills")
    w.append([_fill(T0, "BTC/USDT"), _fill(T0, "ETH/USDT", price="not a price")])
    with pytest.raises(SchemaError, match=r"fills\.price"):
        w.flush()
    written = [p.relative_to(tmp_path).parts[2] for p in tmp_path.rglob("*.parquet")]
    assert written == ["market_id=BTC-USDT"]
    assert w.pending_rows == 0
    assert w.flush() == []


def test_rows_survive_a_failed_write_and_go_out_with_the_next_flush(tmp_path, monkeypatch):
    w = _writer(tmp_path, "fills")
    w.append([_fill(T0, fill_id="kept")])
    real_write = pq.write_table

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(pq, "write_table", disk_full)
    with pytest.raises(OSError, match="No space left"):
        w.flush()
    assert w.pending_rows == 1
    monkeypatch.setattr(pq, "write_table", real_write)
    (path,) = w.flush()
    assert pq.read_table(path).column("fill_id").to_pylist() == ["kept"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_flush_of_an_empty_buffer_writes_nothing(tmp_path):
    w = _writer(tmp_path / "data", "fills")
    assert w.flush() == []
    assert w.close() == []
    assert not (tmp_path / "data").exists()


def test_two_writers_on_one_partition_do_not_collide(tmp_path):
    a = _writer(tmp_path, "fills", writer_id="market-BTC-USDT")
    b = _writer(tmp_path, "fills", writer_id="market-BTC-USDT-2")
    a.append([_fill(T0, fill_id="a1")])
    b.append([_fill(T0, fill_id="b1")])
    (pa_,) = a.flush()
    (pb,) = b.flush()
    assert pa_ != pb
    con = connect(str(tmp_path))
    assert sorted(r[0] for r in con.execute("select fill_id from fills").fetchall()) == ["a1", "b1"]


def test_a_restarted_writer_with_the_same_id_never_overwrites_a_part(tmp_path):
    first = _writer(tmp_path, "fills", run_id="run-1")
    first.append([_fill(T0, fill_id="x")])
    first.append([_fill(T0 + 1, fill_id="y")])
    first.flush()
    again = _writer(tmp_path, "fills", run_id="run-2")
    again.append([_fill(T0 + 2, fill_id="z")])
    (path,) = again.flush()
    assert Path(path).name == "part-w1-000001.parquet"
    con = connect(str(tmp_path))
    assert con.execute("select count(*) from fills").fetchall() == [(3,)]


def test_an_unknown_table_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(SchemaError, match=r"unknown table 'fils'.*fills"):
        _writer(tmp_path, "fils")


def test_retag_keeps_old_rows_under_the_old_config_hash(tmp_path):
    from analytics.views import connect as _connect
    from analytics.writer import PartWriter as _PartWriter

    w = _PartWriter(str(tmp_path), "exposure", writer_id="w", run_id="r", config_hash="old")
    row = {"asset": "BTC", "net": 0.0, "pending": 0.0, "target": 0.0, "threshold": 1.0}
    w.append([{"ts": 1_700_000_000 * 10**9, **row}])
    w.retag("new")
    w.append([{"ts": 1_700_000_001 * 10**9, **row}])
    w.flush()
    con = _connect(str(tmp_path))
    rows = con.execute("select config_hash from exposure order by ts").fetchall()
    assert [r[0] for r in rows] == ["old", "new"]


def test_part_writers_flush_and_retag_every_table_together(tmp_path):
    from analytics.views import connect as _connect
    from analytics.writer import PartWriters

    ws = PartWriters(
        str(tmp_path), ("exposure", "alerts"), writer_id="w", run_id="r", config_hash="v1"
    )
    ws["exposure"].append(
        [
            {
                "ts": 1_700_000_000 * 10**9,
                "asset": "BTC",
                "net": 0.0,
                "pending": 0.0,
                "target": 0.0,
                "threshold": 1.0,
            }
        ]
    )
    ws["alerts"].append(
        [{"ts": 1_700_000_000 * 10**9, "severity": "warning", "source": "t", "kind": "k"}]
    )
    ws.retag("v2")  # flushes what v1 wrote
    ws["alerts"].append(
        [{"ts": 1_700_000_001 * 10**9, "severity": "warning", "source": "t", "kind": "k"}]
    )
    assert len(ws.flush()) == 1
    con = _connect(str(tmp_path))
    assert con.execute("select config_hash from exposure").fetchall() == [("v1",)]
    assert con.execute("select config_hash from alerts order by ts").fetchall() == [
        ("v1",),
        ("v2",),
    ]


# background flushing -----------------------------------------------------------


def _background(data_dir: Path, table: str = "fills") -> PartWriter:
    return PartWriter(
        str(data_dir), table, writer_id="w1", run_id="run-1", config_hash="cfg-1", background=True
    )


class _GatedWrite:
    """Stands in for `pq.write_table`: holds each write until the test opens the gate."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = pq.write_table
        self.gate = threading.Event()
        self.started = threading.Event()
        self.fail: Exception | None = None
        monkeypatch.setattr(pq, "write_table", self)

    def __call__(self, *args: object, **kwargs: object) -> None:
        self.started.set()
        assert self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        self.real(*args, **kwargs)


def _fill_ids(data_dir: Path) -> list[str]:
    """Every fill id on disk, parts in the order they were written (their seq)."""
    parts = sorted(data_dir.rglob("*.parquet"), key=lambda p: p.name)
    return [i for p in parts for i in pq.read_table(p).column("fill_id").to_pylist()]


def test_background_flush_returns_before_the_write_and_appends_go_to_a_fresh_buffer(
    tmp_path, monkeypatch
):
    gated = _GatedWrite(monkeypatch)
    w = _background(tmp_path)
    w.append([_fill(T0, fill_id="a")])
    assert w.flush() == []  # handed to the worker, not written yet
    assert gated.started.wait(10)
    w.append([_fill(T0 + 1, fill_id="b")])  # while the write is in flight
    assert w.pending_rows == 2
    gated.gate.set()
    paths = w.close()  # waits for the write in flight, then writes "b"
    assert [Path(p).name for p in paths] == ["part-w1-000000.parquet", "part-w1-000001.parquet"]
    assert _fill_ids(tmp_path) == ["a", "b"]
    assert w.pending_rows == 0


def test_a_failed_background_write_surfaces_on_the_next_call_and_loses_nothing(
    tmp_path, monkeypatch
):
    gated = _GatedWrite(monkeypatch)
    gated.fail = OSError("No space left on device")
    gated.gate.set()
    w = _background(tmp_path)
    w.append([_fill(T0, fill_id="a"), _fill(T0, "ETH/USDT", fill_id="b")])
    w.flush()
    with pytest.raises(OSError, match="No space left"):
        for i in range(10_000):  # the error arrives with the first append after the write
            w.append([_fill(T0 + 1, fill_id=f"c{i}")])
            time.sleep(0.001)
    assert w.pending_rows == 2 + i + 1  # the failed rows are back, this call's rows kept
    gated.fail = None
    w.close()
    ids = _fill_ids(tmp_path)
    assert sorted(ids) == sorted(["a", "b", *(f"c{j}" for j in range(i + 1))])
    assert ids.index("a") < ids.index("c0")  # the failed write's rows still go out first


def test_close_raises_a_background_error_and_keeps_the_rows_for_a_retry(tmp_path, monkeypatch):
    gated = _GatedWrite(monkeypatch)
    gated.fail = OSError("disk gone")
    w = _background(tmp_path)
    w.append([_fill(T0, fill_id="a")])
    w.flush()
    gated.gate.set()
    with pytest.raises(OSError, match="disk gone"):
        w.close()  # waits for the failed write, retries it with the rest, fails again
    assert w.pending_rows == 1
    gated.fail = None
    assert len(w.close()) == 1
    assert _fill_ids(tmp_path) == ["a"]


def test_a_flush_while_one_is_in_flight_waits_so_parts_keep_their_order(tmp_path, monkeypatch):
    gated = _GatedWrite(monkeypatch)
    w = _background(tmp_path)
    w.append([_fill(T0, fill_id="first")])
    w.flush()
    assert gated.started.wait(10)
    w.append([_fill(T0 + 1, fill_id="second")])
    threading.Timer(0.2, gated.gate.set).start()
    assert len(w.flush()) == 1  # waited for "first" and returns its part
    w.close()
    assert _fill_ids(tmp_path) == ["first", "second"]


def test_background_retag_writes_the_rows_in_flight_under_the_old_hash(tmp_path, monkeypatch):
    gated = _GatedWrite(monkeypatch)
    w = _background(tmp_path)
    w.append([_fill(T0, fill_id="old")])
    w.retag("cfg-2")  # the write is still held at the gate
    w.append([_fill(T0 + 1, fill_id="new")])
    gated.gate.set()
    w.close()
    tagged = [
        (r["fill_id"], r["config_hash"])
        for p in sorted(tmp_path.rglob("*.parquet"), key=lambda p: p.name)
        for r in pq.read_table(p, columns=["fill_id", "config_hash"]).to_pylist()
    ]
    assert tagged == [("old", "cfg-1"), ("new", "cfg-2")]


def test_part_writers_close_waits_for_every_table(tmp_path):
    from analytics.writer import PartWriters

    ws = PartWriters(
        str(tmp_path), ("fills", "ledger_entries"), writer_id="w", run_id="r", config_hash="c",
        background=True,
    )  # fmt: skip
    ws["fills"].append([_fill(T0)])
    ws["ledger_entries"].append([_entry(T0, Decimal("0.1"), "e1")])
    ws.flush()
    ws["fills"].append([_fill(T0 + 1, fill_id="f2")])
    assert len(ws.close()) == 3
    assert len(list(tmp_path.rglob("*.parquet"))) == 3


def test_a_write_failing_midway_rebuffers_exactly_the_unwritten_partitions(tmp_path, monkeypatch):
    real = pq.write_table
    calls = []

    def second_fails(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("flaky disk")
        real(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", second_fails)
    w = _writer(tmp_path, "fills")
    day2 = T0 + DAY_NS
    w.append(
        [_fill(T0, "BTC/USDT", "b1"), _fill(T0, "ETH/USDT", "e1"), _fill(day2, "BTC/USDT", "b2"),
         _fill(T0 + 1, "BTC/USDT", "b3"), _fill(T0 + 2, "ETH/USDT", "e2")]
    )  # fmt: skip
    with pytest.raises(OSError, match="flaky"):
        w.flush()
    assert _fill_ids(tmp_path) == ["b1", "b3"]  # day 1 BTC written; ETH and day 2 kept
    assert w.pending_rows == 3
    w.flush()
    assert sorted(_fill_ids(tmp_path)) == ["b1", "b2", "b3", "e1", "e2"]
