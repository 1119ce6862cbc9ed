"""Per-hour and per-day SLA rollups of `book_samples`, so `marketmesh sla` does not
re-read every sample each time it is asked.

`marketmesh compact` writes one rollup per (date, market) partition:
`{data_dir}/sla_rollup/date=YYYY-MM-DD/market_id=BTC-USDT/rollup.parquet`, one
row per run, config, market and UTC hour, and one per day. A row holds what the
SLA merges exactly (sample counts, quoting counts, within-target counts, depth
sums, the latest sample's targets and mid) and its period's exact spread
p50/p95 and depth medians, plus a histogram per percentile column so periods
can be merged.

Which rows are counted: a rollup names the part files it was computed from
(name and size, in its Parquet metadata). The SLA reads a rollup only while all
of those files are still there unchanged, and reads every other sample part
raw, so a partition a run is still writing (parts newer than the rollup) is
complete, and a rollup left behind by a later compaction is ignored, never
counted twice.

Percentiles: a period made of one rollup row (one run and config in one
partition, the usual case for `--by hour` and `--by day`) reports the exact
values stored for it. A period merged from several rows (the whole range over
several days, several runs in one hour, rollup plus raw parts) takes them from
the summed histograms: log-spaced bins `[g^i, g^(i+1))` with `g = GAMMA` = 1.01
(mirrored for negative values, zero and non-finite values exact). The value of
a rank is placed inside its bin by its rank there (values spread evenly across
the bin), and the quantile interpolates between ranks as `quantile_cont` does,
so the result is in the same bin(s) as the exact one: within
`HIST_RELATIVE_ERROR` = 1 % of it in the worst case (of the larger of the two
neighbouring values if they have opposite signs), far closer when bins hold
many samples (0.02 % on the bench's 7-day summary, BENCHMARKS.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from analytics.sla_samples import graded_sql, samples_relation

ROLLUP_TABLE = "sla_rollup"
ROLLUP_FILE = "rollup.parquet"
SAMPLES_TABLE = "book_samples"
# the version is part of the key: a rollup of another layout is not found, so it is
# ignored (its partition read raw) until the next compaction rewrites it
# v3: graded against the configured targets, with SLA-met and breach-reason counts
COVERS_KEY = b"marketmesh.sla_rollup.v3.covers"
ROLLUP_PERIODS: dict[str, int] = {"hour": 3_600, "day": 86_400}
GAMMA = 1.01
HIST_RELATIVE_ERROR = GAMMA - 1
_PENDING = ".rollup-pending.parquet"


def _bin(column: str) -> str:
    """SQL: the key of `column`'s histogram bin, its bound nearest zero
    (sign * GAMMA^floor(log_GAMMA |x|)); zero and non-finite values are their own key."""
    return (
        f"case when {column} = 0 or not isfinite({column}) then {column} "
        f"else sign({column}) * pow({GAMMA!r}, floor(ln(abs({column})) / ln({GAMMA!r}))) end"
    )


_PARTIAL_SQL = """
select
    market,
    run_id,
    config_hash,
    epoch_ns(ts) // {period_ns} as period,
    count(*) as samples,
    count_if(quoting) as quoting_samples,
    count_if(spread_ok) as spread_within,
    count_if(depth_ok) as depth_within,
    count_if(spread_ok and depth_ok) as sla_met,
    histogram(breach_reason) as breach_counts,
    sum(coalesce(bot_bid_depth_band, 0) + coalesce(bot_ask_depth_band, 0)) as bot_depth_sum,
    sum(coalesce(bid_depth_band, 0) + coalesce(ask_depth_band, 0)) as depth_sum,
    quantile_cont(spread_bps, [0.5, 0.95]) as spread_q,
    median(bid_depth_band) as bid_depth_median,
    median(ask_depth_band) as ask_depth_median,
    max(epoch_ns(ts)) as last_ts_ns,
    arg_max(
        {{'t': sla_target_spread_bps, 'd': sla_depth_target_quote, 'b': depth_band_bps,
          'e': sla_effective_target_spread_bps, 'm': case when mid > 0 then mid end}},
        epoch_ns(ts)
    ) as latest,
    histogram({spread_bin}) as spread_hist,
    histogram({bid_bin}) as bid_depth_hist,
    histogram({ask_bin}) as ask_depth_hist
