"""Rows a crash kept from Parquet, written again from the run's journal.

The ledger journals every fill and posting before it acknowledges them, but
actors write Parquet on a timer, so a crashed driver or actor loses the rows
still buffered, never the journal's. Comparing ids (`entry_id`, `fill_id`)
makes the backfill exact and idempotent: a row already in the dataset is never
written twice, whichever of a part write and a journal commit a crash fell
between. Backfilled fills have no reference mid (the journal does not know it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset as ds

from analytics.writer import PartWriters, resolve_filesystem
from engine.journal import Journal, JournalState
from engine.ledger import entry_rows
from engine.quote_records import fill_row

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backfilled:
    run_id: str
    ledger_entries: int
    fills: int


def ids_in_dataset(data_dir: str, table: str, column: str, run_id: str) -> set[str]:
    """The values of `column` in `table` for one run (empty if the table has no parts)."""
    fs, root = resolve_filesystem(data_dir)
    base = f"{root}/{table}"
    if fs.get_file_info(base).type.name == "NotFound":
        return set()
    dataset = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive")
    if column not in dataset.schema.names:
        return set()
    rows = dataset.to_table(columns=[column], filter=ds.field("run_id") == run_id)
    return set(rows.column(column).to_pylist())


def backfill_run(
    data_dir: str, run_id: str, journal_file: Path, state: JournalState | None = None
) -> Backfilled:
    """Write every journaled posting and fill of `run_id` the dataset lacks."""
    journal = Journal(journal_file)
    try:
        state = state or journal.load()
        fills = journal.fills()
    finally:
        journal.close()
    written = ids_in_dataset(data_dir, "ledger_entries", "entry_id", run_id)
    postings = [p for p in state.postings if p.entry_id not in written]
    seen = ids_in_dataset(data_dir, "fills", "fill_id", run_id)
    lost = [f for f in fills if f.fill_id not in seen]
    if postings or lost:
        writers = PartWriters(
            data_dir,
            ("ledger_entries", "fills"),
            writer_id=f"backfill-{run_id}",
            run_id=run_id,
            config_hash=state.meta.get("config_hash", ""),
        )
        writers["ledger_entries"].append(entry_rows(postings))
        writers["fills"].append([fill_row(f, None, f.ts_ns) for f in lost])
        writers.close()
        log.warning(
            "run %s: %d ledger entries and %d fills missing from Parquet, written again "
            "from its journal",
            run_id,
            len(postings),
            len(lost),
        )
    return Backfilled(run_id, len(postings), len(lost))
