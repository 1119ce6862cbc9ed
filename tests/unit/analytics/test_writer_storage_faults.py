"""An actor's writers under storage faults (issue 11, cases 3, 5 and 6): a failed write is
never raised to the actor, the rows wait and go out once storage is back, and a row
that can never be written costs only itself, not its partition or the loop."""

from __future__ import annotations

import shutil
import time

import pyarrow.dataset as ds
import pytest

from analytics import storage_health
from analytics.writer import PartWriters

T0 = 1_714_521_600 * 10**9


def _fill(i: int, market: str = "BTC/USDT") -> dict:
    return {"ts": T0 + i, "market": market, "fill_id": f"f{i}", "side": "buy",
            "price": 100.5, "amount": 0.25}  # fmt: skip


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(storage_health, "BACKOFF_S", (0.05,))


@pytest.mark.parametrize("background", [False, True])
def test_an_outage_is_counted_not_raised_and_nothing_is_lost(tmp_path, background):
    writers = PartWriters(str(tmp_path), ("fills",), writer_id="m", run_id="r",
                          config_hash="c", background=background, tolerant=True)  # fmt: skip
    (tmp_path / "fills").write_text("storage is down")  # the table's directory is a file
    writers["fills"].append([_fill(i) for i in range(10)])
    writers.flush()
    writers.close()  # the background write's failure is collected, not raised
    writers["fills"].append([_fill(i) for i in range(10, 15)])  # the actor goes on
    status = writers.storage_status()
    assert status["failing_for_s"] > 0 and status["failures"] >= 1
    assert "fills" in status["last_error"] or status["last_error"]
    assert status["buffered_rows"] == 15

    (tmp_path / "fills").unlink()  # storage back
    time.sleep(0.06)  # the backoff runs out
    writers.close()
    assert writers.storage_status()["failing_for_s"] == 0
    table = ds.dataset(tmp_path / "fills", format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("fill_id").to_pylist()) == sorted(f"f{i}" for i in range(15))


def test_a_flush_inside_the_backoff_leaves_storage_alone(tmp_path):
    writers = PartWriters(str(tmp_path), ("fills",), writer_id="m", run_id="r",
                          config_hash="c", tolerant=True)  # fmt: skip
    (tmp_path / "fills").write_text("down")
    writers["fills"].append([_fill(0)])
    writers.flush()
    failures = writers.storage_status()["failures"]
    writers.flush()  # inside the backoff: not even tried
    assert writers.storage_status()["failures"] == failures


def test_a_row_that_cannot_be_encoded_costs_only_itself(tmp_path):
    """A lone surrogate (from a hostile JSON body) used to fail its whole partition at
    every flush, forever; now that row is dropped, counted, and the rest written."""
    writers = PartWriters(str(tmp_path), ("fills",), writer_id="m", run_id="r",
                          config_hash="c", background=True, tolerant=True)  # fmt: skip
    rows = [_fill(i) for i in range(5)]
    rows[2]["fill_id"] = "rfq-\ud800"
    writers["fills"].append(rows)
    writers.close()
    table = ds.dataset(tmp_path / "fills", format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("fill_id").to_pylist()) == ["f0", "f1", "f3", "f4"]
    assert writers.storage_status()["dropped_rows"] == 1
    writers["fills"].append([_fill(9)])
    writers.close()  # the writer keeps working
    assert len(ds.dataset(tmp_path / "fills", format="parquet").to_table()) == 5


def test_the_buffer_is_capped_while_storage_is_down(tmp_path, monkeypatch):
    import analytics.writer as writer_module

    monkeypatch.setattr(writer_module, "MAX_BUFFERED_ROWS", 100)
    writers = PartWriters(str(tmp_path), ("fills",), writer_id="m", run_id="r",
                          config_hash="c", tolerant=True)  # fmt: skip
    writers["fills"].append([_fill(i) for i in range(150)])
    status = writers.storage_status()
    assert status["buffered_rows"] == 100 and status["dropped_rows"] == 50
    shutil.rmtree(tmp_path, ignore_errors=True)
