"""The fast backtest's columns as Parquet parts, laid out like the live writers' parts.

Separate from the runner because it is storage, not scheduling: it knows the
dataset layout (`analytics.schemas`), the runner only hands it columns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NS_PER_DAY = 86_400 * 1_000_000_000


class ParquetColumnWriters:
    """The fast path's columns as Parquet parts of the dataset, laid out as `PartWriter` does.

    One part per (table, UTC day, market) and call, written under a temporary
    name and renamed, so a reader never sees half a part. Float NaN is null.
    """

    def __init__(self, data_dir: str, *, writer_id: str, run_id: str, config_hash: str) -> None:
        from analytics.writer import resolve_filesystem

        self._fs, self._root = resolve_filesystem(data_dir)
        self._local = "://" not in data_dir
        self._writer_id, self._run_id, self._config_hash = writer_id, run_id, config_hash
        self._seq = 0

    def write_columns(self, table: str, columns: dict[str, Any]) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from analytics.schemas import schema_for
        from engine.backtest.fast_rows import Constant, Either, NumberedIds

        n = len(columns["ts"])
        if n == 0:
            return
        schema = schema_for(table)
        arrays = []
        ids: set[str] = set()  # unique per row: a dictionary would only cost
        for field in schema:
            if field.name == "run_id":
                arrays.append(pa.repeat(pa.scalar(self._run_id, field.type), n))
            elif field.name == "config_hash":
                arrays.append(pa.repeat(pa.scalar(self._config_hash, field.type), n))
            elif field.name not in columns:
                arrays.append(pa.nulls(n, type=field.type))
            else:
                values = columns[field.name]
                if isinstance(values, Constant):
                    arrays.append(pa.repeat(pa.scalar(values.value, field.type), n))
                elif isinstance(values, Either):
                    yes, no = (pa.scalar(v, field.type) for v in (values.if_true, values.if_false))
                    arrays.append(pc.if_else(pa.array(values.mask), yes, no))
                elif isinstance(values, NumberedIds):
                    ids.add(field.name)
                    numbers = pc.cast(pa.array(values.numbers), pa.string())
                    arrays.append(
                        pc.binary_join_element_wise(values.prefix, numbers, values.suffix, "")
                    )
                elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
                    arrays.append(pa.array(values, type=field.type, mask=np.isnan(values)))
                else:
                    arrays.append(pa.array(values, type=field.type))
        data = pa.Table.from_arrays(arrays, schema=schema)
        days = np.asarray(columns["ts"], dtype=np.int64) // NS_PER_DAY
        symbol = str(columns["market"][0])
        if days.min() == days.max():  # one day: no filter
            self._write(table, symbol, int(days[0]), data, ids)
            return
        for day in np.unique(days).tolist():
            self._write(table, symbol, day, data.filter(pa.array(days == day)), ids)

    def _write(self, table: str, symbol: str, day: int, data: Any, ids: set[str]) -> None:
        import uuid

        import pyarrow as pa
        import pyarrow.parquet as pq

        from analytics.schemas import DATE_PARTITION, MARKET_PARTITION
        from engine.types import market_id

        date = datetime.fromtimestamp(day * 86_400, tz=UTC).date().isoformat()
        directory = (
            f"{self._root}/{table}/{DATE_PARTITION}={date}/{MARKET_PARTITION}={market_id(symbol)}"
        )
        self._fs.create_dir(directory, recursive=True)
        self._seq += 1
        final = f"{directory}/part-{self._writer_id}-{self._run_id}-{self._seq:06d}.parquet"
        # dictionaries for the repetitive strings only: trying them on float columns (prices,
        # depths) or on ids (one value per row) costs several times the write and saves nothing
        strings = [f.name for f in data.schema if f.type == pa.string() and f.name not in ids]
        options = {"filesystem": self._fs, "use_dictionary": strings}
        if not self._local:
            pq.write_table(data, final, **options)
            return
        temp = f"{directory}/.{self._seq}.{uuid.uuid4().hex}.tmp"
        pq.write_table(data, temp, **options)
        self._fs.move(temp, final)
