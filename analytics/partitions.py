"""Cutting a writer's buffer into hive partitions: one (UTC day, market) per part.

Apart from `analytics.writer` because it is pure data shaping (Arrow filters,
row grouping) with no file, thread or retry state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from analytics.schemas import SchemaError
from engine.types import market_id

NS_PER_DAY = 86_400 * 1_000_000_000

PartitionKey = tuple[int, str | None]  # (UTC day number, market_id or None)
Rows = list[dict[str, Any]]


class Part(NamedTuple):
    """One partition of a buffer: its Table when built, and its rows for a retry."""

    key: PartitionKey
    table: pa.Table | None
    rows: Callable[[], Rows]


def rows_of(rows: Rows) -> Callable[[], Rows]:
    """Rows of one group, kept for a retry without building its Table again."""
    return lambda: rows


def _rows_where(rows: Rows, mask: pa.ChunkedArray) -> Callable[[], Rows]:
    """The rows a mask selects, looked up only if the part must go back to the buffer."""
    return lambda: [rows[i] for i in pc.indices_nonzero(mask).to_pylist()]


def split_table(
    table: pa.Table, rows: Rows, ts_min: int, ts_max: int, *, by_market: bool
) -> list[Part]:
    """A converted buffer cut into partitions with vectorised filters (no loop over rows);
    each part keeps a way back to its rows for a retry."""
    first_day, last_day = ts_min // NS_PER_DAY, ts_max // NS_PER_DAY
    markets: list[str | None] = [None]
    if by_market:
        symbols = pc.unique(table.column("market")).to_pylist()
        markets = [*sorted({market_id(m) for m in symbols})]
    if first_day == last_day and len(markets) == 1:
        return [Part((first_day, markets[0]), table, lambda: rows)]
    days = pc.divide(table.column("ts").cast(pa.int64()), NS_PER_DAY)  # ts >= 0: floor
    ids = pc.replace_substring(table.column("market"), "/", "-") if by_market else None
    out: list[Part] = []
    for day in sorted(pc.unique(days).to_pylist()):
        on_day = pc.equal(days, day)
        for market in markets:
            mask = on_day if ids is None else pc.and_(on_day, pc.equal(ids, market))
            part = table.filter(mask)
            if part.num_rows:
                out.append(Part((day, market), part, _rows_where(rows, mask)))
    return out


def group_rows(
    rows: list[dict[str, Any]], table: str, *, by_market: bool
) -> tuple[dict[PartitionKey, list[dict[str, Any]]], list[SchemaError]]:
    """Rows grouped by partition one at a time: the fallback when the buffer does not
    convert as a whole, so only the bad rows (named in the errors) are lost."""
    groups: dict[PartitionKey, list[dict[str, Any]]] = {}
    errors: list[SchemaError] = []
    for row in rows:
        ts, market = row["ts"], row.get("market")
        if not isinstance(ts, int):
            errors.append(SchemaError(f"{table}.ts: expected int UTC ns, got {ts!r}"))
            continue
        partition: str | None = None
        if by_market:
            if not isinstance(market, str):
                errors.append(SchemaError(f"{table}.market: not a symbol: {market!r}"))
                continue
            partition = market_id(market)
        key = (ts // NS_PER_DAY, partition)
        bucket = groups.get(key)
        if bucket is None:
            groups[key] = bucket = []
        bucket.append(row)
    return groups, errors
