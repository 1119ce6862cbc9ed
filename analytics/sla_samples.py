"""Each `book_samples` row graded against its configured targets, with a breach reason.

One definition shared by the SLA query (`analytics.sla`), its rollups
(`analytics.sla_rollup`) and the report, so they cannot disagree:

* the target is the configured one (`configured_target_spread_bps`, falling back
  to `target_spread_bps` in parts written before it existed, which may hold a
  target an alert had widened);
* spread met: the bot quotes both sides and the book's spread is within it;
* depth met: both sides' depth in the market's band at or above its target;
* breach reason (null when both are met): the engine's `quote_state` when it
  departed from normal (`engine.quote_records.QuoteState`: paused,
  stale_reference, vol_pause, not_quoting, one_sided, vol_widen,
  target_widened), else what the book shows: not_quoting, one_sided,
  spread_over_target, depth_below_target.

Schemas only grow: `samples_relation` adds the columns a dataset's parts
predate as nulls, so old data is graded the way it was recorded instead of
failing with a binder error.
"""

from __future__ import annotations

import duckdb

ADDED_COLUMNS: dict[str, str] = {
    "configured_target_spread_bps": "double",
    "configured_depth_target_quote": "double",
    "effective_target_spread_bps": "double",
    "quote_state": "varchar",
    "reference_mid": "double",
}
"""`book_samples` columns newer than the first SLA version, with their DuckDB types."""

BOOK_REASONS: tuple[str, ...] = (
    "not_quoting",
    "one_sided",
    "spread_over_target",
    "depth_below_target",
)
"""Reasons read off the book when the engine recorded no state (or a normal one)."""

GRADED_SQL = """
select
    *,
    coalesce(configured_target_spread_bps, target_spread_bps) as sla_target_spread_bps,
    coalesce(configured_depth_target_quote, depth_target_quote) as sla_depth_target_quote,
    coalesce(effective_target_spread_bps, target_spread_bps) as sla_effective_target_spread_bps,
    coalesce(coalesce(quoting, false) and spread_bps <= sla_target_spread_bps, false)
        as spread_ok,
    coalesce(bid_depth_band >= sla_depth_target_quote
             and ask_depth_band >= sla_depth_target_quote, false) as depth_ok,
    case
        when spread_ok and depth_ok then null
        when quote_state is not null and quote_state <> 'normal' then quote_state
        when not coalesce(quoting, false) then
            case when coalesce(bot_bid_depth_band, 0) > 0 or coalesce(bot_ask_depth_band, 0) > 0
                 then 'one_sided' else 'not_quoting' end
        when not spread_ok then 'spread_over_target'
        else 'depth_below_target'
    end as breach_reason,
    {excluded} as sla_excluded
from {source}
"""


def relation_with(con: duckdb.DuckDBPyConnection, source: str, columns: dict[str, str]) -> str:
    """`source`, or a select adding the `columns` (name -> DuckDB type) it lacks as
    typed nulls: a view over parts older than those columns does not have them."""
    have = {row[0] for row in con.execute(f"describe select * from {source}").fetchall()}
    missing = [f"cast(null as {t}) as {c}" for c, t in columns.items() if c not in have]
    if not missing:
        return source
    return f"(select *, {', '.join(missing)} from {source})"


def samples_relation(con: duckdb.DuckDBPyConnection, source: str = "book_samples") -> str:
    """`source`, or a select adding the `ADDED_COLUMNS` its parts lack as typed nulls."""
    return relation_with(con, source, ADDED_COLUMNS)


def graded_sql(source: str, excluded_reasons: tuple[str, ...] = ()) -> str:
    """A select of `source` (with every `ADDED_COLUMNS` column: `samples_relation`) plus
    `sla_target_spread_bps`, `sla_depth_target_quote`, `sla_effective_target_spread_bps`,
    `spread_ok`, `depth_ok`, `breach_reason` and `sla_excluded` (its reason is one of
    `excluded_reasons`: the sample is left out of the graded shares)."""
    excluded = (
        f"coalesce(breach_reason in ({', '.join(_sql_string(r) for r in excluded_reasons)}), false)"
        if excluded_reasons
        else "false"
    )
    return GRADED_SQL.format(source=source, excluded=excluded)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
