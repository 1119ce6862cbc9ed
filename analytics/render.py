"""SLA summary for people (a rich table) and for machines (JSON).

Breach thresholds: the targets in each row decide spread and depth; uptime and
the "within target" shares are held to `SLA_MIN_PCT`, the share of samples an
exchange typically promises its market makers; a hedge ratio under
`HEDGED_MIN_PCT` means inventory risk was left open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

SLA_MIN_PCT = 95.0
HEDGED_MIN_PCT = 99.0
_BREACH = "bold red"


def sla_table(rows: Sequence[dict[str, Any]]) -> Table:
    """One line per market; a cell that breaches its SLA is red."""
    table = Table(title="Liquidity SLA", header_style="bold")
    table.add_column("market")
    for header in (
        "samples",
        "uptime %",
        "spread p50/p95 bps (target)",
        "within target %",
        "depth bid/ask (target)",
        "depth ok %",
        "bot share %",
        "fills",
        "hedged %",
        "slippage bps",
        "PnL quote",
    ):
        table.add_column(header, justify="right")
    for r in rows:
        target = r.get("target_spread_bps")
        p50, p95 = r.get("spread_bps_p50"), r.get("spread_bps_p95")
        depth_target = r.get("depth_target_quote")
        bid, ask = r.get("bid_depth_median"), r.get("ask_depth_median")
        pnl = r.get("pnl_quote")
        table.add_row(
            str(r["market"]),
            str(r.get("samples", 0)),
            _pct(r.get("uptime_pct"), SLA_MIN_PCT),
            _cell(
                f"{_num(p50, 2)} / {_num(p95, 2)} ({_num(target, 1)})",
                breach=_above(p50, target),
            ),
            _pct(r.get("spread_within_target_pct"), SLA_MIN_PCT),
            _cell(
                f"{_num(bid, 0)} / {_num(ask, 0)} ({_num(depth_target, 0)})",
                breach=_below(bid, depth_target) or _below(ask, depth_target),
            ),
            _pct(r.get("depth_within_target_pct"), SLA_MIN_PCT),
            _num(r.get("bot_share_pct"), 1),
            str(r.get("fills", 0)),
            _pct(r.get("hedged_pct"), HEDGED_MIN_PCT),
            _num(r.get("hedge_slippage_bps"), 2),
            _cell(_num(pnl, 2), breach=pnl is not None and pnl < 0),
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
    return _cell(_num(value, 1), breach=_below(value, minimum))


def _below(value: float | None, bound: float | None) -> bool:
    return value is not None and bound is not None and value < bound


def _above(value: float | None, bound: float | None) -> bool:
    return value is not None and bound is not None and value > bound