from ({source})
where {where}
group by all
"""


def partial_sql(source: str, *, period_s: int, where: str = "true") -> str:
    """Rollup rows (see the module doc) of the samples in `source` (with every column of
    `analytics.sla_samples.ADDED_COLUMNS`: `samples_relation`), per `period_s`."""
    return _PARTIAL_SQL.format(
        period_ns=period_s * 1_000_000_000,
        spread_bin=_bin("spread_bps"),
        bid_bin=_bin("bid_depth_band"),
        ask_bin=_bin("ask_depth_band"),
        source=graded_sql(source),
        where=where,
    )


def read_covers(rollup: Path) -> dict[str, int] | None:
    """The part files (name -> size in bytes) a rollup was computed from, or None."""
    try:
        metadata = pq.read_schema(rollup).metadata or {}
    except (FileNotFoundError, OSError):
        return None
    raw = metadata.get(COVERS_KEY)
    return json.loads(raw) if raw is not None else None


def write_rollup(
    root: Path, leaf: Path, con: duckdb.DuckDBPyConnection | None = None
) -> int | None:
    """(Re)write the rollup of one `book_samples` partition from its current parts.

    Returns the rollup's row count, or None when the rollup already covers
    exactly these parts (so a second compaction does nothing). The file is
    written aside and renamed into place, so a reader sees the old or the new one.
    """
    parts = sorted(p for p in leaf.glob("part-*.parquet"))
    if not parts:
        return None
    covers = {p.name: p.stat().st_size for p in parts}
    out_dir = root / ROLLUP_TABLE / leaf.relative_to(root / SAMPLES_TABLE)
    if read_covers(out_dir / ROLLUP_FILE) == covers:
        return None
    con = con or duckdb.connect()
    files = "[" + ", ".join(_sql_string(str(p)) for p in parts) + "]"
    source = samples_relation(
        con, f"read_parquet({files}, hive_partitioning = false, union_by_name = true)"
    )
    sql = " union all ".join(
        f"select {seconds} as period_s, * from ({partial_sql(source, period_s=seconds)})"
        for seconds in ROLLUP_PERIODS.values()
    )
    table = con.sql(sql).to_arrow_table()
    table = table.replace_schema_metadata({COVERS_KEY: json.dumps(covers).encode()})
    out_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out_dir / _PENDING)
    os.replace(out_dir / _PENDING, out_dir / ROLLUP_FILE)
    return table.num_rows


@dataclass(frozen=True, slots=True)
class RollupPlan:
    """What an SLA query reads: valid rollups, and the sample parts none of them covers."""

    rollup_files: tuple[str, ...]
    raw_files: tuple[str, ...]


def plan(data_dir: str, con: duckdb.DuckDBPyConnection) -> RollupPlan | None:
    """The rollups of `data_dir` still matching their parts, or None if there are none
    (object stores are never compacted, so they always have none)."""
    if "://" in data_dir:
        return None
    root = Path(data_dir)
    rollup_root = root / ROLLUP_TABLE
    files = sorted(str(p) for p in rollup_root.glob(f"date=*/market_id=*/{ROLLUP_FILE}"))
    if not files:
        return None
    # one DuckDB call reads every footer (4x faster than pyarrow file by file)
    found = con.execute(
        "select file_name, value from parquet_kv_metadata($files) where key = $key",
        {"files": files, "key": COVERS_KEY.decode()},
    ).fetchall()
    rollups: list[str] = []
    covered: set[Path] = set()
    for name, value in sorted(found):
        rollup = Path(name)
        leaf = root / SAMPLES_TABLE / rollup.parent.relative_to(rollup_root)
        covers: dict[str, int] = json.loads(value)
        if not covers or not all(_same_size(leaf / n, size) for n, size in covers.items()):
            continue  # its parts were merged or removed since: read them raw
        rollups.append(name)
        covered.update(leaf / n for n in covers)
    if not rollups:
        return None
    raw = sorted(
        str(p)
        for p in (root / SAMPLES_TABLE).glob("**/*.parquet")
        if not p.name.startswith(".") and p not in covered
    )
    return RollupPlan(tuple(rollups), tuple(raw))


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


_MERGED_SQL = """
sample_parts as materialized (
    {parts}
),
sample_groups as (
    select
        market,
        period,
        count(*) as sources,
        sum(samples)::bigint as samples,
        sum(quoting_samples)::bigint as quoting_samples,
        sum(spread_within)::bigint as spread_within,
        sum(depth_within)::bigint as depth_within,
        sum(sla_met)::bigint as sla_met,
        sum(bot_depth_sum) as bot_depth_sum,
        sum(depth_sum) as depth_sum,
        any_value(spread_q) as spread_q,
        any_value(bid_depth_median) as bid_depth_median,
        any_value(ask_depth_median) as ask_depth_median,
        arg_max(latest, last_ts_ns) as latest
    from sample_parts
    group by market, period
),
reason_counts as (
    select market, period, reason, sum(n)::bigint as n
    from (
        select market, period, unnest(map_keys(breach_counts)) as reason,
               unnest(map_values(breach_counts)) as n
        from sample_parts
    )
    group by all
),
reason_maps as (
    select market, period, map(list(reason), list(n)) as breach_counts
    from reason_counts group by market, period
),
{hist_q}
sample_stats_flat as (
    select
        g.market,
        g.period,
        g.samples,
        100.0 * g.quoting_samples / g.samples as uptime_pct,
        case when g.sources = 1 then g.spread_q else [h.s_50, h.s_95] end as spread_q,
        100.0 * g.spread_within / g.samples as spread_within_target_pct,
        case when g.sources = 1 then g.bid_depth_median else h.b_50 end as bid_depth_median,
        case when g.sources = 1 then g.ask_depth_median else h.a_50 end as ask_depth_median,
        100.0 * g.depth_within / g.samples as depth_within_target_pct,
        100.0 * g.sla_met / g.samples as sla_met_pct,
        r.breach_counts,
        0 as excluded_samples,
        100.0 * g.bot_depth_sum / nullif(g.depth_sum, 0) as bot_share_pct,
        g.latest.t as target_spread_bps,
        g.latest.d as depth_target_quote,
        g.latest.b as depth_band_bps,
        g.latest.e as effective_target_spread_bps,
        g.latest.m as last_mid
    from sample_groups g
    left join hist_q h using (market, period)
    left join reason_maps r using (market, period)
)"""


_HIST_SQL = """
multi_parts as materialized (
    select p.* from sample_parts p
    join sample_groups g using (market, period)
    where g.sources > 1
),
hist_values as (
    select market, period, metric, v, sum(n) as n
    from (
        select market, period, 's' as metric, unnest(map_keys(spread_hist)) as v,
               unnest(map_values(spread_hist)) as n from multi_parts
        union all
        select market, period, 'b', unnest(map_keys(bid_depth_hist)),
               unnest(map_values(bid_depth_hist)) from multi_parts
        union all
        select market, period, 'a', unnest(map_keys(ask_depth_hist)),
               unnest(map_values(ask_depth_hist)) from multi_parts
    )
    group by all
),
hist_cum as (
    select market, period, metric, n,
           -- the bin's bounds, ascending, from its key (the bound nearest zero)
           case when v = 0 or not isfinite(v) or v > 0 then v else v * {gamma} end as lo,
           case when v = 0 or not isfinite(v) or v < 0 then v else v * {gamma} end as hi,
           sum(n) over (partition by market, period, metric order by v) as cum,
           sum(n) over (partition by market, period, metric) as total
    from hist_values
),
hist_q as (
    select market, period,{quantiles}
    from hist_cum
    group by market, period
),"""

_NO_HIST_SQL = """hist_q as (
    select null::varchar as market, null::bigint as period, null::double as s_50,
           null::double as s_95, null::double as b_50, null::double as a_50
    where false
),"""


def _hist_quantile(metric: str, q: float) -> str:
    """`quantile_cont` over a histogram: the values of ranks floor and ceil of
    (n - 1) * q, each placed in its bin by its rank there, interpolated."""
    rank = f"(total - 1) * {q}"

    def at(r: str) -> str:
        inside = f"case when lo = hi then lo else lo + ({r} - (cum - n) + 0.5) / n * (hi - lo) end"
        where = f"metric = '{metric}' and cum - n <= {r} and {r} < cum"
        return f"any_value({inside}) filter (where {where})"

    low, high = at(f"floor({rank})"), at(f"ceil({rank})")
    frac = f"any_value({rank} - floor({rank})) filter (where metric = '{metric}')"
    return f"\n        {low} + {frac} * ({high} - {low}) as {metric}_{round(q * 100)}"


def merged_sample_stats(
    plan: RollupPlan,
    *,
    level: str,
    by: str | None,
    rollup_where: str,
    raw_where: str,
    histograms: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> str:
    """CTEs ending in `sample_stats_flat` (the columns `analytics.sla` reads) from the
    rollup rows of `level` plus the uncovered parts, merged per market and `by` period.

    `histograms=False` (no period is merged from several rows: `needs_histograms`)
    leaves the histogram columns unread, the bulk of a rollup. `con` describes the
    uncovered parts, so columns they predate are read as nulls (without it, every
    part must have them).
    """
    period = "period" if by else "0"
    seconds = ROLLUP_PERIODS[level]
    hists = "" if histograms else ", spread_hist, bid_depth_hist, ask_depth_hist"
    parts = [
        f"select * exclude (period_s{hists}) replace ({period} as period) "
        f"from {_rollup_source(plan)} where period_s = {seconds} and {rollup_where}"
    ]
    if plan.raw_files:
        raw = "[" + ", ".join(_sql_string(f) for f in plan.raw_files) + "]"
        source = f"read_parquet({raw}, hive_partitioning = true, union_by_name = true)"
        if con is not None:
            source = samples_relation(con, source)
        partial = partial_sql(source, period_s=seconds, where=raw_where)
        exclude = f" exclude ({hists[2:]})" if hists else ""
        parts.append(f"select *{exclude} replace ({period} as period) from ({partial})")
    union = "\n    union all by name\n    ".join(parts)
    if histograms:
        quantiles = ",".join(
            _hist_quantile(metric, q)
            for metric, q in (("s", 0.5), ("s", 0.95), ("b", 0.5), ("a", 0.5))
        )
        hist_q = _HIST_SQL.format(quantiles=quantiles, gamma=repr(GAMMA))
    else:
        hist_q = _NO_HIST_SQL
    return _MERGED_SQL.format(parts=union, hist_q=hist_q)


def needs_histograms(
    con: duckdb.DuckDBPyConnection,
    plan: RollupPlan,
    *,
    level: str,
    by: str | None,
    rollup_where: str,
    params: dict[str, Any],
) -> bool:
    """Whether some period is merged from several rows (the whole range, parts no
    rollup covers, several runs or configs in one period): only then are the
    histograms read."""
    if by is None or plan.raw_files:
        return True
    seconds = ROLLUP_PERIODS[level]
    probe = (
        f"select count(*) from (select market, period from {_rollup_source(plan)} "
        f"where period_s = {seconds} and {rollup_where} "
        "group by market, period having count(*) > 1)"
    )
    used = {k: v for k, v in params.items() if f"${k}" in probe}
    row = con.execute(probe, used).fetchone()
    return row is not None and row[0] > 0


def _rollup_source(plan: RollupPlan) -> str:
    files = "[" + ", ".join(_sql_string(f) for f in plan.rollup_files) + "]"
    # one layout (COVERS_KEY): no need to read every schema to unify them (2x slower)
    return f"read_parquet({files}, hive_partitioning = false)"


def rollup_level(by: str | None, start_ns: int | None, end_ns: int | None) -> str | None:
    """The rollup period that answers `by` over `[start_ns, end_ns)`, or None when the
    window cuts through rollup periods (or `by` is finer than an hour): read raw then."""
    levels = [by] if by else ["day", "hour"]
    for level in levels:
        if level not in ROLLUP_PERIODS:
            return None
        period_ns = ROLLUP_PERIODS[level] * 1_000_000_000
        if all(t is None or t % period_ns == 0 for t in (start_ns, end_ns)):
            return level
    return None


def rollup_params(level: str, start_ns: int | None, end_ns: int | None) -> dict[str, Any]:
    """Bucket bounds for `rollup_where`'s `$rollup_start`/`$rollup_end`."""
    period_ns = ROLLUP_PERIODS[level] * 1_000_000_000
    params: dict[str, Any] = {}
    if start_ns is not None:
        params["rollup_start"] = start_ns // period_ns
    if end_ns is not None:
        params["rollup_end"] = end_ns // period_ns
    return params


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
