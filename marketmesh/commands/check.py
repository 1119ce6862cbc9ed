"""`marketmesh check`: the readiness / morning checklist, with a non-zero exit on fail.

Gathers the inputs the pure rules in `engine.readiness` need: each hedge venue
through ccxt (simulated venues are served by an in-process venue-sim for the
duration of the check), and the day's SLA, hedge quality, PnL, exposure and
data freshness from the Parquet dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from engine.config import AppConfig, MarketConfig
    from engine.readiness import CheckResult, CheckStatus

EXIT_FAIL = 1


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        config: Annotated[Path, typer.Option(help="YAML config")] = Path("configs/local.yaml"),
        data_dir: Annotated[str, typer.Option(help="Parquet dataset (path or URI)")] = "./data",
        day: Annotated[
            str | None, typer.Option(help="UTC day to grade, YYYY-MM-DD (default: yesterday)")
        ] = None,
        skip_venues: Annotated[bool, typer.Option(help="only the dataset checks")] = False,
        skip_data: Annotated[bool, typer.Option(help="only the venue checks")] = False,
        max_age_s: Annotated[float, typer.Option(help="data older than this warns")] = 3600,
        max_loss_quote: Annotated[float, typer.Option(help="daily loss that fails")] = 10_000,
        json_out: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
        market: Annotated[
            str | None,
            typer.Option(help="only this market: its stage's verification and readiness"),
        ] = None,
    ) -> None:
        """Venues reachable and authenticated, symbols, balances, SLA vs target, hedge slippage,
        PnL, exposure and data freshness: pass/warn/fail, exit 1 on any fail."""
        from engine.readiness import CheckStatus, overall

        cfg = _load_config(config)
        try:
            graded_day = _parse_day(day)
        except ValueError:
            _usage_error(f"--day {day}: expected YYYY-MM-DD")
        stage = _market_stage(cfg, market, config) if market is not None else None
        results = []
        if not skip_venues:
            results += _venue_checks(cfg)
        if not skip_data:
            results += _data_checks(cfg, data_dir, graded_day, max_age_s, max_loss_quote)
        if stage is not None:
            results = _for_market(results, stage, data_dir, skip_data=skip_data)
        verdict = overall(results)
        stage_line = stage.line if stage is not None else ""
        if json_out:
            _echo_json(results, verdict, stage_line)
        else:
            _print_table(results, verdict, stage_line)
        if verdict is CheckStatus.FAIL:
            raise typer.Exit(EXIT_FAIL)


def _usage_error(message: str) -> NoReturn:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(2) from None


def _load_config(config: Path) -> AppConfig:
    from engine.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        _usage_error(f"config error:\n{exc}")


@dataclass(frozen=True)
class _Stage:
    """The `--market` being graded and the line saying which stage gate this checklist is."""

    symbol: str
    market: MarketConfig
    line: str


def _market_stage(cfg: AppConfig, market: str, config: Path) -> _Stage:
    from engine.readiness import NEXT_STAGE

    try:
        m = cfg.market(market)
    except KeyError:
        known = ", ".join(x.symbol for x in cfg.markets)
        _usage_error(f"--market {market}: not in {config} ({known})")
    nxt = NEXT_STAGE[m.stage] if m.stage else None
    line = f"{market}: stage {m.stage.value if m.stage else '(none)'}" + (
        f"; passing this checklist is the gate to stage {nxt.value}" if nxt else ""
    )
    return _Stage(symbol=market, market=m, line=line)


def _for_market(
    results: list[CheckResult], stage: _Stage, data_dir: str, *, skip_data: bool
) -> list[CheckResult]:
    """Only the checks about that market (plus the venue-wide ones), and its stage's gate."""
    from engine.config import MarketStage

    market = stage.symbol
    kept = [
        r
        for r in results
        if r.subject == market
        or r.check.startswith("venue")
        or r.check in ("data.freshness", "sla.period")
        or r.subject == market.split("/")[0]
    ]
    if not skip_data and stage.market.stage is MarketStage.HANDOVER:
        kept += _handover_checks(stage.market, data_dir)
    return kept


