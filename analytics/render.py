"""SLA summary for people (rich tables) and for machines (JSON).

Breach thresholds: the configured targets in each row decide spread and depth
(the effective, widened target is shown beside them when it differs); uptime
and the "within target" shares are held to `SLA_MIN_PCT`, the share of samples
an exchange typically promises its market makers; risk covered (hedged plus
netted) under `HEDGED_MIN_PCT` means inventory risk was left open. The
breaches column names the largest reasons and any exclusion's share of time.
The economics table is the operator's view: spread capture, hedge cost, the
desk's PnL and the home exchange's taker-fee revenue on the bot's fills.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

SLA_MIN_PCT = 95.0
HEDGED_MIN_PCT = 99.0
_BREACH = "bold red"


def sla_table(
    rows: Sequence[dict[str, Any]],
    *,
    wide: bool = False,
    period: bool = False,
    title: str = "Liquidity SLA",
) -> Table:
    """One line per market, or per market and period with `period` (a `period` column
    first); a cell that breaches its SLA is red. The default columns fit an 80-column
    terminal; `wide` adds samples, depth medians and slippage (~165 columns)."""
    table = Table(
        title=title,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    if period:
        table.add_column("period\n(UTC)", no_wrap=True)
    if wide or not period:
        table.add_column("market", no_wrap=True)
    for header, _ in _columns(wide):
        table.add_column(header, justify="right", no_wrap=True)
    for r in rows:
        cells: list[str | Text] = []
        if period:
            cells.append(r.get("period_label") or _period(r.get("period")))
        if wide or not period:
            cells.append(str(r["market"]))
        table.add_row(*cells, *(cell(r) for _, cell in _columns(wide)))
    return table


def sla_tables(rows: Sequence[dict[str, Any]], *, by: str, wide: bool = False) -> list[Table]:
    """Rows per market and period (`sla --by minute|hour|day`): one table per market (and
    UTC day, for minutes and hours: the period column then shows the time of day), so
    the period fits beside the figures in 80 columns; `wide`: one table, every column."""
    if wide:
        return [sla_table(rows, wide=True, period=True)]
    blocks: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        start = _period_start(r.get("period"))
        day = start.strftime("%Y-%m-%d") if start is not None and by != "day" else ""
        shown = start.strftime("%H:%M" if day else "%Y-%m-%d") if start is not None else "-"
        blocks.setdefault((str(r["market"]), day), []).append({**r, "period_label": shown})
    return [
        sla_table(
            block, period=True, title=f"Liquidity SLA: {market}" + (f", {day}" if day else "")
        )
        for (market, day), block in blocks.items()
    ]


def _period_start(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def _columns(wide: bool) -> list[tuple[str, Callable[[dict[str, Any]], str | Text]]]:
    """(header, cell) per column after the market; the short set unless `wide`."""
    spread = (
        ("spread p50/p95 bps (target)", _spread_p50_p95)
        if wide
        else ("spread\np50 (target)", _spread_p50)
    )
    columns: list[tuple[str, Callable[[dict[str, Any]], str | Text]]] = [
        ("uptime\n%", lambda r: _pct(r.get("uptime_pct"), SLA_MIN_PCT)),
        spread,
        ("spread\nok %", lambda r: _pct(r.get("spread_within_target_pct"), SLA_MIN_PCT)),
        ("depth\nok %", lambda r: _pct(r.get("depth_within_target_pct"), SLA_MIN_PCT)),
        ("SLA\nmet %", lambda r: _pct(r.get("sla_met_pct"), SLA_MIN_PCT)),
        ("fills", lambda r: str(r.get("fills", 0))),
        ("hedged\n%", _hedged),
        ("PnL\nquote", _pnl),
    ]
    if wide:
        columns.insert(0, ("samples", lambda r: str(r.get("samples", 0))))
        columns.insert(4, ("depth bid/ask (target)", _depth))
        columns.insert(-2, ("breaches % of samples", lambda r: breaches_text(r)))
        columns.insert(-1, ("netted %", lambda r: _num(r.get("netted_pct") or 0.0, 1)))
        columns.insert(-3, ("bot share %", lambda r: _num(r.get("bot_share_pct"), 1)))
        columns.insert(-1, ("slippage bps", lambda r: _num(r.get("hedge_slippage_bps"), 2)))
    return columns


def _hedged(r: dict[str, Any]) -> Text:
    """Hedged share; red only when hedged and netted together leave risk open."""
    hedged, netted = r.get("hedged_pct"), r.get("netted_pct") or 0.0
    covered = None if hedged is None else min(100.0, hedged + netted)
    return _cell(_num(hedged, 1), breach=_below(covered, HEDGED_MIN_PCT))


def _target(r: dict[str, Any]) -> str:
    """The configured target, and the effective one beside it when an action widened it."""
    target, effective = r.get("target_spread_bps"), r.get("effective_target_spread_bps")
    widened = effective is not None and target is not None and effective != target
    return _num(target, 1) + (f", eff {_num(effective, 1)}" if widened else "")


def _spread_p50(r: dict[str, Any]) -> Text:
    p50, target = r.get("spread_bps_p50"), r.get("target_spread_bps")
    return _cell(f"{_num(p50, 2)} ({_target(r)})", breach=_above(p50, target))


def _spread_p50_p95(r: dict[str, Any]) -> Text:
    p50, p95, target = r.get("spread_bps_p50"), r.get("spread_bps_p95"), r.get("target_spread_bps")
    return _cell(f"{_num(p50, 2)} / {_num(p95, 2)} ({_target(r)})", breach=_above(p50, target))


def _depth(r: dict[str, Any]) -> Text:
    target = r.get("depth_target_quote")
    bid, ask = r.get("bid_depth_median"), r.get("ask_depth_median")
    return _cell(
        f"{_num(bid, 0)} / {_num(ask, 0)} ({_num(target, 0)})",
        breach=_below(bid, target) or _below(ask, target),
    )


def _pnl(r: dict[str, Any]) -> Text:
    pnl = r.get("pnl_quote")
    return _cell(_num(pnl, 2), breach=pnl is not None and pnl < 0)


def _period(value: Any) -> str:
    """The period's start, UTC, to the minute (the rows carry it as ISO text)."""
    start = _period_start(value)
    if start is not None:
        return start.strftime("%Y-%m-%d %H:%M")
    return "-" if value is None else str(value)


