"""A self-contained HTML report per market from the dataset's derived views.

One file, plotly.js inlined, no network at view time: the report can be
mailed or archived as the record of a day's liquidity. Per market: spread and
depth over time against target, uptime, markouts, PnL decomposition and hedge
quality, and the handover curve (the bot's share of the band's depth and the
SLA per day, `analytics.handover`); the figures come from `book_samples`
(bucketed to at most ~600 points per chart), `markouts`, `pnl`,
`hedge_quality` and `handover`.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import duckdb


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
            _markout_figure(go, con, market),
            _pnl_figure(go, con, market),
            _hedge_figure(go, con, market),
            _handover_figure(go, con, market),
        ]
        summary = _summary_table(con, market)
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
    select * from book_samples where market = $m
),
span as (select min(epoch_ns(ts)) as t0, max(epoch_ns(ts)) as t1 from b)
select
    to_timestamp((epoch_ns(ts) // $bucket_ns) * $bucket_ns / 1e9) as t,
    quantile_cont(spread_bps, 0.5), quantile_cont(spread_bps, 0.95), max(target_spread_bps),
    median(bid_depth_band), median(ask_depth_band), max(depth_target_quote),
    100.0 * count_if(quoting) / count(*),
    100.0 * count_if(spread_bps <= target_spread_bps) / count(*),
    100.0 * count_if(bid_depth_band >= depth_target_quote
                     and ask_depth_band >= depth_target_quote) / count(*)
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
    return con.execute(_SERIES, {"m": market, "bucket_ns": bucket_ns}).fetchall()


def _lines(go: Any, title: str, t: Any, series: dict[str, Any], dashed: str = "") -> Any:
    fig = go.Figure()
    for name, ys in series.items():
        fig.add_scatter(x=t, y=ys, name=name, line={"dash": "dash"} if name == dashed else {})
    return fig.update_layout(title=title, height=320)


def _time_figures(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> list[Any]:
    rows = _series(con, market)
    if not rows:
        return []
    t, p50, p95, target, bid, ask, depth_target, up, spread_ok, depth_ok = zip(*rows, strict=True)
    return [
        _lines(
            go,
            "Spread vs target (bps)",
            t,
            {"spread p50": p50, "spread p95": p95, "target": target},
            dashed="target",
        ),
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
        ),
    ]


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
    fig = go.Figure(go.Bar(x=labels, y=[v if v is not None else 0 for v in row[:4]]))
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
    return fig.update_layout(title=f"Hedge quality over {len(rows)} hedges", height=300)


def _handover_figure(go: Any, con: duckdb.DuckDBPyConnection, market: str) -> Any:
    """The latest run's handover curve, once it spans more than one day."""
    from analytics.handover import handover_curve, handover_figure, latest_run

    run = latest_run(con, market)
    rows = handover_curve(con, market=market, run_id=run) if run else []
    return handover_figure(go, rows, None) if len(rows) > 1 else None


def _summary_table(con: duckdb.DuckDBPyConnection, market: str) -> str:
    from analytics.sla import sla_summary

    rows = sla_summary(con, market=market)
    if not rows:
        return ""
    r = rows[0]
    cells = [
        ("uptime %", r["uptime_pct"], False),
        (
            "spread p50 / target (bps)",
            f"{r['spread_bps_p50']} / {r['target_spread_bps']}",
            bool(r["spread_breach"]),
        ),
        ("spread within target %", r["spread_within_target_pct"], False),
        ("depth within target %", r["depth_within_target_pct"], bool(r["depth_breach"])),
        ("fills", r["fills"], False),
        ("hedged %", r["hedged_pct"], False),
        ("hedge slippage (bps)", r["hedge_slippage_bps"], False),
        ("PnL (quote)", r["pnl_quote"], False),
    ]
    head = "".join(f"<th>{html.escape(k)}</th>" for k, _, _ in cells)
    body = "".join(
        f"<td class='{'breach' if bad else ''}'>{html.escape(str(v))}</td>" for _, v, bad in cells
    )
    return f"<table><tr>{head}</tr><tr>{body}</tr></table>"