def _echo_json(results: list[CheckResult], verdict: CheckStatus, stage_line: str) -> None:
    typer.echo(
        json.dumps(
            {
                "overall": verdict.value,
                "stage": stage_line,
                "checks": [
                    {
                        "check": r.check,
                        "subject": r.subject,
                        "status": r.status.value,
                        "detail": r.detail,
                    }
                    for r in results
                ],
            }
        )
    )


def _print_table(results: list[CheckResult], verdict: CheckStatus, stage_line: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from engine.readiness import CheckStatus

    colour = {
        CheckStatus.PASS: "green",
        CheckStatus.WARN: "yellow",
        CheckStatus.FAIL: "red",
    }
    table = Table(title=f"marketmesh check: {verdict.value.upper()}")
    for col in ("status", "check", "subject", "detail"):
        table.add_column(col)
    for r in results:
        c = colour[r.status]
        table.add_row(f"[{c}]{r.status.value}[/{c}]", r.check, r.subject, r.detail)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    if stage_line:
        console.print(stage_line)
    console.print(table)


def _parse_day(day: str | None) -> date:
    if day is None:
        return datetime.now(UTC).date() - timedelta(days=1)
    return date.fromisoformat(day)


def _venue_checks(cfg: Any) -> list[Any]:
    import asyncio
    import secrets
    import time

    from engine.readiness import check_venue
    from engine.sim.server import SimCredentials, VenueSimServer
    from engine.venues.ccxt_venue import CcxtVenue
    from engine.venues.errors import AuthenticationFailed, VenueError

    symbols = [m.symbol for m in cfg.markets]

    async def run() -> list[Any]:
        out: list[Any] = []
        sim = None
        creds = SimCredentials(secrets.token_hex(16), secrets.token_hex(32))
        urls: dict[str, str] = {}
        if any(v.simulated for v in cfg.hedge_venues):
            sim = VenueSimServer(cfg, start_ns=time.time_ns(), credentials=creds)
            urls = {s.venue_id: s.url for s in await sim.start(0)}
        try:
            for v in cfg.hedge_venues:
                served = v.id in urls
                key = (
                    creds.api_key
                    if served and v.api_key is None
                    else (v.api_key.get_secret_value() if v.api_key else None)
                )
                secret = (
                    creds.api_secret
                    if served and v.api_secret is None
                    else (v.api_secret.get_secret_value() if v.api_secret else None)
                )
                venue = CcxtVenue(
                    v.id,
                    v.exchange or "binance",
                    symbols,
                    api_key=key,
                    api_secret=secret,
                    base_url=v.base_url(urls.get(v.id)),
                    timeout_s=v.timeout_s,
                    max_attempts=1,
                )
                error = auth_error = specs = balances = open_orders = None
                try:
                    specs = await venue.start()
                    balances = await venue.fetch_balances()
                    open_orders = await _open_client_ids(venue, symbols)
                except AuthenticationFailed as exc:
                    auth_error = str(exc)
                except VenueError as exc:
                    if "unknown symbols" in exc.detail:  # it answered: grade the symbols
                        specs = venue.specs
                    else:
                        error = str(exc)
                await venue.close()
                out += check_venue(
                    v.id,
                    symbols,
                    error=error,
                    specs=specs,
                    balances=balances,
                    required=v.balances,
                    auth_error=auth_error,
                    bands=v.balance_bands,
                    open_orders=open_orders,
                )
        finally:
            if sim is not None:
                await sim.stop()
        return out

    return asyncio.run(run())


async def _open_client_ids(venue: Any, symbols: list[str]) -> list[str] | None:
    """Client ids of the orders open on a venue; None when the venue cannot list them."""
    import ccxt

    ids: list[str] = []
    try:
        for symbol in symbols:
            orders = await venue.client.fetch_open_orders(symbol)
            ids += [str(o.get("clientOrderId") or "") for o in orders]
    except ccxt.BaseError:
        return None
    return ids


def _data_checks(
    cfg: Any, data_dir: str, graded_day: date, max_age_s: float, max_loss_quote: float
) -> list[Any]:
    import time

    from analytics.sla import sla_summary
    from analytics.views import connect
    from engine.readiness import (
        CheckResult,
        CheckStatus,
        check_economics,
        check_exposure,
        check_freshness,
        check_hedge_slippage,
        check_pnl,
        check_sla,
        is_backtest,
    )

    if not data_dir.startswith(("s3://", "gs://")) and not Path(data_dir).exists():
        return [CheckResult("data", data_dir, CheckStatus.FAIL, "no such data directory")]
    con = connect(data_dir)
    out: list[Any] = []
    start = datetime.combine(graded_day, datetime.min.time(), UTC)
    start_ns = int(start.timestamp() * 1e9)
    end_ns = start_ns + 86_400 * 10**9
    period = graded_day.isoformat()
    exclusions = cfg.analytics.exclusions()  # named rules only; none by default
    rows = sla_summary(con, start_ns=start_ns, end_ns=end_ns, exclusions=exclusions)
    if not any(r.get("samples") for r in rows):
        latest = con.execute("select max(date) from book_samples").fetchone()
        if latest and latest[0] is not None:
            out.append(
                CheckResult(
                    "sla.period",
                    period,
                    CheckStatus.WARN,
                    f"no samples on {period}; grading the latest day with data, {latest[0]}",
                )
            )
            period = str(latest[0])
            start_ns = int(datetime.combine(latest[0], datetime.min.time(), UTC).timestamp() * 1e9)
            end_ns = start_ns + 86_400 * 10**9
            rows = sla_summary(con, start_ns=start_ns, end_ns=end_ns, exclusions=exclusions)
    out += check_sla(rows, cfg, period)
    out += check_hedge_slippage(rows, cfg.risk.max_slippage_bps)
    out += check_pnl(rows, max_loss_quote)
    out += check_economics(rows)
    exposure = con.execute(
        "select asset, arg_max(net, ts), arg_max(pending, ts), arg_max(target, ts), "
        "arg_max(threshold, ts) from exposure where epoch_ns(ts) >= $s and epoch_ns(ts) < $e "
        "group by 1 order by 1",
        {"s": start_ns, "e": end_ns},
    ).fetchall()
    out += check_exposure(
        [
            {"asset": a, "net": n, "pending": p, "target": t, "threshold": th}
            for a, n, p, t, th in exposure
        ]
    )
    latest_ts = {}
    for table in ("book_samples", "fills", "hedge_orders", "ledger_entries"):
        row = con.execute(f"select max(epoch_ns(ts)) from {table}").fetchone()
        latest_ts[table] = int(row[0]) if row and row[0] is not None else None
    runs = [str(r[0]) for r in con.execute("select distinct run_id from book_samples").fetchall()]
    out += check_freshness(
        latest_ts, time.time_ns(), max_age_s, backtest=bool(runs) and all(map(is_backtest, runs))
    )
    return out


def _handover_checks(market: Any, data_dir: str) -> list[Any]:
    """The handover stage's verification over the market's latest run, day by day."""
    from analytics.handover import handover_curve, latest_run
    from analytics.views import connect
    from engine.handover import HandoverDay, verify_handover

    if "://" not in data_dir and not Path(data_dir).exists():
        return []
    con = connect(data_dir)
    run = latest_run(con, market.symbol)
    rows = handover_curve(con, market=market.symbol, run_id=run) if run else []
    days = [
        HandoverDay(
            day=r["day"],
            samples=r["samples"],
            bot_share_pct=r["bot_share_pct"],
            spread_within_target_pct=r["spread_within_target_pct"] or 0.0,
            depth_within_target_pct=r["depth_within_target_pct"] or 0.0,
            longest_depth_gap_samples=r["longest_depth_gap_samples"],
        )
        for r in rows
    ]
    return verify_handover(market.symbol, days, market.handover)
