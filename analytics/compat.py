"""Reading older parts: a table whose every part predates a column gets it as nulls.

Schemas only grow (`analytics.schemas`). Within a table, `union_by_name` already
gives a column missing from some parts nulls in those rows; when no part has
the column (data written before it existed, or by another tool) the view lacks
it and any query naming it fails with a binder error. `fill_missing_columns`
re-creates such a view with the missing columns as typed nulls and records them
in `_missing_columns`, so a command can say which figures are absent and why
(`missing_columns`) instead of failing.
"""

from __future__ import annotations

import duckdb

from analytics.schemas import SCHEMAS

NOTES_TABLE = "_missing_columns"


def fill_missing_columns(con: duckdb.DuckDBPyConnection, table: str, select: str) -> list[str]:
    """Re-create view `table` (= `select`) with the schema columns it lacks as nulls;
    return those columns ([] when every one is there)."""
    have = {row[0] for row in con.execute(f"describe {table}").fetchall()}
    schema = SCHEMAS[table]
    missing = [name for name in schema.names if name not in have]
    _record(con, table, missing)
    if not missing:
        return []
    types = dict(zip(schema.names, con.from_arrow(schema.empty_table()).types, strict=True))
    nulls = ", ".join(f"cast(null as {types[c]}) as {_ident(c)}" for c in missing)
    con.execute(f"create or replace view {table} as select *, {nulls} from ({select})")
    return missing


def missing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Per table, the columns no part of the dataset has (shown as nulls)."""
    try:
        rows = con.execute(
            f"select table_name, column_name from {NOTES_TABLE} order by table_name, position"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def missing_columns_note(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> str | None:
    """One sentence for people: which columns of `tables` the data predates, or None."""
    found = {t: cols for t, cols in missing_columns(con).items() if t in tables}
    if not found:
        return None
    listed = "; ".join(f"{t}: {', '.join(cols)}" for t, cols in found.items())
    return (
        f"note: the dataset predates some columns ({listed}); "
        "figures that need them are shown as - (null)"
    )


def _record(con: duckdb.DuckDBPyConnection, table: str, missing: list[str]) -> None:
    con.execute(
        f"create temp table if not exists {NOTES_TABLE} "
        "(table_name varchar, column_name varchar, position integer)"
    )
    con.execute(f"delete from {NOTES_TABLE} where table_name = ?", [table])
    if missing:
        con.executemany(
            f"insert into {NOTES_TABLE} values (?, ?, ?)",
            [(table, c, i) for i, c in enumerate(missing)],
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
