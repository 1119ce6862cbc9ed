"""Buffered Parquet part writer: one per (actor, table), no actor in the middle.

Each actor appends plain dicts on its hot path (a list append and a key check)
and flushes on a timer; Arrow is built only at flush. A flush writes one part
per hive partition present in the buffer:

    {data_dir}/{table}/date=YYYY-MM-DD/market_id=BTC-USDT/part-{writer_id}-{seq:06d}.parquet

`seq` is one monotonic counter per writer. Before writing into a partition
directory for the first time the writer skips past the parts a previous
incarnation with the same `writer_id` left there (a restarted actor, a second
run on the same dataset), so a part is never overwritten.

With `background=True` a flush swaps the buffer for a fresh one and writes the
old one on a worker thread, so the actor's event loop never waits behind
Parquet encoding and file I/O (35-45 ms a flush in `bench/fill_throughput.py`).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analytics.partitions import (
    Part,
    PartitionKey,
    Rows,
    group_rows,
    rows_of,
    split_table,
)
from analytics.schemas import (
    DATE_PARTITION,
    MARKET_PARTITION,
    MARKET_TABLES,
    SchemaError,
    schema_for,
)
from analytics.storage_health import MAX_BUFFERED_ROWS, StorageHealth

_WRITER_DEFAULTS = ("run_id", "config_hash")


class _Outcome:
    """What one write of a swapped buffer did: parts written, rows to retry, errors."""

    __slots__ = ("dropped", "errors", "paths", "unwritten")

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.unwritten: Rows = []  # rows of partitions an I/O error kept from disk, in order
        self.errors: list[BaseException] = []
        self.dropped = 0  # rows that do not convert to the schema: never written


_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _parquet_worker() -> ThreadPoolExecutor:
    """The one thread that writes every background writer's parts in this process.

    One thread, not one per writer: the writes are mostly I/O outside the GIL,
    and every extra thread that wants the GIL is one more the event loop can
    wait behind.
    """
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(1, "parquet-writer")
        return _worker


def resolve_filesystem(data_dir: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, root path) for a local directory or an object-store URI (s3://, gs://)."""
    if "://" in data_dir:
        fs, root = pafs.FileSystem.from_uri(data_dir)
        return fs, root.rstrip("/")
    return pafs.LocalFileSystem(), os.path.abspath(data_dir)


