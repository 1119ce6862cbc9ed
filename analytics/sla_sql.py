"""The SQL text behind `analytics.sla`: per-sample stats and the per-market summary query.

Kept as templates in their own module so `sla.py` holds the Python that fills
and runs them (placeholders are filled by `sla.sla_sql`), and each stays short.
"""

RAW_SAMPLE_STATS = """
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
SLA_SQL = """
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
        -- fees in the quote asset, and those taken in the base asset at the fill's price
        sum(case when coalesce(nullif(fee_currency, ''), split_part(market, '/', 2))
                      = split_part(market, '/', 2) then coalesce(fee, 0)
                 when fee_currency = split_part(market, '/', 1) then coalesce(fee, 0) * price
                 else 0 end)
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
