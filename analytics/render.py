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
        "SLA met %",
        "breaches % of samples",
        "fills",
        "hedged %",
        "netted %",
        "slippage bps",
        "PnL quote",
    ):
        table.add_column(header, justify="right", overflow="fold")
    for r in rows:
        target = r.get("target_spread_bps")
        effective = r.get("effective_target_spread_bps")
        shown_target = _num(target, 1) + (
            f", eff {_num(effective, 1)}"
            if effective is not None and target is not None and effective != target
            else ""
        )
        hedged, netted = r.get("hedged_pct"), r.get("netted_pct") or 0.0
        covered = None if hedged is None else min(100.0, hedged + netted)
        p50, p95 = r.get("spread_bps_p50"), r.get("spread_bps_p95")
        depth_target = r.get("depth_target_quote")
        bid, ask = r.get("bid_depth_median"), r.get("ask_depth_median")
        pnl = r.get("pnl_quote")
        table.add_row(
            str(r["market"]),
            str(r.get("samples", 0)),
            _pct(r.get("uptime_pct"), SLA_MIN_PCT),
            _cell(
                f"{_num(p50, 2)} / {_num(p95, 2)} ({shown_target})",
                breach=_above(p50, target),
            ),
            _pct(r.get("spread_within_target_pct"), SLA_MIN_PCT),
            _cell(
                f"{_num(bid, 0)} / {_num(ask, 0)} ({_num(depth_target, 0)})",
                breach=_below(bid, depth_target) or _below(ask, depth_target),
            ),
            _pct(r.get("depth_within_target_pct"), SLA_MIN_PCT),
            _pct(r.get("sla_met_pct"), SLA_MIN_PCT),
            breaches_text(r),
            str(r.get("fills", 0)),
            _cell(_num(hedged, 1), breach=_below(covered, HEDGED_MIN_PCT)),
            _num(netted, 1),
            _num(r.get("hedge_slippage_bps"), 2),
            _cell(_num(pnl, 2), breach=pnl is not None and pnl < 0),
        )
    return table


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
    table = Table(title="Economics (quote asset)", header_style="bold")
    table.add_column("market")
    for header in (
        "notional",
        "spread capture",
        "hedge cost",
        "desk PnL",
        "desk PnL bps",
        "exchange taker fees",
    ):
        table.add_column(header, justify="right")
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
    return _cell(_num(value, 1), breach=_below(value, minimum))


def _below(value: float | None, bound: float | None) -> bool:
    return value is not None and bound is not None and value < bound


def _above(value: float | None, bound: float | None) -> bool:
    return value is not None and bound is not None and value > bound
