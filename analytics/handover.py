"""The handover curve: the bot's share of the band's depth and the SLA, per market and day.

`handover` view, one row per run, market and UTC day of `book_samples`:

* `bot_share_pct`: the bot's depth within the market's band over everyone's,
  both sides, summed over the day's samples (a notional-weighted share, as
  `marketmesh sla` reports it).
* `spread_within_target_pct`, `depth_within_target_pct`, `uptime_pct`: as in
  `analytics.sla` (a sample without a two-sided book breaches the spread).
* `user_depth_quote`, `bot_depth_quote`: mean depth per side in band.
* `longest_depth_gap_samples`: the longest run of consecutive samples (of the
  run, across the day's start) with either side below the depth target: a
  withdrawal covered within one quote cycle shows 0 or 1 here.

`engine.handover.verify_handover` grades these rows for `check --market`.
"""

from __future__ import annotations

from typing import Any

import duckdb

HANDOVER_VIEW = """
create or replace view handover as
with b as (
    select
        run_id, market, ts, spread_bps, target_spread_bps, quoting,
        coalesce(bid_depth_band, 0) as bid, coalesce(ask_depth_band, 0) as ask,
        coalesce(bot_bid_depth_band, 0) as bot_bid, coalesce(bot_ask_depth_band, 0) as bot_ask,
        depth_target_quote,
        not (coalesce(bid_depth_band, 0) >= depth_target_quote
             and coalesce(ask_depth_band, 0) >= depth_target_quote) as below
    from book_samples
),
runs as (
    select *,
        row_number() over (partition by run_id, market order by ts)
        - row_number() over (partition by run_id, market, below order by ts) as island
    from b
),
gaps as (
    select run_id, market, island, count(*) as gap_samples, max(ts)::date as day
    from runs where below group by all
)
select
    d.run_id, d.market, d.day, d.samples, d.bot_share_pct, d.spread_within_target_pct,
    d.depth_within_target_pct, d.uptime_pct, d.user_depth_quote, d.bot_depth_quote,
    coalesce(g.longest, 0) as longest_depth_gap_samples
from (
    select
        run_id, market, ts::date as day, count(*) as samples,
        100.0 * sum(bot_bid + bot_ask) / nullif(sum(bid + ask), 0) as bot_share_pct,
        100.0 * count_if(spread_bps <= target_spread_bps) / count(*) as spread_within_target_pct,
        100.0 * count_if(not below) / count(*) as depth_within_target_pct,
        100.0 * count_if(quoting) / count(*) as uptime_pct,
        avg((bid - bot_bid + ask - bot_ask) / 2) as user_depth_quote,
        avg((bot_bid + bot_ask) / 2) as bot_depth_quote
    from b group by all
) d
left join (
    select run_id, market, day, max(gap_samples) as longest from gaps group by all
) g using (run_id, market, day)
"""

HANDOVER_KEYS: tuple[str, ...] = (
    "run_id",
    "market",
    "day",
    "samples",
    "bot_share_pct",
    "spread_within_target_pct",
    "depth_within_target_pct",
    "uptime_pct",
    "user_depth_quote",
    "bot_depth_quote",
    "longest_depth_gap_samples",
)


def create_handover_view(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(HANDOVER_VIEW)


def latest_run(con: duckdb.DuckDBPyConnection, market: str) -> str | None:
    """The run with the market's latest book sample."""
    row = con.execute(
        "select run_id from book_samples where market = $m order by ts desc limit 1", {"m": market}
    ).fetchone()
    return None if row is None else str(row[0])


def handover_curve(
    con: duckdb.DuckDBPyConnection, *, market: str | None = None, run_id: str | None = None
) -> list[dict[str, Any]]:
    """`handover` rows (day as ISO text, floats rounded to 4 places), by market and day."""
    clauses, params = ["true"], {}
    if market is not None:
        clauses.append("market = $m")
        params["m"] = market
    if run_id is not None:
        clauses.append("run_id = $r")
        params["r"] = run_id
    cursor = con.execute(
        f"select {', '.join(HANDOVER_KEYS)} from handover where {' and '.join(clauses)} "
        "order by market, run_id, day",
        params,
    )
    out = []
    for row in cursor.fetchall():
        rec = dict(zip(HANDOVER_KEYS, row, strict=True))
        rec["day"] = rec["day"].isoformat()
        for k, v in rec.items():
            if isinstance(v, float):
                rec[k] = round(v, 4)
        out.append(rec)
    return out


def handover_figure(go: Any, rows: list[dict[str, Any]], bot_share_max_pct: float | None) -> Any:
    """The handover curve: bot share of band depth and the SLA shares per day."""
    if not rows:
        return None
    days = [r["day"] for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=days, y=[r["bot_share_pct"] for r in rows], name="bot share of depth %")
    fig.add_scatter(
        x=days, y=[r["spread_within_target_pct"] for r in rows], name="spread within target %"
    )
    fig.add_scatter(
        x=days, y=[r["depth_within_target_pct"] for r in rows], name="depth within target %"
    )
    if bot_share_max_pct is not None:
        fig.add_scatter(
            x=days,
            y=[bot_share_max_pct] * len(days),
            name="handover level",
            line={"dash": "dash"},
        )
    return fig.update_layout(title="Handover: bot share and SLA per day (%)", height=320)
