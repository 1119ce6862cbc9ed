"""After a ledger restart: which journaled postings never reached the Parquet dataset.

The ledger journals a posting before acknowledging it but writes Parquet on a
timer, so a crash can lose buffered rows from the dataset (never from the
journal). Comparing entry ids makes the re-write exact: nothing is lost and
nothing lands twice, even if the crash fell between a part's write and the
next journal commit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow.dataset as ds

from analytics.writer import resolve_filesystem
from engine.ledger import Posting


def missing_from_dataset(data_dir: str, run_id: str, postings: Sequence[Posting]) -> list[Posting]:
    fs, root = resolve_filesystem(data_dir)
    base = f"{root}/ledger_entries"
    info = fs.get_file_info(base)
    if info.type.name == "NotFound":
        return list(postings)
    dataset = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive")
    table = dataset.to_table(columns=["entry_id"], filter=ds.field("run_id") == run_id)
    written = set(table.column("entry_id").to_pylist())
    return [p for p in postings if p.entry_id not in written]


def hedge_ids_in_dataset(data_dir: str, run_id: str) -> set[str]:
    """Hedge ids of this run that already have `hedge_orders` rows on disk."""
    fs, root = resolve_filesystem(data_dir)
    base = f"{root}/hedge_orders"
    if fs.get_file_info(base).type.name == "NotFound":
        return set()
    dataset = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive")
    table = dataset.to_table(columns=["hedge_id"], filter=ds.field("run_id") == run_id)
    return set(table.column("hedge_id").to_pylist())
