"""Derived DuckDB views on top of the table views: the questions analysts ask.

* `sla_minutely` / `sla_hourly` / `sla_daily`: the SLA summary per market and
  UTC period, target, actual and breach flags side by side (`analytics.sla`).
* `markouts`: each fill against the reference mid 1 s, 5 s and 60 s later:
  effective spread (what the fill earned against the reference mid at the fill)
  and realised spread (what was left once that mid moved); adverse selection is
  their difference, effective - realised, so a positive value is what the
  informed side took from the bot (Glosten & Harris 1988; see also Hasbrouck
  2007, ch. 5). Both ends use the same basis, the reference mid (the fill's
  `mid` and the sample's `reference_mid`): the home book's own mid is skewed
  by the bot's quotes. Samples written before `reference_mid` existed fall back
  to their book mid.
* `pnl`: per market and day, the operator's economics: spread capture, hedge
  cost (slippage against the decision mid, and fees), home fees, inventory PnL
  as the rest of the mark-to-market total (the desk's PnL, `total_pnl_quote`,
  also in bps of the fill notional), and the home exchange's taker-fee revenue
  on the fills against the bot (`home_taker_fee_revenue_quote`): what the
  market's liquidity costs the desk against what it earns the exchange. A fee
  charged in the base asset (Binance takes a buyer's fee from what it bought)
  leaves the position, as the SLA summary books it, and counts in the fee
  columns at its fill's price; a fee in a third asset is not priced.
* `hedge_quality`: per hedge: fill -> first child order latency, executed
  amount, slippage against the decision mid, and execution quality: the all-in
  price achieved against the best single venue and the optimum split at
  decision time (`engine.routing.quality`), `saving_bps` against the best
  single venue (> 0: the router did better). TWAP slices of one hedge are
  weighted by executed amount.
"""

from __future__ import annotations

import duckdb

from analytics.sla import FILL_ADDED_COLUMNS, PERIODS, hedge_orders_relation, sla_sql
from analytics.sla_samples import relation_with, samples_relation

MARKOUTS = """
create or replace view markouts as
with f as (
    select *, case when side = 'buy' then 1 else -1 end as sgn from fills
),
b as (
    select market, ts, coalesce(reference_mid, mid) as ref_mid from {samples}
    where coalesce(reference_mid, mid) > 0
),
m1 as (
    select f.fill_id, b.ref_mid as mid_1s from f asof left join b
    on b.market = f.market and b.ts >= f.ts + interval 1 second
),
m5 as (
    select f.fill_id, b.ref_mid as mid_5s from f asof left join b
    on b.market = f.market and b.ts >= f.ts + interval 5 second
),
m60 as (
    select f.fill_id, b.ref_mid as mid_60s from f asof left join b
    on b.market = f.market and b.ts >= f.ts + interval 60 second
)
select
    f.ts, f.run_id, f.config_hash, f.market, f.fill_id, f.side, f.price, f.amount, f.mid,
    m1.mid_1s, m5.mid_5s, m60.mid_60s,
    f.sgn * (f.mid - f.price) / f.mid * 1e4 as effective_spread_bps,
    f.sgn * (m1.mid_1s - f.price) / f.mid * 1e4 as realised_spread_1s_bps,
    f.sgn * (m5.mid_5s - f.price) / f.mid * 1e4 as realised_spread_5s_bps,
    f.sgn * (m60.mid_60s - f.price) / f.mid * 1e4 as realised_spread_60s_bps,
    -- effective - realised_5s: > 0 when the mid moved against the bot after the fill
    f.sgn * (f.mid - m5.mid_5s) / f.mid * 1e4 as adverse_selection_5s_bps
from f
left join m1 using (fill_id)
left join m5 using (fill_id)
left join m60 using (fill_id)
"""

# a fill's fee by currency (`{p}`: the table alias): in the quote asset (or with no
# currency, as the ledger books it), in the base asset, and valued in the quote asset
_QUOTE_FEE = (
    "case when coalesce(nullif({p}fee_currency, ''), split_part({p}market, '/', 2))"
    " = split_part({p}market, '/', 2) then coalesce({p}fee, 0) else 0 end"
)
_BASE_FEE = (
    "case when {p}fee_currency = split_part({p}market, '/', 1) then coalesce({p}fee, 0) else 0 end"
)
_FEE_VALUE = "(" + _QUOTE_FEE + " + " + _BASE_FEE + " * {p}price)"

