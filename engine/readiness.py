"""The readiness / morning checklist as pure rules: inputs in, pass/warn/fail out.

`marketmesh check` gathers the inputs (venues through ccxt, the Parquet
dataset through DuckDB) and prints these results; a single `fail` makes it
exit non-zero, so the checklist can gate a deploy or page someone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from engine.config import AppConfig, MarketConfig, MarketStage
from engine.routing.planner import HEDGE_ORDER_PREFIX


class CheckStatus(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    subject: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True, slots=True)
class SlaLimits:
    """What 'ready' means for a market's day; warn below the first, fail below the second."""

    uptime_pct: tuple[float, float] = (99.0, 95.0)
    spread_within_target_pct: tuple[float, float] = (95.0, 90.0)
    depth_within_target_pct: tuple[float, float] = (90.0, 75.0)
    hedged_pct: tuple[float, float] = (99.5, 98.0)


STAGE_LIMITS: dict[MarketStage, SlaLimits] = {
    # a new book: it must be there, not yet perfect
    MarketStage.BOOTSTRAP: SlaLimits((95.0, 90.0), (90.0, 80.0), (50.0, 25.0), (99.0, 97.0)),
    # routed depth: depth is the point of the stage
    MarketStage.ROUTING: SlaLimits((98.0, 95.0), (90.0, 85.0), (90.0, 80.0), (99.5, 98.0)),
    # flagship quality: tight everywhere
    MarketStage.FLAGSHIP: SlaLimits((99.5, 99.0), (99.0, 97.0), (95.0, 90.0), (99.9, 99.5)),
    MarketStage.AGGREGATION: SlaLimits((99.5, 99.0), (99.0, 97.0), (95.0, 90.0), (99.5, 99.0)),
    # users carry the book: the bot only backstops it
    MarketStage.HANDOVER: SlaLimits((95.0, 90.0), (95.0, 90.0), (90.0, 80.0), (99.0, 97.0)),
}

NEXT_STAGE: dict[MarketStage, MarketStage | None] = {
    MarketStage.BOOTSTRAP: MarketStage.ROUTING,
    MarketStage.ROUTING: MarketStage.FLAGSHIP,
    MarketStage.FLAGSHIP: MarketStage.AGGREGATION,
    MarketStage.AGGREGATION: MarketStage.HANDOVER,
    MarketStage.HANDOVER: None,
}


def limits_for(stage: MarketStage | None, default: SlaLimits) -> SlaLimits:
    return STAGE_LIMITS[stage] if stage is not None else default


def _grade(value: float | None, warn_below: float, fail_below: float) -> CheckStatus:
    if value is None or value < fail_below:
        return CheckStatus.FAIL
    return CheckStatus.WARN if value < warn_below else CheckStatus.PASS


def check_sla(
    rows: Sequence[Mapping[str, Any]],
    config: AppConfig,
    period: str,
    limits: SlaLimits = SlaLimits(),
) -> list[CheckResult]:
    """Each configured market's SLA figures for `period` against its stage's limits
    (or `limits` for a market without a stage).

    The figures are graded against the targets the run was configured with
    (`analytics.sla_samples`); a dataset whose recorded target differs from this
    config's (another config version, or rows written before the configured
    target was recorded, which may hold a widened one) warns, naming both. A
    breach's reasons and any exclusion are named in the detail. Risk covered is
    hedged plus netted (fills offsetting fills): under net or hybrid hedging the
    hedged share alone is not the risk left open.
    """
    by_market = {r["market"]: r for r in rows}
    out: list[CheckResult] = []
    default = limits
    for m in config.markets:
        limits = limits_for(m.stage, default)
        row = by_market.get(m.symbol)
        if row is None or not row.get("samples"):
            out.append(
                CheckResult("sla", m.symbol, CheckStatus.FAIL, f"no book samples for {period}")
            )
            continue
        recorded = row.get("target_spread_bps")
        if recorded is not None and abs(recorded - m.target_spread_bps) > 1e-9:
            out.append(
                CheckResult(
                    "sla.target",
                    m.symbol,
                    CheckStatus.WARN,
                    f"graded against the {recorded:g} bps the run recorded; "
                    f"this config's target is {m.target_spread_bps:g} bps",
                )
            )
        figures = _grade_figures(m, row, limits, period)
        out += figures
        grades = [r.status for r in figures]
        reasons = _reasons(row)
        if reasons:  # why, graded as the worst of the figures above
            worst = max(grades, key=[CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL].index)
            met = row.get("sla_met_pct")
            out.append(
                CheckResult(
                    "sla.breaches",
                    m.symbol,
                    worst,
                    ("" if met is None else f"SLA met {met:.2f}%; ") + reasons,
                )
            )
        if row.get("fills"):
            out.append(_risk_covered(m.symbol, row, limits))
    return out