def breaches_text(row: dict[str, Any], top: int = 3) -> str:
    """'vol_widen 1.2, one_sided 0.4; excl volatility_halt 0.3' (percent of samples)."""
    reasons = list((row.get("breach_reasons") or {}).items())
    text = ", ".join(f"{k} {v:.1f}" for k, v in reasons[:top])
    if len(reasons) > top:
        text += f", +{len(reasons) - top} more"
    excluded = row.get("exclusions") or {}
    if excluded:
        text += ("; " if text else "") + ", ".join(f"excl {k} {v:.1f}" for k, v in excluded.items())
    return text or "-"


def economics_table(rows: Sequence[dict[str, Any]]) -> Table:
    """The operator's economics per market (and period): what the liquidity cost the
    desk against what it earned the home exchange, in the quote asset."""
    table = Table(
        title="Economics (quote asset)",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("market", no_wrap=True)
    for header in (
        "notional",
        "spread\ncapture",
        "hedge\ncost",
        "desk\nPnL",
        "desk PnL\nbps",
        "exchange\ntaker fees",
    ):
        table.add_column(header, justify="right", no_wrap=True)
    for r in rows:
        pnl, bps = r.get("pnl_quote"), r.get("desk_pnl_bps")
        capture, hedge = r.get("spread_capture_quote"), r.get("hedge_cost_quote")
        table.add_row(
            str(r["market"]),
            _num(r.get("volume_quote"), 0),
            _num(capture, 2),
            _cell(_num(hedge, 2), breach=_above(hedge, capture)),
            _cell(_num(pnl, 2), breach=pnl is not None and pnl < 0),
            _cell(_num(bps, 2), breach=bps is not None and bps < 0),
            _num(r.get("home_taker_fee_revenue_quote"), 2),
        )
    return table


def sla_json(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a JSON array (None -> null), keys in SLA order."""
    return json.dumps(list(rows), indent=2, allow_nan=False)


def _num(value: float | None, places: int) -> str:
    return "-" if value is None else f"{value:,.{places}f}"


def _cell(text: str, *, breach: bool) -> Text:
    return Text(text, style=_BREACH if breach else "")


def _pct(value: float | None, minimum: float) -> Text:
    return _cell(pct_text(value), breach=_below(value, minimum))


def pct_text(value: float | None) -> str:
    """A percentage to one place, but never rounded up to 100: 99.98 reads 99.98 (an
    SLA kept 99.98 % of the time was breached for a while), 100 reads 100.0."""
    if value is None:
        return "-"
    text = f"{value:,.1f}"
    if value < 100 and text == "100.0":
        text = f"{math.floor(value * 100) / 100:.2f}"
    return text


def _below(value: float | None, bound: float | None) -> bool:
    return value is not None and bound is not None and value < bound


def _above(value: float | None, bound: float | None) -> bool:
    return value is not None and bound is not None and value > bound
