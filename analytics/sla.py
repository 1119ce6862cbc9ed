"""The liquidity SLA per market, as DuckDB SQL over the dataset views.

Definitions (each sample of `book_samples` is one observation of the home book):

* uptime: share of samples in which the bot had live two-sided quotes.
* spread: percentiles (`quantile_cont`, linear interpolation) over samples with
  a two-sided book; "within target" is `spread_bps <= target_spread_bps` of that
  sample, and a sample without a two-sided book (or without a target) is a breach.
* depth: quote notional resting within the market's own band (`depth_band_bps`)
  of mid; "within target" needs both sides at or above `depth_target_quote`.
* hedged: hedge volume over fill volume in base, capped at 100 %.
* hedge slippage: execution price against the mid the router decided on, in bps,
  positive when worse (Perold 1988, "The implementation shortfall"),
  weighted by executed base amount.
* PnL: mark-to-market in the quote asset: signed quote cash flows of fills and
  hedge fills net of fees, plus the net base position at the last sampled mid.
  Fees in the quote asset (or with no currency, as the ledger books them) reduce
  cash, fees in the base asset reduce the position; fees in a third asset (e.g.
  a venue token) are not priced here.

Every sample carries its market's targets, so no config is needed; the targets
reported are the latest sample's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

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
    "depth_target_quote",
    "depth_band_bps",
    "fills",
    "volume_quote",
    "hedged_pct",
    "hedge_slippage_bps",
    "pnl_quote",
)
_INT_KEYS = frozenset({"samples", "fills"})
_NS_PER_DAY = 86_400 * 1_000_000_000

_SLA_SQL = """
with
bs as (select * from book_samples where {where}),
f as (select * from fills where {where}),
hf as (select * from hedge_fills where {where}),
ho as (select * from hedge_orders where {where}),
sample_stats as (
    select
        market,
        count(*) as samples,
        100.0 * avg(case when quoting then 1.0 else 0.0 end) as uptime_pct,
        quantile_cont(spread_bps, 0.5)
            filter (where best_bid is not null and best_ask is not null) as spread_bps_p50,
        quantile_cont(spread_bps, 0.95)
            filter (where best_bid is not null and best_ask is not null) as spread_bps_p95,
        100.0 * avg(
            case when best_bid is not null and best_ask is not null
                      and spread_bps <= target_spread_bps then 1.0 else 0.0 end
        ) as spread_within_target_pct,
        median(bid_depth_band) as bid_depth_median,
        median(ask_depth_band) as ask_depth_median,
        100.0 * avg(
            case when bid_depth_band >= depth_target_quote
                      and ask_depth_band >= depth_target_quote then 1.0 else 0.0 end
        ) as depth_within_target_pct,
        arg_max(target_spread_bps, ts) as target_spread_bps,
        arg_max(depth_target_quote, ts) as depth_target_quote,
        arg_max(depth_band_bps, ts) as depth_band_bps,
        arg_max(mid, ts) filter (where mid > 0) as last_mid
    from bs
    group by market
),
fill_stats as (
    select
        market,
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
        arg_max(mid, ts) filter (where mid > 0) as last_fill_mid
    from f
    group by market
),
hedge_stats as (
    select
        market,
        sum(amount) as hedged_base,
        sum(case when side = 'buy' then -coalesce(cost, price * amount)
                 else coalesce(cost, price * amount) end)
            - sum(case when coalesce(nullif(fee_currency, ''), split_part(market, '/', 2))
                            = split_part(market, '/', 2) then coalesce(fee, 0) else 0 end)
            as cash_quote,
        sum(case when side = 'buy' then amount else -amount end)
            - sum(case when fee_currency = split_part(market, '/', 1)
                       then coalesce(fee, 0) else 0 end) as position_base
    from hf
    group by market
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
        sum(hf.amount * case when hf.side = 'buy' then hf.price - d.decision_mid
                             else d.decision_mid - hf.price end / d.decision_mid * 1e4)
            / nullif(sum(hf.amount), 0) as hedge_slippage_bps
    from hf
    join decisions d on d.run_id = hf.run_id and d.client_order_id = hf.client_order_id
    group by hf.market
),
markets as (
    select market from sample_stats
    union
    select market from fill_stats
)
select
    m.market,
    coalesce(s.samples, 0) as samples,
    s.uptime_pct,
    s.spread_bps_p50,
    s.spread_bps_p95,
    s.spread_within_target_pct,
    s.bid_depth_median,
    s.ask_depth_median,
    s.depth_within_target_pct,
    s.target_spread_bps,
    s.depth_target_quote,
    s.depth_band_bps,
    coalesce(f.fills, 0) as fills,
    coalesce(f.volume_quote, 0.0) as volume_quote,
    case when coalesce(f.volume_base, 0) = 0 then 100.0
         else 100.0 * least(1.0, coalesce(h.hedged_base, 0) / f.volume_base) end as hedged_pct,
    sl.hedge_slippage_bps,
    coalesce(f.cash_quote, 0) + coalesce(h.cash_quote, 0)
        + case when coalesce(f.position_base, 0) + coalesce(h.position_base, 0) = 0 then 0
               else (coalesce(f.position_base, 0) + coalesce(h.position_base, 0))
                    * coalesce(s.last_mid, f.last_fill_mid) end as pnl_quote
from markets m
left join sample_stats s using (market)
left join fill_stats f using (market)
left join hedge_stats h using (market)
left join slippage sl using (market)
order by m.market
"""


def sla_summary(
    con: duckdb.DuckDBPyConnection,
    *,
    market: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    run_id: str | None = None,
    config_hash: str | None = None,
) -> list[dict[str, Any]]:
    """One SLA row per market (sorted by market), over `[start_ns, end_ns)` if given.

    `con` has the dataset views (`analytics.views.connect`). Floats are rounded
    to 4 places; a figure with no observation behind it is None. Without a
    sample whose mid is known, an open position cannot be marked and PnL falls
    back to the last fill's reference mid.
    """
    clauses = ["true"]
    params: dict[str, Any] = {}
    if market is not None:
        clauses.append("market = $market")
        params["market"] = market
    if run_id is not None:
        clauses.append("run_id = $run_id")
        params["run_id"] = run_id
    if config_hash is not None:
        clauses.append("config_hash = $config_hash")
        params["config_hash"] = config_hash
    if start_ns is not None:
        clauses.append("epoch_ns(ts) >= $start_ns and date >= $start_date")
        params["start_ns"] = start_ns
        params["start_date"] = _utc_date(start_ns)
    if end_ns is not None:
        clauses.append("epoch_ns(ts) < $end_ns and date <= $end_date")
        params["end_ns"] = end_ns
        params["end_date"] = _utc_date(end_ns)
    sql = _SLA_SQL.format(where=" and ".join(clauses))
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [_clean(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _utc_date(ts_ns: int) -> str:
    """The `date` partition that holds `ts_ns`, so DuckDB prunes other days' files."""
    return datetime.fromtimestamp(ts_ns // _NS_PER_DAY * 86_400, tz=UTC).date().isoformat()


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in SLA_KEYS:
        value = row[key]
        if value is None or key == "market":
            out[key] = value
        elif key in _INT_KEYS:
            out[key] = int(value)
        else:
            out[key] = round(float(value), 4)
    return out