def _grade_figures(
    m: MarketConfig, row: Mapping[str, Any], limits: SlaLimits, period: str
) -> list[CheckResult]:
    """Uptime, spread and depth within target against the stage's limits (the breach
    line after them is graded as their worst)."""
    out = []
    for key in ("uptime_pct", "spread_within_target_pct", "depth_within_target_pct"):
        warn, fail = getattr(limits, key)
        value = row.get(key)
        target = (
            f" of {m.target_spread_bps:g} bps"
            if key == "spread_within_target_pct"
            else (
                f" of {m.depth_target_quote:,.0f}"
                if key == "depth_within_target_pct" and m.depth_target_quote
                else ""
            )
        )
        out.append(
            CheckResult(
                f"sla.{key}",
                m.symbol,
                _grade(value, warn, fail),
                f"{value}%{target} over {period} (warn < {warn:g}, fail < {fail:g})",
            )
        )
    return out


def _risk_covered(symbol: str, row: Mapping[str, Any], limits: SlaLimits) -> CheckResult:
    """Hedged plus netted share of the fills: under net or hybrid hedging the hedged
    share alone is not the risk left open."""
    warn, fail = limits.hedged_pct
    hedged = row.get("hedged_pct")
    netted = float(row.get("netted_pct") or 0.0)
    value = None if hedged is None else min(100.0, hedged + netted)
    return CheckResult(
        "sla.hedged_pct",
        symbol,
        _grade(value, warn, fail),
        f"{hedged}% hedged + {netted:g}% netted of {row['fills']} fills "
        f"(warn < {warn:g}, fail < {fail:g})",
    )


def _reasons(row: Mapping[str, Any]) -> str:
    """'breaches: vol_widen 1.20%, ...; excluded: volatility_halt 0.50%' (or '')."""
    parts = []
    reasons = row.get("breach_reasons") or {}
    if reasons:
        parts.append("breaches: " + ", ".join(f"{k} {v:.2f}%" for k, v in reasons.items()))
    excluded = row.get("exclusions") or {}
    if excluded:
        parts.append("excluded: " + ", ".join(f"{k} {v:.2f}%" for k, v in excluded.items()))
    return "; ".join(parts)


def check_economics(rows: Sequence[Mapping[str, Any]]) -> list[CheckResult]:
    """What each market's liquidity cost the desk against what it earned the exchange:
    spread capture, hedge cost, desk PnL (bps of notional) and the home exchange's
    taker-fee revenue on the fills against the bot. Warns when hedging cost more
    than the spread captured (the band does not pay for its hedge); the loss limit
    itself is `check_pnl`'s."""
    out = []
    for row in rows:
        if not row.get("fills"):
            continue
        capture = float(row.get("spread_capture_quote") or 0.0)
        hedge = float(row.get("hedge_cost_quote") or 0.0)
        revenue = float(row.get("home_taker_fee_revenue_quote") or 0.0)
        bps = row.get("desk_pnl_bps")
        status = CheckStatus.WARN if hedge > capture else CheckStatus.PASS
        shown = "-" if bps is None else f"{bps:+.2f}"
        out.append(
            CheckResult(
                "economics",
                row["market"],
                status,
                f"capture {capture:,.2f}, hedge cost {hedge:,.2f}, desk PnL "
                f"{float(row.get('pnl_quote') or 0.0):,.2f} ({shown} bps of "
                f"{float(row.get('volume_quote') or 0.0):,.0f}), exchange taker fees "
                f"{revenue:,.2f}",
            )
        )
    return out


