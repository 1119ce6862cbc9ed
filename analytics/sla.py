"""The liquidity SLA per market, as DuckDB SQL over the dataset views.

Definitions (each sample of `book_samples` is one observation of the home book):

* uptime: share of samples in which the bot had live two-sided quotes.
* spread: percentiles (`quantile_cont`, linear interpolation) over samples with
  a two-sided book; "within target" needs the bot's own two-sided quotes and
  `spread_bps` at or under the sample's configured target
  (`analytics.sla_samples`): a paused, one-sided or widened bot breaches
  whatever the rest of the book shows, and a widened target never grades.
* depth: quote notional resting within the market's own band (`depth_band_bps`)
  of mid; "within target" needs both sides at or above the configured
  `depth_target_quote`.
* SLA met: both; `breach_reasons` gives each reason's share of the samples,
  `exclusions` each named rule's (`AnalyticsConfig.sla_exclusions`): excluded
  samples leave the graded shares (uptime, within target, SLA met) only.
* hedged: hedge volume over fill volume in base, capped at 100 %; netted: fill
  volume neither hedged nor left open, i.e. offset by opposite fills
  (hedged + netted + open = 100 %).
* economics: spread capture (fills against the reference mid at the fill),
  hedge cost (hedge fees, those taken in the base asset valued at their fill's
  price, plus slippage against the decision mid), desk PnL in bps of the fill
  notional, and the home exchange's taker-fee
  revenue on the fills against the bot (`fills.taker_fee_quote`).
* hedge slippage: execution price against the mid the router decided on, in bps,
  positive when worse (Perold 1988, "The implementation shortfall"),
  weighted by executed base amount.
* hedge saving: the all-in price (fees included) each hedge achieved against
  the best single venue's all-in price for the same amount at decision time,
  in bps, positive when the router did better; weighted by executed base.
  Rows written before the router recorded it count as unknown (None).
* PnL: mark-to-market in the quote asset: signed quote cash flows of fills and
  hedge fills net of fees, plus the net base position at the last sampled mid.
  Fees in the quote asset (or with no currency, as the ledger books them) reduce
  cash, fees in the base asset reduce the position; fees in a third asset (e.g.
  a venue token) are not priced here.

Every sample carries its market's configured targets, so no config is needed;
the targets reported are the latest sample's (`effective_target_spread_bps`
beside them: what the engine quoted to).

Sample figures can come from the rollups `marketmesh compact` writes
(`analytics.sla_rollup`, `sla_summary(data_dir=...)`): the same counts and
ratios, the same percentiles for a period that is one rollup row, percentiles
within 1 % for a period merged from several (and breach flags follow them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb

from analytics import sla_rollup
from analytics.sla_samples import graded_sql, relation_with, samples_relation
from analytics.sla_sql import RAW_SAMPLE_STATS, SLA_SQL

FILL_ADDED_COLUMNS: dict[str, str] = {"taker_fee_quote": "double"}

SLA_KEYS: tuple[str, ...] = (
    "market",
    "samples",
    "uptime_pct",
    "spread_bps_p50",
    "spread_bps_p95",
    "spread_within_target_pct",
    "bid_depth_median",
    "ask_depth_median",
    "depth_within_target_pct",
    "target_spread_bps",
    "effective_target_spread_bps",
    "depth_target_quote",
    "depth_band_bps",
    "sla_met_pct",
    "breach_reasons",
    "exclusions",
    "fills",
    "volume_quote",
    "hedged_pct",
    "netted_pct",
    "hedge_slippage_bps",
    "hedge_saving_bps",
    "pnl_quote",
    "spread_capture_quote",
    "hedge_cost_quote",
    "home_taker_fee_revenue_quote",
    "desk_pnl_bps",
)
EXTRA_KEYS: tuple[str, ...] = ("spread_breach", "depth_breach", "bot_share_pct")
_MAP_KEYS = frozenset({"breach_reasons", "exclusions"})
BAND_KEYS: tuple[str, ...] = tuple(
    f"{side}_depth_{band}bps" for band in (10, 25, 50, 100, 200) for side in ("bid", "ask")
)
# periods are integer buckets of epoch ns: 4x faster than date_trunc on a zoned timestamp
PERIODS: dict[str, int] = {"minute": 60, "hour": 3_600, "day": 86_400}
_INT_KEYS = frozenset({"samples", "fills"})
_BOOL_KEYS = frozenset({"spread_breach", "depth_breach"})
_WHOLE_RANGE = "0"  # one constant period: the summary over the whole range
_NS_PER_DAY = 86_400 * 1_000_000_000


def sla_summary(
    con: duckdb.DuckDBPyConnection,
    *,
    market: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    run_id: str | None = None,
    config_hash: str | None = None,
    by: str | None = None,
    data_dir: str | None = None,
    exclusions: Mapping[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """One SLA row per market (sorted), or per market and period with `by`
    (`minute`, `hour`, `day`; UTC), over `[start_ns, end_ns)` if given.

    `con` has the dataset views (`analytics.views.connect`). Floats are rounded
    to 4 places; a figure with no observation behind it is None. Without a
    sample whose mid is known, an open position cannot be marked and PnL falls
    back to the last fill's reference mid. Per period, PnL is that period's
    cash flows plus its position change marked at the period's last mid.

    With `data_dir`, sample figures come from the rollups `marketmesh compact`
    wrote there (plus the parts no rollup covers) whenever the window falls on
    hour boundaries and `by` is not `minute`: counts and ratios are the same,
    percentiles of periods merged from several rollup rows are within 1 %
    (`analytics.sla_rollup`). Without it, every sample is read (exact).

    Every sample is graded against its configured targets (`analytics.sla_samples`);
    `breach_reasons` gives each reason's share of the samples. `exclusions`
    (name -> breach reasons, `AnalyticsConfig.sla_exclusions`) leave the samples
    with those reasons out of the graded shares (uptime, within target, SLA met);
    `exclusions` in the row gives each rule's share of the samples. With
    exclusions, every sample is read (rollups count no reason per share).
    """
    if by is not None and by not in PERIODS:
        raise ValueError(f"by={by!r}: expected one of {', '.join(PERIODS)}")
    where = _where(market, start_ns, end_ns, run_id, config_hash, True)
    params = _params(market, start_ns, end_ns, run_id, config_hash)
    sample_stats = None
    level = sla_rollup.rollup_level(by, start_ns, end_ns)
    excluded = tuple(sorted({r for reasons in (exclusions or {}).values() for r in reasons}))
    use_rollups = data_dir is not None and level is not None and not excluded
    rollups = sla_rollup.plan(data_dir, con) if use_rollups and data_dir is not None else None
    if rollups is not None and level is not None:
        rollup_where = _where(market, None, None, run_id, config_hash, False)
        if start_ns is not None:
            rollup_where += " and period >= $rollup_start"
        if end_ns is not None:
            rollup_where += " and period < $rollup_end"
        params |= sla_rollup.rollup_params(level, start_ns, end_ns)
        histograms = sla_rollup.needs_histograms(
            con, rollups, level=level, by=by, rollup_where=rollup_where, params=params
        )
        sample_stats = sla_rollup.merged_sample_stats(
            rollups,
            level=level,
            by=by,
            rollup_where=rollup_where,
            raw_where=where,
            histograms=histograms,
            con=con,
        )
    sql = sla_sql(
        by=by,
        where=where,
        where_orders=_where(market, None, None, run_id, config_hash, False),
        hedge_orders=hedge_orders_relation(con),
        sample_stats=sample_stats,
        samples=samples_relation(con),
        fills=relation_with(con, "fills", FILL_ADDED_COLUMNS),
        excluded_reasons=excluded,
    )
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    seconds = PERIODS[by] if by else None
    return [_clean(r, period_s=seconds, exclusions=exclusions or {}) for r in rows]


def sla_sql(
    *,
    by: str | None,
    where: str = "true",
    where_orders: str = "true",
    bands: bool = False,
    hedge_orders: str = "hedge_orders",
    sample_stats: str | None = None,
    samples: str = "book_samples",
    fills: str = "fills",
    excluded_reasons: tuple[str, ...] = (),
) -> str:
    """The SLA query (`period` is the bucket number: epoch seconds / period length).

    `bands=True` adds the median depth at 10/25/50/100/200 bps (the views
    carry them; the summary does not need ten more sorts). `hedge_orders` is
    the relation the saving is read from (`hedge_orders_relation`).
    `sample_stats` replaces the CTEs computing `sample_stats_flat` from the raw
    samples (`analytics.sla_rollup.merged_sample_stats`). `samples` and `fills` are
    the relations read (`samples_relation`, `relation_with`: older parts lack columns);
    samples whose breach reason is in `excluded_reasons` are left out of the shares.
    """
    period = f"epoch_ns(ts) // {PERIODS[by] * 1_000_000_000}" if by else _WHOLE_RANGE
    band_medians = "".join(f"\n        median({k}) as {k}," for k in BAND_KEYS) if bands else ""
    band_columns = "".join(f", s.{k}" for k in BAND_KEYS) if bands else ""
    if sample_stats is None:
        sample_stats = RAW_SAMPLE_STATS.format(
            where=where,
            period=period,
            band_medians=band_medians,
            graded=graded_sql(samples, excluded_reasons),
        )
    return SLA_SQL.format(
        sample_stats=sample_stats,
        where=where,
        where_orders=where_orders,
        period=period,
        band_columns=band_columns,
        hedge_orders=hedge_orders,
        fills=fills,
    )


QUALITY_COLUMNS: dict[str, str] = {
    "achieved_all_in_price": "double",
    "best_single_venue": "varchar",
    "best_single_all_in_price": "double",
    "optimum_all_in_price": "double",
    "saving_bps": "double",
}


def hedge_orders_relation(con: duckdb.DuckDBPyConnection) -> str:
    """`hedge_orders`, or a select adding the execution-quality columns as nulls when
    every part predates them (a view over old parts only lacks those columns)."""
    have = {row[0] for row in con.execute("describe hedge_orders").fetchall()}
    missing = [f"cast(null as {t}) as {c}" for c, t in QUALITY_COLUMNS.items() if c not in have]
    if not missing:
        return "hedge_orders"
    return f"(select *, {', '.join(missing)} from hedge_orders)"


def _where(
    market: str | None,
    start_ns: int | None,
    end_ns: int | None,
    run_id: str | None,
    config_hash: str | None,
    with_time: bool,
) -> str:
    clauses = ["true"]
    if market is not None:
        clauses.append("market = $market")
    if run_id is not None:
        clauses.append("run_id = $run_id")
    if config_hash is not None:
        clauses.append("config_hash = $config_hash")
    if with_time and start_ns is not None:
        clauses.append("epoch_ns(ts) >= $start_ns and date >= $start_date")
    if with_time and end_ns is not None:
        clauses.append("epoch_ns(ts) < $end_ns and date <= $end_date")
    return " and ".join(clauses)


def _params(
    market: str | None,
    start_ns: int | None,
    end_ns: int | None,
    run_id: str | None,
    config_hash: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if market is not None:
        params["market"] = market
    if run_id is not None:
        params["run_id"] = run_id
    if config_hash is not None:
        params["config_hash"] = config_hash
    if start_ns is not None:
        params["start_ns"] = start_ns
        params["start_date"] = _utc_date(start_ns)
    if end_ns is not None:
        params["end_ns"] = end_ns
        params["end_date"] = _utc_date(end_ns)
    return params


def _utc_date(ts_ns: int) -> str:
    """The `date` partition that holds `ts_ns`, so DuckDB prunes other days' files."""
    return datetime.fromtimestamp(ts_ns // _NS_PER_DAY * 86_400, tz=UTC).date().isoformat()


def _clean(
    row: dict[str, Any],
    *,
    period_s: int | None = None,
    exclusions: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if period_s is not None:
        start = datetime.fromtimestamp(int(row["period"]) * period_s, tz=UTC)
        out["period"] = start.isoformat()
    counts: dict[str, int] = dict(row.get("breach_counts") or {})
    samples = int(row.get("samples") or 0)
    row = {
        **row,
        "breach_reasons": _shares(counts, samples),
        "exclusions": {
            name: _share(sum(counts.get(r, 0) for r in reasons), samples)
            for name, reasons in (exclusions or {}).items()
        },
        "desk_pnl_bps": (
            row["pnl_quote"] / row["volume_quote"] * 1e4
            if row.get("pnl_quote") is not None and row.get("volume_quote")
            else None
        ),
    }
    for key in (*SLA_KEYS, *EXTRA_KEYS):
        value = row[key]
        if key in _MAP_KEYS:
            out[key] = value
            continue
        if value is None or key == "market":
            out[key] = value
        elif key in _INT_KEYS:
            out[key] = int(value)
        elif key in _BOOL_KEYS:
            out[key] = bool(value)
        else:
            out[key] = round(float(value), 4)
    return out


def _share(count: int, samples: int) -> float:
    return round(100.0 * count / samples, 4) if samples else 0.0


def _shares(counts: Mapping[str, int], samples: int) -> dict[str, float]:
    """Each breach reason's share of the samples (%), largest first."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {reason: _share(n, samples) for reason, n in ordered if n}
