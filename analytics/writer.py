"""Buffered Parquet part writer: one per (actor, table), no actor in the middle.

Each actor appends plain dicts on its hot path (a list append and a key check)
and flushes on a timer; Arrow is built only at flush. A flush writes one part
per hive partition present in the buffer:

    {data_dir}/{table}/date=YYYY-MM-DD/market_id=BTC-USDT/part-{writer_id}-{seq:06d}.parquet

`seq` is one monotonic counter per writer. Before writing into a partition
directory for the first time the writer skips past the parts a previous
incarnation with the same `writer_id` left there (a restarted actor, a second
run on the same dataset), so a part is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analytics.schemas import (
    DATE_PARTITION,
    MARKET_PARTITION,
    MARKET_TABLES,
    SchemaError,
    schema_for,
)
from engine.types import market_id

_NS_PER_DAY = 86_400 * 1_000_000_000
_WRITER_DEFAULTS = ("run_id", "config_hash")

_PartitionKey = tuple[int, str | None]  # (UTC day number, market_id or None)


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
    """

    def __init__(
        self,
        data_dir: str,
        table: str,
        *,
        writer_id: str,
        run_id: str,
        config_hash: str,
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
        self._rows: list[dict[str, Any]] = []
        self._seq = 0
        self._seen_dirs: set[str] = set()
        self._part_name = re.compile(rf"part-{re.escape(writer_id)}-(\d+)\.parquet")

    @property
    def table(self) -> str:
        return self._table

    @property
    def pending_rows(self) -> int:
        """Rows appended and not yet written."""
        return len(self._rows)

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Buffer rows (`ts` in int UTC ns), all or none of them.

        Raises `SchemaError` naming the table and the key for an unknown key or
        a missing required one; `run_id` and `config_hash` default to the writer's.
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

    def flush(self) -> list[str]:
        """Write one part per (date, market) partition in the buffer; return their paths.

        A partition whose rows do not convert to the schema is dropped and a
        `SchemaError` is raised after the other partitions are written (retrying
        malformed rows cannot succeed); on an I/O error the unwritten rows stay
        buffered for the next flush and the error propagates.
        """
        if not self._rows:
            return []
        groups, errors = self._group(self._rows)
        self._rows = []
        written: list[str] = []
        keys = sorted(groups, key=lambda k: (k[0], k[1] or ""))
        for i, key in enumerate(keys):
            try:
                table = self._to_arrow(groups[key])
            except SchemaError as exc:
                errors.append(exc)
                continue
            try:
                written.append(self._write(key, table))
            except BaseException:
                for later in keys[i:]:
                    self._rows.extend(groups[later])
                raise
        if errors:
            raise errors[0]
        return written

    def close(self) -> list[str]:
        """Flush what is left."""
        return self.flush()

    def retag(self, config_hash: str) -> list[str]:
        """A new config is live: flush rows written under the old one, tag the rest anew."""
        written = self.flush()
        self._config_hash = config_hash
        return written

    def _group(
        self, rows: list[dict[str, Any]]
    ) -> tuple[dict[_PartitionKey, list[dict[str, Any]]], list[SchemaError]]:
        groups: dict[_PartitionKey, list[dict[str, Any]]] = {}
        errors: list[SchemaError] = []
        by_market = self._by_market
        for row in rows:
            ts, market = row["ts"], row.get("market")
            if not isinstance(ts, int):
                errors.append(SchemaError(f"{self._table}.ts: expected int UTC ns, got {ts!r}"))
                continue
            partition: str | None = None
            if by_market:
                if not isinstance(market, str):
                    errors.append(SchemaError(f"{self._table}.market: not a symbol: {market!r}"))
                    continue
                partition = market_id(market)
            key = (ts // _NS_PER_DAY, partition)
            bucket = groups.get(key)
            if bucket is None:
                groups[key] = bucket = []
            bucket.append(row)
        return groups, errors

    def _to_arrow(self, rows: list[dict[str, Any]]) -> pa.Table:
        arrays = []
        for field in self._schema:
            name = field.name
            if name == "run_id":
                values = [r.get(name, self._run_id) for r in rows]
            elif name == "config_hash":
                values = [r.get(name, self._config_hash) for r in rows]
            else:
                values = [r.get(name) for r in rows]
            try:
                array = pa.array(values, type=field.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                raise SchemaError(f"{self._table}.{name}: {exc}") from None
            if not field.nullable and array.null_count:
                raise SchemaError(f"{self._table}.{name}: null in a required column")
            arrays.append(array)
        return pa.Table.from_arrays(arrays, schema=self._schema)

    def _partition_dir(self, key: _PartitionKey) -> str:
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

    def _write(self, key: _PartitionKey, table: pa.Table) -> str:
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
    ) -> None:
        self._writers = {
            t: PartWriter(data_dir, t, writer_id=writer_id, run_id=run_id, config_hash=config_hash)
            for t in tables
        }

    def __getitem__(self, table: str) -> PartWriter:
        return self._writers[table]

    def flush(self) -> list[str]:
        return [path for w in self._writers.values() for path in w.flush()]

    def retag(self, config_hash: str) -> None:
        for w in self._writers.values():
            w.retag(config_hash)