def check_hedge_slippage(
    rows: Sequence[Mapping[str, Any]], max_slippage_bps: float
) -> list[CheckResult]:
    """Volume-weighted hedge slippage per market against the risk limit."""
    out = []
    for row in rows:
        slip = row.get("hedge_slippage_bps")
        if slip is None:
            continue
        status = (
            CheckStatus.FAIL
            if slip > max_slippage_bps
            else (CheckStatus.WARN if slip > max_slippage_bps / 2 else CheckStatus.PASS)
        )
        out.append(
            CheckResult(
                "hedge.slippage_bps",
                row["market"],
                status,
                f"{slip:.2f} bps (limit {max_slippage_bps:g})",
            )
        )
    return out


def check_pnl(rows: Sequence[Mapping[str, Any]], max_loss_quote: float) -> list[CheckResult]:
    out = []
    for row in rows:
        pnl = row.get("pnl_quote")
        if pnl is None:
            continue
        status = (
            CheckStatus.FAIL
            if pnl < -max_loss_quote
            else (CheckStatus.WARN if pnl < 0 else CheckStatus.PASS)
        )
        out.append(
            CheckResult(
                "pnl.quote", row["market"], status, f"{pnl:,.2f} (loss limit {max_loss_quote:,.0f})"
            )
        )
    return out


def check_exposure(rows: Sequence[Mapping[str, Any]]) -> list[CheckResult]:
    """The latest exposure per asset: over its threshold is a fail (the rebalancer lags)."""
    out = []
    for row in rows:
        gap = abs(float(row["net"]) + float(row.get("pending") or 0) - float(row["target"]))
        threshold = float(row["threshold"])
        status = CheckStatus.PASS if gap <= threshold else CheckStatus.FAIL
        out.append(
            CheckResult(
                "exposure", row["asset"], status, f"|net - target| {gap:.8g} vs {threshold:.8g}"
            )
        )
    return out


BACKTEST_RUN_PREFIX = "bt"
"""`marketmesh backtest` run ids start with this (`bt` + UTC time + random hex)."""


def is_backtest(run_id: str) -> bool:
    return run_id.startswith(BACKTEST_RUN_PREFIX)


def check_freshness(
    latest_ts_ns: Mapping[str, int | None], now_ns: int, max_age_s: float, *, backtest: bool = False
) -> list[CheckResult]:
    """Every table analysts read must have recent rows, or a run stopped writing.

    A backtest dataset (`backtest`) runs on simulated time and books nothing in the
    ledger: its tables pass as long as they have rows, and `ledger_entries` is not asked for.
    """
    out = []
    for table, ts in latest_ts_ns.items():
        if backtest and table == "ledger_entries":
            out.append(
                CheckResult("data.freshness", table, CheckStatus.PASS, "backtest: no ledger")
            )
            continue
        if backtest and ts is not None:
            out.append(
                CheckResult("data.freshness", table, CheckStatus.PASS, "backtest: simulated time")
            )
            continue
        if ts is None:
            out.append(CheckResult("data.freshness", table, CheckStatus.FAIL, "no rows"))
            continue
        age_s = (now_ns - ts) / 1e9
        status = CheckStatus.PASS if age_s <= max_age_s else CheckStatus.WARN
        out.append(
            CheckResult(
                "data.freshness",
                table,
                status,
                f"newest row {age_s:,.0f}s old (max {max_age_s:g}s)",
            )
        )
    return out


