"""DuckDB views over the Parquet dataset: one view per table, named like the table.

Each view reads `{data_dir}/{table}/**/*.parquet` with hive partitioning, so the
`date` partition (a DATE) prunes files in `where date >= ...`; the `market_id`
partition is left out of the view, because the file's own `market` column
(`BTC/USDT`) is the one analysts join on. `union_by_name` lets parts written
by older versions (fewer columns) sit next to newer ones, and a column no part
has yet reads as nulls (`analytics.compat`).

A table with no part yet gets an empty view with the schema's columns and
types, so a query on a fresh dataset returns no rows instead of failing. Views
are bound at creation: call `create_views` again to pick up tables that got
their first part after `connect`.

Object stores: for `s3://` or `gs://` data dirs DuckDB needs its httpfs
extension and credentials (`INSTALL httpfs; LOAD httpfs; CREATE SECRET ...`),
set up on the connection before `create_views`; only local paths are tested.
"""

from __future__ import annotations

import duckdb
import pyarrow.fs as pafs

from analytics.compat import fill_missing_columns
from analytics.schemas import DATE_PARTITION, MARKET_PARTITION, MARKET_TABLES, SCHEMAS, TABLES
from analytics.writer import resolve_filesystem


def connect(data_dir: str, *, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per dataset table."""
    con = duckdb.connect(database)
    con.execute("set TimeZone = 'UTC'")  # periods and dates are UTC whatever the host says
    con.execute("set enable_progress_bar = false")  # output is for pipes and terminals alike
    create_views(con, data_dir)
    return con


def create_views(con: duckdb.DuckDBPyConnection, data_dir: str) -> None:
    """(Re)create every table's view on `con` over the dataset at `data_dir`."""
    fs, root = resolve_filesystem(data_dir)
    base = root if isinstance(fs, pafs.LocalFileSystem) else data_dir.rstrip("/")
    for table in TABLES:
        glob = _sql_string(f"{base}/{table}/**/*.parquet")
        hidden = f" exclude ({MARKET_PARTITION})" if table in MARKET_TABLES else ""
        select = (
            f"select *{hidden} from read_parquet({glob}, "
            "hive_partitioning = true, union_by_name = true)"
        )
        try:
            con.execute(f"create or replace view {table} as {select}")
        except duckdb.IOException:
            if _has_parts(fs, f"{root}/{table}"):
                raise  # parts exist but cannot be read: that is not a fresh table
            con.execute(f"create or replace view {table} as {_empty_select(con, table)}")
            continue
        fill_missing_columns(con, table, select)  # parts older than some columns
    from analytics.derived import create_derived_views
    from analytics.handover import create_handover_view

    create_derived_views(con)
    create_handover_view(con)


def _has_parts(fs: pafs.FileSystem, directory: str) -> bool:
    selector = pafs.FileSelector(directory, recursive=True, allow_not_found=True)
    return any(
        info.type == pafs.FileType.File and info.base_name.endswith(".parquet")
        for info in fs.get_file_info(selector)
    )


def _empty_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`select cast(null as T) as c, ... where false`, typed as DuckDB types the Arrow schema."""
    schema = SCHEMAS[table]
    types = con.from_arrow(schema.empty_table()).types
    columns = [
        f"cast(null as {duck_type}) as {_sql_ident(name)}"
        for name, duck_type in zip(schema.names, types, strict=True)
    ]
    columns.append(f"cast(null as date) as {DATE_PARTITION}")
    return f"select {', '.join(columns)} where false"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
