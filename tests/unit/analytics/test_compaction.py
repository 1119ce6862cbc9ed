import json

import pytest

from analytics.compaction import MANIFEST, PENDING, compact
from analytics.views import connect
from analytics.writer import PartWriter

T0 = 1_767_225_600 * 10**9


def _dataset(tmp_path, parts=5):
    w = PartWriter(str(tmp_path), "fills", writer_id="w", run_id="r", config_hash="c")
    for i in range(parts):
        w.append(
            [
                {
                    "ts": T0 + i,
                    "market": m,
                    "fill_id": f"{m}-{i}",
                    "side": "buy",
                    "price": 100.0 + i,
                    "amount": 0.5,
                }
                for m in ("BTC/USDT", "ETH/USDT")
            ]
        )
        w.flush()


def _totals(tmp_path):
    con = connect(str(tmp_path))
    return con.execute(
        "select market, count(*), sum(price * amount) from fills group by 1 order by 1"
    ).fetchall()


def test_lossless_and_idempotent(tmp_path):
    _dataset(tmp_path)
    before = _totals(tmp_path)
    results = compact(str(tmp_path))
    assert sorted(r.files_in for r in results) == [5, 5]
    assert _totals(tmp_path) == before
    assert len(list(tmp_path.rglob("*.parquet"))) == 2
    assert compact(str(tmp_path)) == []  # nothing left to do
    _dataset(tmp_path, parts=2)  # a writer keeps writing: new parts merge with the old
    compact(str(tmp_path))
    assert len(list(tmp_path.rglob("*.parquet"))) == 2
    assert sum(n for _, n, _ in _totals(tmp_path)) == 2 * (5 + 2)


def test_a_crash_after_the_manifest_is_finished_not_doubled(tmp_path):
    _dataset(tmp_path)
    before = _totals(tmp_path)
    leaf = next(p.parent for p in tmp_path.rglob("*.parquet") if "BTC" in str(p))
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(leaf.glob("part-*.parquet"))
    merged = pa.concat_tables([pq.read_table(p, partitioning=None) for p in parts])
    pq.write_table(merged, leaf / PENDING)  # the crash: inputs and pending both present
    (leaf / MANIFEST).write_text(
        json.dumps({"inputs": [p.name for p in parts], "output": "part-compact-000000.parquet"})
    )
    compact(str(tmp_path))
    assert _totals(tmp_path) == before
    assert not (leaf / MANIFEST).exists() and not (leaf / PENDING).exists()


def test_recent_partitions_wait_and_uris_are_refused(tmp_path):
    _dataset(tmp_path)
    assert compact(str(tmp_path), min_age_s=3600) == []
    with pytest.raises(ValueError, match="local paths only"):
        compact("s3://bucket/data")
