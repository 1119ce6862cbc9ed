"""Merging small Parquet parts, one partition at a time, never losing or doubling a row.

Per leaf partition with more than one part: (1) write the merged rows to a
hidden pending file, (2) write a manifest naming the inputs, (3) delete the
inputs, (4) rename the pending file into place, (5) drop the manifest. A
crash at any step is finished by the next compaction (`_recover`), so rows
are never lost and never counted twice. Only files listed before step 1 are
touched: a writer adding parts to the same partition meanwhile is safe, and
partitions a run is writing elsewhere are not read at all.

Each `book_samples` partition also gets its SLA rollup once its parts are
merged (`analytics.sla_rollup`): rewritten only when its parts changed, so a
second compaction does nothing, and named after the parts it covers, so the
SLA never counts a sample both raw and rolled up.

Local paths only: object stores have no atomic rename (see docs).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.sla_rollup import ROLLUP_TABLE, SAMPLES_TABLE, write_rollup

MANIFEST = ".compact-manifest.json"
PENDING = ".compact-pending.parquet"


@dataclass(frozen=True, slots=True)
class CompactionResult:
    partition: str
    files_in: int
    rows: int
    file_out: str
    rollup_rows: int | None = None  # rows of the SLA rollup (re)written, if any


def compact(
    data_dir: str,
    *,
    min_age_s: float = 0.0,
    now: Callable[[], float] = time.time,
    progress: Callable[[str], None] | None = None,
) -> list[CompactionResult]:
    """Compact every partition under `data_dir`; idempotent (a second call does nothing).

    `min_age_s` leaves a partition alone while its newest part is younger than
    that, so partitions a run is still filling are compacted later.
    """
    if "://" in data_dir:
        raise ValueError(f"{data_dir}: compaction works on local paths only")
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{data_dir}: no such data directory")
    results = []
    leaves = sorted(
        ({p.parent for p in root.rglob("*.parquet")} | _with_manifest(root))
        - {p.parent for p in (root / ROLLUP_TABLE).rglob("*.parquet")}
    )
    samples = root / SAMPLES_TABLE
    rollup_con: duckdb.DuckDBPyConnection | None = None
    for i, leaf in enumerate(leaves):
        _recover(leaf)
        parts = sorted(p for p in leaf.glob("part-*.parquet"))
        if not parts:
            continue
        if min_age_s and now() - max(p.stat().st_mtime for p in parts) < min_age_s:
            continue
        merged = _compact_leaf(leaf, parts, root) if len(parts) > 1 else None
        rollup_rows: int | None = None
        skipped = ""
        if leaf.is_relative_to(samples):
            rollup_con = rollup_con or duckdb.connect()
            try:
                rollup_rows = write_rollup(root, leaf, rollup_con)
            except duckdb.Error as exc:  # e.g. parts too old to carry the SLA columns
                skipped = f", no SLA rollup ({str(exc).splitlines()[0]}): read raw"
        if merged is None and rollup_rows is None:
            continue
        result = merged or CompactionResult(
            str(leaf.relative_to(root)), 1, pq.read_metadata(parts[0]).num_rows, parts[0].name
        )
        results.append(replace(result, rollup_rows=rollup_rows))
        if progress is not None:
            done = f"{result.files_in} parts -> 1" if merged else "1 part"
            rolled = f", SLA rollup {rollup_rows} rows" if rollup_rows is not None else skipped
            progress(
                f"[{i + 1}/{len(leaves)}] {result.partition}: {done} ({result.rows} rows){rolled}"
            )
    return results


def _with_manifest(root: Path) -> set[Path]:
    return {p.parent for p in root.rglob(MANIFEST)}


def _compact_leaf(leaf: Path, parts: list[Path], root: Path) -> CompactionResult:
    tables = [pq.read_table(p, partitioning=None) for p in parts]
    merged = pa.concat_tables(tables, promote_options="default")
    out = leaf / f"part-compact-{_next_seq(leaf):06d}.parquet"
    pending = leaf / PENDING
    pq.write_table(merged, pending)
    _write_json(leaf / MANIFEST, {"inputs": [p.name for p in parts], "output": out.name})
    _finish(leaf)
    return CompactionResult(str(leaf.relative_to(root)), len(parts), merged.num_rows, out.name)


def _recover(leaf: Path) -> None:
    """Finish a compaction a crash interrupted (the manifest says how far it got)."""
    if (leaf / MANIFEST).exists():
        if (leaf / PENDING).exists():
            _finish(leaf)
        else:  # the pending file was already renamed: only the manifest is left
            (leaf / MANIFEST).unlink()
    elif (leaf / PENDING).exists():  # crashed before the manifest: inputs untouched
        (leaf / PENDING).unlink()


def _finish(leaf: Path) -> None:
    manifest = json.loads((leaf / MANIFEST).read_text())
    for name in manifest["inputs"]:
        (leaf / name).unlink(missing_ok=True)
    os.replace(leaf / PENDING, leaf / manifest["output"])
    (leaf / MANIFEST).unlink()


def _next_seq(leaf: Path) -> int:
    seqs = [int(p.stem.rsplit("-", 1)[1]) for p in leaf.glob("part-compact-*.parquet")]
    return max(seqs, default=-1) + 1


def _write_json(path: Path, payload: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)