class PartWriter:
    """Buffers rows of one table and writes them as Parquet parts of the shared dataset.

    Not thread-safe: one writer belongs to one asyncio loop. `append` takes
    ownership of the dicts it is given (they are not copied).

    `background=True`: `flush` hands the buffer to the process's Parquet worker
    thread and returns at once; the caller appends to a fresh buffer meanwhile. One write is in
    flight at a time (a flush while the previous one still runs waits for it),
    so parts keep the order of their flushes. A failed write's rows go back in
    front of the buffer and its error is raised by the next `append`, `flush`
    or `close`, after that call has done its own work. `close` waits for the
    write in flight and writes the rest before returning.

    With `health` (what actors use), errors are never raised: they are counted
    in it, and a flush after a failed write waits out its backoff
    (`analytics.storage_health`). Rows that do not convert are dropped one by
    one, never with the rest of their partition.
    """

    def __init__(
        self,
        data_dir: str,
        table: str,
        *,
        writer_id: str,
        run_id: str,
        config_hash: str,
        background: bool = False,
        health: StorageHealth | None = None,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", writer_id):
            raise ValueError(f"writer_id {writer_id!r} must be path-safe ([A-Za-z0-9_.-]+)")
        self._schema = schema_for(table)
        self._table = table
        self._scheme = data_dir.split("://", 1)[0] if "://" in data_dir else ""
        self._fs, self._root = resolve_filesystem(data_dir)
        self._atomic_rename = isinstance(self._fs, pafs.LocalFileSystem)
        self._writer_id = writer_id
        self._run_id = run_id
        self._config_hash = config_hash
        self._by_market = table in MARKET_TABLES
        self._columns = frozenset(self._schema.names)
        self._required = frozenset(
            f.name for f in self._schema if not f.nullable and f.name not in _WRITER_DEFAULTS
        )
        self._rows: Rows = []
        self._seq = 0
        self._seen_dirs: set[str] = set()
        self._part_name = re.compile(rf"part-{re.escape(writer_id)}-(\d+)\.parquet")
        self._background = background
        self._inflight: Future[_Outcome] | None = None
        self._inflight_rows = 0
        self._done_paths: list[str] = []  # written in the background, not yet returned
        self._health = health

    @property
    def table(self) -> str:
        return self._table

    @property
    def pending_rows(self) -> int:
        """Rows appended and not yet written (including a background write in flight)."""
        return len(self._rows) + self._inflight_rows

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Buffer rows (`ts` in int UTC ns), all or none of them.

        Raises `SchemaError` naming the table and the key for an unknown key or
        a missing required one; `run_id` and `config_hash` default to the writer's.
        In background mode, an earlier background write's error is raised after
        the rows are buffered.
        """
        batch = rows if isinstance(rows, list) else list(rows)
        columns, required = self._columns, self._required
        for row in batch:
            if not columns.issuperset(row):
                unknown = ", ".join(sorted(set(row) - columns))
                raise SchemaError(f"table {self._table}: unknown key(s) {unknown}")
            if not required.issubset(row):
                missing = ", ".join(sorted(required - set(row)))
                raise SchemaError(f"table {self._table}: missing required key(s) {missing}")
        self._rows.extend(batch)
        if self._health is not None and len(self._rows) > MAX_BUFFERED_ROWS:
            over = len(self._rows) - MAX_BUFFERED_ROWS
            del self._rows[:over]
            self._health.dropped(over, f"{self._table}: buffer over {MAX_BUFFERED_ROWS} rows")
        if self._inflight is not None and self._inflight.done():
            self._raise_first(self._collect(wait=False))

    def flush(self) -> list[str]:
        """Write one part per (date, market) partition in the buffer; return their paths.

        A partition whose rows do not convert to the schema is dropped and a
        `SchemaError` is raised after the other partitions are written (retrying
        malformed rows cannot succeed); on an I/O error the unwritten rows stay
        buffered for the next flush and the error propagates.

        In background mode the buffer is handed to the worker and the paths
        returned are those of parts finished since the last call; errors of an
        earlier write are raised once this flush is under way.
        """
        if self._health is not None and self._health.waiting(self._table):
            return []  # storage failed a moment ago: keep the rows until the backoff ends
        if not self._background:
            outcome = self._write_rows(self._take(), self._run_id, self._config_hash)
            self._note(outcome)
            self._rows[:0] = outcome.unwritten
            self._raise_first(outcome.errors)
            return outcome.paths
        errors = self._collect(wait=True) if self._inflight is not None else []
        if self._rows and not (self._health is not None and self._health.waiting(self._table)):
            rows = self._take()
            self._inflight_rows = len(rows)
            self._inflight = _parquet_worker().submit(
                self._write_rows, rows, self._run_id, self._config_hash
            )
        paths, self._done_paths = self._done_paths, []
        self._raise_first(errors)
        return paths

    def close(self) -> list[str]:
        """Write what is left and wait until it is on disk (in background mode too)."""
        if not self._background:
            return self.flush()
        errors = self._collect(wait=True) if self._inflight is not None else []
        outcome = self._write_rows(self._take(), self._run_id, self._config_hash)
        self._note(outcome)
        self._rows[:0] = outcome.unwritten
        paths, self._done_paths = self._done_paths + outcome.paths, []
        self._raise_first(errors + outcome.errors)
        return paths

    def retag(self, config_hash: str) -> list[str]:
        """A new config is live: flush rows written under the old one, tag the rest anew."""
        written = self.flush()  # a background write keeps the hash it was handed
        self._config_hash = config_hash
        return written

    def _note(self, outcome: _Outcome) -> None:
        """Health after a write: a clean one ends a failure streak; dropped rows count."""
        if self._health is None:
            return
        if outcome.dropped:
            self._health.dropped(outcome.dropped, f"{self._table}: rows do not fit the schema")
        if outcome.paths and not outcome.unwritten:
            self._health.succeeded(self._table)

    def _take(self) -> Rows:
        rows, self._rows = self._rows, []
        return rows

    def _collect(self, *, wait: bool) -> list[BaseException]:
        """Take the outcome of the write in flight: paths kept, unwritten rows re-buffered."""
        assert self._inflight is not None
        if not wait and not self._inflight.done():
            return []
        outcome = self._inflight.result()
        self._inflight, self._inflight_rows = None, 0
        self._note(outcome)
        self._done_paths += outcome.paths
        self._rows[:0] = outcome.unwritten  # older than anything appended since
        return outcome.errors

    def _raise_first(self, errors: list[BaseException]) -> None:
        if not errors:
            return
        if self._health is None:
            raise errors[0]
        for exc in errors:
            if isinstance(exc, SchemaError):
                self._health.dropped(0, str(exc))
            else:
                self._health.failed(self._table, exc)

    def _write_rows(self, rows: Rows, run_id: str, config_hash: str) -> _Outcome:
        """Write `rows` as one part per partition; reports errors instead of raising.

        Runs on the caller's thread or the worker; `_seq` and `_seen_dirs` are only
        touched here, and never by two threads at once (one write in flight).
        """
        outcome = _Outcome()
        if not rows:
            return outcome
        try:
            parts, outcome.errors = self._partitions(rows, run_id, config_hash)
        except BaseException as exc:  # unexpected: keep every row for the next flush
            outcome.unwritten, outcome.errors = rows, [exc]
            return outcome
        for i, part in enumerate(parts):
            try:
                table = part.table
                if table is None:
                    table = self._to_arrow(part.rows(), run_id, config_hash)
            except SchemaError as exc:
                outcome.errors.append(exc)
                if self._health is None:
                    continue
                table, bad = self._convertible(part.rows(), run_id, config_hash)
                outcome.dropped += bad
                if table is None:
                    continue
            try:
                outcome.paths.append(self._write(part.key, table))
            except BaseException as exc:
                for later in parts[i:]:
                    outcome.unwritten += later.rows()
                outcome.errors.insert(0, exc)
                break
        return outcome

    def _partitions(
        self, rows: Rows, run_id: str, config_hash: str
    ) -> tuple[list[Part], list[BaseException]]:
        """The buffer cut into partitions, in partition order, Arrow built once for all.

        Partitions are cut from one Table with vectorised filters instead of a
        Python loop over rows. If the buffer does not convert as a whole (a bad
        row), falls back to grouping row by row so only the bad partition is lost.
        """
        ts = [r["ts"] for r in rows]
        if all(type(t) is int for t in ts) and min(ts) >= 0:
            try:
                table = self._to_arrow(rows, run_id, config_hash)
            except SchemaError:
                pass
            else:
                return split_table(table, rows, min(ts), max(ts), by_market=self._by_market), []
        groups, errors = group_rows(rows, self._table, by_market=self._by_market)
        keys = sorted(groups, key=lambda k: (k[0], k[1] or ""))
        return [Part(k, None, rows_of(groups[k])) for k in keys], list(errors)

    def _convertible(
        self, rows: Rows, run_id: str, config_hash: str
    ) -> tuple[pa.Table | None, int]:
        """The rows of a partition that convert, as one Table, and how many did not."""
        good = []
        for row in rows:
            try:
                self._to_arrow([row], run_id, config_hash)
            except SchemaError:
                continue
            good.append(row)
        table = self._to_arrow(good, run_id, config_hash) if good else None
        return table, len(rows) - len(good)

    def _to_arrow(self, rows: list[dict[str, Any]], run_id: str, config_hash: str) -> pa.Table:
        arrays = []
        for field in self._schema:
            name = field.name
            if name == "run_id":
                values = [r.get(name, run_id) for r in rows]
            elif name == "config_hash":
                values = [r.get(name, config_hash) for r in rows]
            else:
                values = [r.get(name) for r in rows]
            try:
                array = pa.array(values, type=field.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, UnicodeError) as exc:
                raise SchemaError(f"{self._table}.{name}: {exc}") from None
            if not field.nullable and array.null_count:
                raise SchemaError(f"{self._table}.{name}: null in a required column")
            arrays.append(array)
        return pa.Table.from_arrays(arrays, schema=self._schema)

    def _partition_dir(self, key: PartitionKey) -> str:
        day, market = key
        date = datetime.fromtimestamp(day * 86_400, tz=UTC).date().isoformat()
        parts = [self._table, f"{DATE_PARTITION}={date}"]
        if market is not None:
            parts.append(f"{MARKET_PARTITION}={market}")
        return "/".join(parts)

    def _next_seq(self, directory: str) -> int:
        if directory not in self._seen_dirs:
            self._seen_dirs.add(directory)
            selector = pafs.FileSelector(directory, allow_not_found=True)
            for info in self._fs.get_file_info(selector):
                match = self._part_name.fullmatch(info.base_name)
                if match:
                    self._seq = max(self._seq, int(match.group(1)) + 1)
        seq = self._seq
        self._seq += 1
        return seq

    def _write(self, key: PartitionKey, table: pa.Table) -> str:
        relative_dir = self._partition_dir(key)
        directory = f"{self._root}/{relative_dir}"
        self._fs.create_dir(directory, recursive=True)
        name = f"part-{self._writer_id}-{self._next_seq(directory):06d}.parquet"
        final = f"{directory}/{name}"
        if self._atomic_rename:
            # a reader globbing *.parquet never sees a half-written part
            temp = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
            try:
                pq.write_table(table, temp, filesystem=self._fs)
                self._fs.move(temp, final)
            except BaseException:
                with contextlib.suppress(OSError):
                    self._fs.delete_file(temp)
                raise
            return final
        pq.write_table(table, final, filesystem=self._fs)  # an object-store PUT is atomic
        return f"{self._scheme}://{final}"


class PartWriters:
    """One actor's writers, one per table, flushed and retagged together."""

    def __init__(
        self,
        data_dir: str,
        tables: Iterable[str],
        *,
        writer_id: str,
        run_id: str,
        config_hash: str,
        background: bool = False,
        tolerant: bool = False,
    ) -> None:
        """`tolerant`: never raise a write error (an actor's writers): count it in
        `health` and retry with backoff (`analytics.storage_health`)."""
        self.health: StorageHealth | None = StorageHealth() if tolerant else None
        self._writers = {
            t: PartWriter(
                data_dir,
                t,
                writer_id=writer_id,
                run_id=run_id,
                config_hash=config_hash,
                background=background,
                health=self.health,
            )
            for t in tables
        }

    def __getitem__(self, table: str) -> PartWriter:
        return self._writers[table]

    def flush(self) -> list[str]:
        return [path for w in self._writers.values() for path in w.flush()]

    def close(self) -> list[str]:
        """Flush every table and wait for background writes; the first error is raised
        once every table has been closed."""
        paths: list[str] = []
        errors: list[BaseException] = []
        for w in self._writers.values():
            try:
                paths += w.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        return paths

    def retag(self, config_hash: str) -> None:
        for w in self._writers.values():
            w.retag(config_hash)

    def storage_status(self) -> dict[str, Any]:
        """For status and alerts: failing for how long, what was dropped, rows waiting."""
        health = self.health or StorageHealth()
        return health.as_status(sum(w.pending_rows for w in self._writers.values()))
