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
  hedge cost (hedge fees in the quote asset plus slippage against the decision
  mid), desk PnL in bps of the fill notional, and the home exchange's taker-fee
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

_RAW_SAMPLE_STATS = """
bs as (
    select *, {period} as period from ({graded}) where {where}
),
sample_stats as (
    select
        market,
        period,
        count(*) as samples,
        count_if(sla_excluded) as excluded_samples,
        100.0 * count_if(quoting and not sla_excluded) / nullif(count_if(not sla_excluded), 0)
            as uptime_pct,
        -- spread_bps is null exactly when the book is not two-sided
        quantile_cont(spread_bps, [0.5, 0.95]) as spread_q,
        100.0 * count_if(spread_ok and not sla_excluded) / nullif(count_if(not sla_excluded), 0)
            as spread_within_target_pct,
        median(bid_depth_band) as bid_depth_median,
        median(ask_depth_band) as ask_depth_median,
        100.0 * count_if(depth_ok and not sla_excluded) / nullif(count_if(not sla_excluded), 0)
            as depth_within_target_pct,
        100.0 * count_if(spread_ok and depth_ok and not sla_excluded)
            / nullif(count_if(not sla_excluded), 0) as sla_met_pct,
        histogram(breach_reason) as breach_counts,
        -- the latest sample's targets and mid, in one pass (4 arg_max cost 3x)
        arg_max(
            {{'t': sla_target_spread_bps, 'd': sla_depth_target_quote, 'b': depth_band_bps,
              'e': sla_effective_target_spread_bps, 'm': case when mid > 0 then mid end}},
            epoch_ns(ts)
        ) as latest,{band_medians}
        100.0 * sum(coalesce(bot_bid_depth_band, 0) + coalesce(bot_ask_depth_band, 0))
            / nullif(sum(coalesce(bid_depth_band, 0) + coalesce(ask_depth_band, 0)), 0)
            as bot_share_pct
    from bs
    group by market, period
),
sample_stats_flat as (
    select * exclude (latest), latest.t as target_spread_bps, latest.d as depth_target_quote,
           latest.b as depth_band_bps, latest.e as effective_target_spread_bps,
           latest.m as last_mid
    from sample_stats
)"""

