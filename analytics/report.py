"""A self-contained HTML report per market from the dataset's derived views.

One file, plotly.js inlined, no network at view time: the report can be
mailed or archived as the record of a day's liquidity. Per market: spread and
depth over time against the configured target (the effective, widened target
dotted beside it), uptime, SLA compliance and its breach reasons, markouts,
the operator's economics per day (spread capture, hedge cost, desk PnL, the
home exchange's taker-fee revenue), SLA met against desk PnL per config version
when the dataset holds several (a sweep of target spreads: the frontier), PnL
decomposition, hedge quality and the handover curve (the bot's share of the
band's depth and the SLA per day, `analytics.handover`); the
figures come from `book_samples` graded as the SLA grades them
(`analytics.sla_samples`, bucketed to at most ~600 points per chart),
`markouts`, `pnl`, `hedge_quality` and `handover`.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import duckdb

from analytics.sla_samples import graded_sql, samples_relation


def build_report(con: duckdb.DuckDBPyConnection, *, title: str = "marketmesh liquidity") -> str:
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    markets = [
        r[0]
        for r in con.execute(
            "select distinct market from book_samples union select distinct market from fills "
            "order by 1"
        ).fetchall()
    ]
    sections = []
    for market in markets:
        figures = [
            *_time_figures(go, con, market),
            _breach_figure(go, con, market),
            _frontier_figure(go, con, market),
            _markout_figure(go, con, market),
            _pnl_figure(go, con, market),
            _hedge_figure(go, con, market),
            _handover_figure(go, con, market),
        ]
        summary = _summary_table(con, market) + _economics_table(con, market)
        body = "".join(
            f.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})
            for f in figures
            if f is not None
        )
        sections.append(f"<section><h2>{html.escape(market)}</h2>{summary}{body}</section>")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><script>{get_plotlyjs()}</script>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        ".breach{color:#b00;font-weight:bold}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>generated {generated}; "
        f"{len(markets)} markets</p>{''.join(sections) or '<p>no data</p>'}</body></html>"
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, market: str) -> list[tuple[Any, ...]]:
    return con.execute(sql, {"m": market}).fetchall()


_SERIES = """
with b as (
    select * from ({graded}) where market = $m
)
select
    to_timestamp((epoch_ns(ts) // $bucket_ns) * $bucket_ns / 1e9) as t,
    quantile_cont(spread_bps, 0.5), quantile_cont(spread_bps, 0.95),
    max(sla_target_spread_bps), max(sla_effective_target_spread_bps),
    median(bid_depth_band), median(ask_depth_band), max(sla_depth_target_quote),
    100.0 * count_if(quoting) / count(*),
    100.0 * count_if(spread_ok) / count(*),
    100.0 * count_if(depth_ok) / count(*)
from b group by 1 order by 1
"""
_MAX_POINTS = 600


def _series(con: duckdb.DuckDBPyConnection, market: str) -> list[tuple[Any, ...]]:
    """Book samples bucketed so a chart has at most ~600 points, whatever the span."""
    row = con.execute(
        "select min(epoch_ns(ts)), max(epoch_ns(ts)) from book_samples where market = $m",
        {"m": market},
    ).fetchone()
    if row is None or row[0] is None:
        return []
    span_ns = max(1, row[1] - row[0])
    bucket_ns = max(10**9, span_ns // _MAX_POINTS)  # never finer than a second
    sql = _SERIES.format(graded=graded_sql(samples_relation(con)))
    return con.execute(sql, {"m": market, "bucket_ns": bucket_ns}).fetchall()


def _lines(
    go: Any,
    title: str,
    t: Any,
    series: dict[str, Any],
    dashed: str = "",
    styles: dict[str, dict[str, Any]] | None = None,
) -> Any:
    fig = go.Figure()
    for name, ys in series.items():
        line = (styles or {}).get(name) or ({"dash": "dash"} if name == dashed else {})
        fig.add_scatter(x=t, y=ys, name=name, line=line)
    return fig.update_layout(title=title, height=320)


# uptime and the two compliance shares are often all 100 %: uptime is a wide pale band
# under two thin patterned lines, so each stays visible where they coincide
_COMPLIANCE_STYLES: dict[str, dict[str, Any]] = {
    "uptime": {"width": 8, "color": "rgba(44, 160, 44, 0.35)"},
    "spread within target": {"width": 2, "dash": "dash"},
    "depth within target": {"width": 2, "dash": "dot"},
}


def _time_figures(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> list[Any]:
    rows = _series(con, market)
    if not rows:
        return []
    t, p50, p95, target, effective, bid, ask, depth_target, up, spread_ok, depth_ok = zip(
        *rows, strict=True
    )
    spread = _lines(
        go,
        "Spread vs target (bps; the configured target, the effective one dotted)",
        t,
        {"spread p50": p50, "spread p95": p95, "target": target},
        dashed="target",
    )
    if any(e != c for e, c in zip(effective, target, strict=True)):
        spread.add_scatter(x=t, y=effective, name="effective target", line={"dash": "dot"})
    return [
        spread,
        _lines(
            go,
            "Depth in band vs target (quote)",
            t,
            {"bid depth": bid, "ask depth": ask, "target": depth_target},
            dashed="target",
        ),
        _lines(
            go,
            "Uptime and SLA compliance (%)",
            t,
            {"uptime": up, "spread within target": spread_ok, "depth within target": depth_ok},
            styles=_COMPLIANCE_STYLES,
        ).update_yaxes(range=[-2, 102]),
    ]


def _breach_figure(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> Any:
    """Share of samples per breach reason: why the SLA was missed, not only how often."""
    from analytics.sla import sla_summary

    rows = sla_summary(con, market=market)
    reasons = rows[0]["breach_reasons"] if rows else {}
    if not reasons:
        return None
    fig = go.Figure(go.Bar(x=list(reasons), y=list(reasons.values())))
    return fig.update_layout(title="SLA breaches by reason (% of samples)", height=300)


_MAX_CONFIGS = 50


def _frontier_figure(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> Any:
    """SLA met against desk PnL (bps of notional), one point per config version of the
    market in the dataset (e.g. a sweep of target spreads): the price of the SLA.
    Drawn only when the dataset holds at least two configs of the market."""
    from analytics.sla import sla_summary

    hashes = [
        r[0]
        for r in con.execute(
            "select config_hash from book_samples where market = $m group by 1 "
            "order by min(ts) limit $n",
            {"m": market, "n": _MAX_CONFIGS},
        ).fetchall()
    ]
    if len(hashes) < 2:
        return None
    points = []
    for h in hashes:
        rows = sla_summary(con, market=market, config_hash=h)
        if rows and rows[0]["sla_met_pct"] is not None and rows[0]["desk_pnl_bps"] is not None:
            r = rows[0]
            points.append((r["sla_met_pct"], r["desk_pnl_bps"], r["target_spread_bps"], h))
    if len(points) < 2:
        return None
    points.sort(key=lambda p: (p[2] or 0.0, p[3]))
    sla_met, pnl_bps, target, config_ids = zip(*points, strict=True)
    fig = go.Figure(
        go.Scatter(
            x=sla_met,
            y=pnl_bps,
            mode="markers+text",
            text=[f"{t:g} bps" for t in target],
            textposition="top center",
            customdata=config_ids,
            hovertemplate="config %{customdata}<br>SLA met %{x:.1f}%<br>"
            "desk PnL %{y:.2f} bps<extra></extra>",
        )
    )
    return fig.update_layout(
        title="SLA met vs desk PnL per config (target spread labelled)",
        xaxis_title="SLA met (% of samples)",
        yaxis_title="desk PnL (bps of notional)",
        height=340,
    )


def _economics_table(con: duckdb.DuckDBPyConnection, market: str) -> str:
    """Per day: what the market's liquidity cost the desk against what it earned the
    exchange (the `pnl` view)."""
    rows = con.execute(
        "select day, notional_quote, spread_capture_quote, hedge_cost_quote, "
        "total_pnl_quote, desk_pnl_bps, home_taker_fee_revenue_quote "
        "from pnl where market = $m order by day",
        {"m": market},
    ).fetchall()
    if not rows:
        return ""
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "day",
            "notional",
            "spread capture",
            "hedge cost",
            "desk PnL",
            "desk PnL bps",
            "exchange taker fees",
        )
    )
    body = "".join(
        "<tr>"
        + f"<td>{html.escape(str(r[0]))}</td>"
        + "".join(
            f"<td class='{'breach' if i in (3, 4) and v is not None and v < 0 else ''}'>"
            f"{'-' if v is None else f'{v:,.2f}'}</td>"
            for i, v in enumerate(r[1:], start=1)
        )
        + "</tr>"
        for r in rows
    )
    return f"<h3>Economics (quote asset)</h3><table><tr>{head}</tr>{body}</table>"


def _markout_figure(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> Any:
    row = con.execute(
        "select avg(effective_spread_bps), avg(realised_spread_1s_bps), "
        "avg(realised_spread_5s_bps), avg(realised_spread_60s_bps), count(*) "
        "from markouts where market = $m",
        {"m": market},
    ).fetchone()
    if row is None or not row[4]:
        return None
    labels = ["effective", "realised +1 s", "realised +5 s", "realised +60 s"]
    values = row[:4]  # None: no fill old enough for that horizon yet
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=[v if v is not None else 0 for v in values],
            text=[f"{v:.2f}" if v is not None else "n/a" for v in values],
            textposition="outside",
        )
    )
    return fig.update_layout(title=f"Markouts over {row[4]} fills (bps)", height=300)


def _pnl_figure(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> Any:
    row = con.execute(
        "select sum(spread_capture_quote), -sum(hedge_slippage_quote), -sum(hedge_fees_quote), "
        "-sum(home_fees_quote), sum(inventory_pnl_quote), sum(total_pnl_quote) "
        "from pnl where market = $m",
        {"m": market},
    ).fetchone()
    if row is None or row[5] is None:
        return None
    labels = ["spread capture", "hedge slippage", "hedge fees", "home fees", "inventory"]
    fig = go.Figure(
        go.Waterfall(
            x=[*labels, "total"],
            y=[*row[:5], row[5]],
            measure=["relative"] * 5 + ["total"],
        )
    )
    return fig.update_layout(title="PnL decomposition (quote)", height=320)


def _hedge_figure(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> Any:
    rows = _rows(
        con,
        "select fill_to_hedge_ms, slippage_bps from hedge_quality "
        "where market = $m and fill_to_hedge_ms is not null",
        market,
    )
    if not rows:
        return None
    latency, slippage = zip(*rows, strict=True)
    fig = go.Figure()
    fig.add_histogram(x=latency, name="fill -> hedge sent (ms)")
    fig.add_histogram(
        x=[s for s in slippage if s is not None], name="slippage (bps)", visible="legendonly"
    )
    return fig.update_layout(
        title=f"Hedge quality over {len(rows)} hedges",
        height=300,
        xaxis_title="fill -> hedge sent (ms); slippage (bps) when shown",
        yaxis_title="hedges",
    )


def _handover_figure(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> Any:
    """The latest run's handover curve, once it spans more than one day."""
    from analytics.handover import handover_curve, handover_figure, latest_run

    run = latest_run(con, market)
    rows = handover_curve(con, market=market, run_id=run) if run else []
    return handover_figure(go, rows, None) if len(rows) > 1 else None


def _summary_table(con: duckdb.DuckDBPyConnection, market: str) -> str:
    from analytics.render import breaches_text
    from analytics.sla import sla_summary

    rows = sla_summary(con, market=market)
    if not rows:
        return ""
    r = rows[0]
    cells = [
        ("uptime %", r["uptime_pct"], False),
        (
            "spread p50 / configured target (bps)",
            f"{r['spread_bps_p50']} / {r['target_spread_bps']}",
            bool(r["spread_breach"]),
        ),
        ("effective target (bps)", r["effective_target_spread_bps"], False),
        ("spread within target %", r["spread_within_target_pct"], False),
        ("depth within target %", r["depth_within_target_pct"], bool(r["depth_breach"])),
        ("SLA met %", r["sla_met_pct"], False),
        ("breaches (% of samples)", breaches_text(r), False),
        ("fills", r["fills"], False),
        ("hedged %", r["hedged_pct"], False),
        ("netted %", r["netted_pct"], False),
        ("hedge slippage (bps)", r["hedge_slippage_bps"], False),
        ("PnL (quote)", r["pnl_quote"], False),
    ]
    head = "".join(f"<th>{html.escape(k)}</th>" for k, _, _ in cells)
    body = "".join(
        f"<td class='{'breach' if bad else ''}'>{html.escape(str(v))}</td>" for _, v, bad in cells
    )
    return f"<table><tr>{head}</tr><tr>{body}</tr></table>"