PNL = """
create or replace view pnl as
with days as (
    select market, ts::date as day from fills
    union select market, ts::date from hedge_fills
),
fill_day as (
    select
        market, ts::date as day,
        sum(case when side = 'buy' then (mid - price) else (price - mid) end * amount)
            filter (where mid > 0) as spread_capture_quote,
        sum({fee_value}) as home_fees_quote,
        sum(price * amount) as notional_quote,
        sum(taker_fee_quote) as home_taker_fee_revenue_quote,
        sum(case when side = 'buy' then -price * amount else price * amount end)
            - sum({quote_fee}) as cash,
        sum(case when side = 'buy' then amount else -amount end) - sum({base_fee}) as position
    from {fills} group by all
),
decisions as (
    select run_id, client_order_id, any_value(decision_mid) as decision_mid
    from hedge_orders where client_order_id is not null and decision_mid > 0 group by all
),
hedge_day as (
    select
        hf.market, hf.ts::date as day,
        sum(case when hf.side = 'buy' then hf.price - d.decision_mid
                 else d.decision_mid - hf.price end * hf.amount) as hedge_slippage_quote,
        sum({hf_fee_value}) as hedge_fees_quote,
        sum(case when hf.side = 'buy' then -coalesce(hf.cost, hf.price * hf.amount)
                 else coalesce(hf.cost, hf.price * hf.amount) end) - sum({hf_quote_fee}) as cash,
        sum(case when hf.side = 'buy' then hf.amount else -hf.amount end)
            - sum({hf_base_fee}) as position
    from hedge_fills hf left join decisions d using (run_id, client_order_id)
    group by all
),
marks as (
    select market, ts::date as day, arg_max(mid, ts) as last_mid
    from book_samples where mid > 0 group by all
)
select
    d.market, d.day,
    coalesce(f.spread_capture_quote, 0) as spread_capture_quote,
    coalesce(h.hedge_slippage_quote, 0) as hedge_slippage_quote,
    coalesce(h.hedge_fees_quote, 0) as hedge_fees_quote,
    coalesce(f.home_fees_quote, 0) as home_fees_quote,
    coalesce(f.cash, 0) + coalesce(h.cash, 0)
        + (coalesce(f.position, 0) + coalesce(h.position, 0)) * coalesce(mk.last_mid, 0)
        as total_pnl_quote,
    total_pnl_quote - spread_capture_quote + hedge_slippage_quote + hedge_fees_quote
        + home_fees_quote as inventory_pnl_quote,
    hedge_slippage_quote + hedge_fees_quote as hedge_cost_quote,
    coalesce(f.notional_quote, 0) as notional_quote,
    total_pnl_quote / nullif(f.notional_quote, 0) * 1e4 as desk_pnl_bps,
    coalesce(f.home_taker_fee_revenue_quote, 0) as home_taker_fee_revenue_quote
from days d
left join fill_day f using (market, day)
left join hedge_day h using (market, day)
left join marks mk using (market, day)
order by d.market, d.day
"""

HEDGE_QUALITY = """
create or replace view hedge_quality as
with orders as (
    select hedge_id, any_value(market) as market, any_value(source_fill_id) as source_fill_id,
           any_value(side) as side, any_value(best_single_venue) as best_single_venue,
           min(ts) filter (where venue is not null) as first_sent,
           sum(amount) as requested, sum(filled_amount) as filled,
           string_agg(distinct venue, ',') as venues,
           string_agg(distinct status, ',') as statuses,
           count(distinct client_order_id) as child_orders,
           {weighted}
    from {hedge_orders} group by hedge_id
),
execs as (
    select hf.hedge_id,
           sum(hf.amount * case when hf.side = 'buy' then hf.price - d.decision_mid
                                else d.decision_mid - hf.price end / d.decision_mid * 1e4)
               / nullif(sum(hf.amount), 0) as slippage_bps,
           sum(coalesce(hf.cost, hf.price * hf.amount)) / nullif(sum(hf.amount), 0) as vwap,
           sum(coalesce(hf.fee, 0)) as fees_quote
    from hedge_fills hf
    join (select run_id, client_order_id, any_value(decision_mid) as decision_mid
          from hedge_orders where client_order_id is not null and decision_mid > 0
          group by all) d using (run_id, client_order_id)
    group by hf.hedge_id
)
select
    o.hedge_id, o.market, o.source_fill_id, f.ts as fill_ts, o.first_sent,
    (epoch_ns(o.first_sent) - epoch_ns(f.ts)) / 1e6 as fill_to_hedge_ms,
    (epoch_ns(o.first_sent) - epoch_ns(f.seen_ts)) / 1e6 as seen_to_hedge_ms,
    o.requested, o.filled, o.venues, o.statuses, e.vwap, e.slippage_bps, e.fees_quote,
    o.child_orders, o.best_single_venue, o.achieved_all_in_price, o.best_single_all_in_price,
    o.optimum_all_in_price, o.saving_bps,
    case when o.side = 'buy' then 1 else -1 end
        * (o.optimum_all_in_price - o.achieved_all_in_price) / o.optimum_all_in_price * 1e4
        as vs_optimum_bps
from orders o
left join fills f on f.fill_id = o.source_fill_id
left join execs e using (hedge_id)
"""


_WEIGHTED = (
    "achieved_all_in_price",
    "best_single_all_in_price",
    "optimum_all_in_price",
    "saving_bps",
)


def create_derived_views(con: duckdb.DuckDBPyConnection) -> None:
    samples = samples_relation(con)
    fills = relation_with(con, "fills", FILL_ADDED_COLUMNS)
    for name, by in (("sla_minutely", "minute"), ("sla_hourly", "hour"), ("sla_daily", "day")):
        seconds = PERIODS[by]
        sql = sla_sql(
            by=by,
            bands=True,
            hedge_orders=hedge_orders_relation(con),
            samples=samples,
            fills=fills,
        )
        con.execute(
            f"create or replace view {name} as select * replace "
            f"(to_timestamp(period * {seconds}) as period) from ({sql})"
        )
    hedge_quality = HEDGE_QUALITY.format(
        hedge_orders=hedge_orders_relation(con),
        weighted=",\n           ".join(
            f"sum({c} * filled_amount) filter (where {c} is not null and filled_amount > 0)"
            f" / nullif(sum(filled_amount) filter (where {c} is not null and filled_amount > 0),"
            f" 0) as {c}"
            for c in _WEIGHTED
        ),
    )
    markouts = MARKOUTS.format(samples=samples)
    pnl = PNL.format(
        fills=fills,
        quote_fee=_QUOTE_FEE.format(p=""),
        base_fee=_BASE_FEE.format(p=""),
        fee_value=_FEE_VALUE.format(p=""),
        hf_quote_fee=_QUOTE_FEE.format(p="hf."),
        hf_base_fee=_BASE_FEE.format(p="hf."),
        hf_fee_value=_FEE_VALUE.format(p="hf."),
    )
    for ddl in (markouts, pnl, hedge_quality):
        con.execute(ddl)