# `{sample_stats}` defines `sample_stats_flat`: from the raw samples or from rollups
_SLA_SQL = """
with
{sample_stats},
f as (select *, {period} as period from {fills} where {where}),
hf as (select *, {period} as period from hedge_fills where {where}),
ho as (select * from hedge_orders where {where_orders}),
hs as (
    select market, {period} as period, saving_bps, filled_amount
    from {hedge_orders} where {where} and saving_bps is not null and filled_amount > 0
),
fill_stats as (
    select
        market,
        period,
        count(*) as fills,
        sum(price * amount) as volume_quote,
        sum(amount) as volume_base,
        sum(case when side = 'buy' then -price * amount else price * amount end)
            - sum(case when coalesce(nullif(fee_currency, ''), split_part(market, '/', 2))
                            = split_part(market, '/', 2) then coalesce(fee, 0) else 0 end)
            as cash_quote,
        sum(case when side = 'buy' then amount else -amount end)
            - sum(case when fee_currency = split_part(market, '/', 1)
                       then coalesce(fee, 0) else 0 end) as position_base,
        arg_max(mid, ts) filter (where mid > 0) as last_fill_mid,
        -- what the fills earned against the reference mid at the fill
        sum(case when side = 'buy' then mid - price else price - mid end * amount)
            filter (where mid > 0) as spread_capture_quote,
        sum(taker_fee_quote) as home_taker_fee_quote
    from f
    group by market, period
),
hedge_stats as (
    select
        market,
        period,
        sum(amount) as hedged_base,
        sum(case when coalesce(nullif(fee_currency, ''), split_part(market, '/', 2))
                      = split_part(market, '/', 2) then coalesce(fee, 0) else 0 end)
            as hedge_fees_quote,
        sum(case when side = 'buy' then -coalesce(cost, price * amount)
                 else coalesce(cost, price * amount) end)
            - sum(case when coalesce(nullif(fee_currency, ''), split_part(market, '/', 2))
                            = split_part(market, '/', 2) then coalesce(fee, 0) else 0 end)
            as cash_quote,
        sum(case when side = 'buy' then amount else -amount end)
            - sum(case when fee_currency = split_part(market, '/', 1)
                       then coalesce(fee, 0) else 0 end) as position_base
    from hf
    group by market, period
),
decisions as (
    select run_id, client_order_id, any_value(decision_mid) as decision_mid
    from ho
    where client_order_id is not null and decision_mid > 0
    group by run_id, client_order_id
),
slippage as (
    select
        hf.market,
        hf.period,
        sum(hf.amount * case when hf.side = 'buy' then hf.price - d.decision_mid
                             else d.decision_mid - hf.price end / d.decision_mid * 1e4)
            / nullif(sum(hf.amount), 0) as hedge_slippage_bps,
        sum(hf.amount * case when hf.side = 'buy' then hf.price - d.decision_mid
                             else d.decision_mid - hf.price end) as hedge_slippage_quote
    from hf
    join decisions d on d.run_id = hf.run_id and d.client_order_id = hf.client_order_id
    group by hf.market, hf.period
),
saving as (
    select market, period,
           sum(saving_bps * filled_amount) / nullif(sum(filled_amount), 0) as hedge_saving_bps
    from hs group by market, period
),
markets as (
    select market, period from sample_stats_flat
    union
    select market, period from fill_stats
)
select
    m.market,
    m.period,
    coalesce(s.samples, 0) as samples,
    s.uptime_pct,
    s.spread_q[1] as spread_bps_p50,
    s.spread_q[2] as spread_bps_p95,
    s.spread_within_target_pct,
    s.bid_depth_median,
    s.ask_depth_median,
    s.depth_within_target_pct,
    s.target_spread_bps,
    s.effective_target_spread_bps,
    s.depth_target_quote,
    s.depth_band_bps,
    s.sla_met_pct,
    s.breach_counts,
    coalesce(s.excluded_samples, 0) as excluded_samples,
    coalesce(f.fills, 0) as fills,
    coalesce(f.volume_quote, 0.0) as volume_quote,
    case when coalesce(f.volume_base, 0) = 0 then 100.0
         else 100.0 * least(1.0, coalesce(h.hedged_base, 0) / f.volume_base) end as hedged_pct,
    -- fill volume that offset opposite fills, so neither needed a hedge: what is
    -- neither hedged nor still open (hedged + netted + open = 100 %)
    case when coalesce(f.volume_base, 0) = 0 then 0.0
         else 100.0 * greatest(0.0, f.volume_base - coalesce(h.hedged_base, 0)
                                    - abs(coalesce(f.position_base, 0)
                                          + coalesce(h.position_base, 0)))
              / f.volume_base end as netted_pct,
    coalesce(f.spread_capture_quote, 0.0) as spread_capture_quote,
    coalesce(h.hedge_fees_quote, 0.0) + coalesce(sl.hedge_slippage_quote, 0.0)
        as hedge_cost_quote,
    coalesce(f.home_taker_fee_quote, 0.0) as home_taker_fee_revenue_quote,
    sl.hedge_slippage_bps,
    sv.hedge_saving_bps,
    coalesce(f.cash_quote, 0) + coalesce(h.cash_quote, 0)
        + case when coalesce(f.position_base, 0) + coalesce(h.position_base, 0) = 0 then 0
               else (coalesce(f.position_base, 0) + coalesce(h.position_base, 0))
                    * coalesce(s.last_mid, f.last_fill_mid) end as pnl_quote,
    s.spread_q[1] > s.target_spread_bps as spread_breach,
    least(s.bid_depth_median, s.ask_depth_median) < s.depth_target_quote as depth_breach,
    s.bot_share_pct{band_columns}
from markets m
left join sample_stats_flat s using (market, period)
left join fill_stats f using (market, period)
left join hedge_stats h using (market, period)
left join slippage sl using (market, period)
left join saving sv using (market, period)
order by m.market, m.period
"""


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
        sample_stats = _RAW_SAMPLE_STATS.format(
            where=where,
            period=period,
            band_medians=band_medians,
            graded=graded_sql(samples, excluded_reasons),
        )
    return _SLA_SQL.format(
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