def check_venue(
    venue: str,
    symbols: Sequence[str],
    *,
    error: str | None,
    specs: Mapping[str, Any] | None,
    balances: Mapping[str, Decimal] | None,
    required: Mapping[str, Decimal],
    auth_error: str | None = None,
    bands: Mapping[str, Any] | None = None,
    open_orders: Sequence[str] | None = None,
) -> list[CheckResult]:
    """Reachable, authenticated, symbols listed, balances at least what the config expects
    and inside their bands, and none of our hedge orders left open (they are IOC: one
    resting means a crash or a venue that ignored the time in force)."""
    if error is not None:
        return [CheckResult("venue.reachable", venue, CheckStatus.FAIL, error)]
    if auth_error is not None:  # it answered, and refused the key
        return [
            CheckResult("venue.reachable", venue, CheckStatus.PASS, "venue answered"),
            CheckResult("venue.authenticated", venue, CheckStatus.FAIL, auth_error),
        ]
    out = [CheckResult("venue.reachable", venue, CheckStatus.PASS, "markets loaded")]
    missing = [s for s in symbols if not specs or s not in specs]
    out.append(
        CheckResult(
            "venue.symbols",
            venue,
            CheckStatus.FAIL if missing else CheckStatus.PASS,
            f"missing {', '.join(missing)}" if missing else f"{len(symbols)} symbols listed",
        )
    )
    if balances is None:
        out.append(
            CheckResult("venue.authenticated", venue, CheckStatus.FAIL, "balances not readable")
        )
        return out
    out.append(CheckResult("venue.authenticated", venue, CheckStatus.PASS, "balances read"))
    out += _balance_checks(venue, balances, required, bands or {})
    if open_orders is not None:
        out.append(_open_hedge_orders(venue, open_orders))
    return out


def _balance_checks(
    venue: str,
    balances: Mapping[str, Decimal],
    required: Mapping[str, Decimal],
    bands: Mapping[str, Any],
) -> list[CheckResult]:
    """Each asset at least half what the config expects, and inside its rebalancing band."""
    out = []
    for asset, want in sorted(required.items()):
        have = balances.get(asset, Decimal(0))
        status = (
            CheckStatus.PASS
            if have >= want / 2
            else (CheckStatus.WARN if have > 0 else CheckStatus.FAIL)
        )
        out.append(
            CheckResult("venue.balance", f"{venue} {asset}", status, f"{have} (configured {want})")
        )
    for asset, band in sorted(bands.items()):
        have = balances.get(asset, Decimal(0))
        where = f"{venue} {asset}"
        if band.low <= have <= band.high:
            out.append(
                CheckResult(
                    "venue.balance_band",
                    where,
                    CheckStatus.PASS,
                    f"{have} in [{band.low}, {band.high}]",
                )
            )
        else:
            side = "below low" if have < band.low else "above high"
            out.append(
                CheckResult(
                    "venue.balance_band",
                    where,
                    CheckStatus.FAIL if have <= 0 < band.low else CheckStatus.WARN,
                    f"{have} {side} of [{band.low}, {band.high}]: the rebalancer transfers "
                    "toward the target; `marketmesh check` again after one transfer delay",
                )
            )
    return out


def _open_hedge_orders(venue: str, open_orders: Sequence[str]) -> CheckResult:
    """Our hedges are IOC: one still resting means a crash or a venue ignoring the time in force."""
    ours = [o for o in open_orders if o.startswith(HEDGE_ORDER_PREFIX)]
    return CheckResult(
        "venue.open_orders",
        venue,
        CheckStatus.FAIL if ours else CheckStatus.PASS,
        f"{len(ours)} hedge orders of ours still open ({', '.join(ours[:3])}): "
        "cancel them before starting"
        if ours
        else f"no hedge order of ours open ({len(open_orders)} open in all)",
    )


def overall(results: Sequence[CheckResult]) -> CheckStatus:
    statuses = {r.status for r in results}
    if CheckStatus.FAIL in statuses:
        return CheckStatus.FAIL
    return CheckStatus.WARN if CheckStatus.WARN in statuses else CheckStatus.PASS
