"""`marketmesh backtest`: a quoting policy against the simulator or a recorded run, without Ray.

Writes `book_samples`, `quotes`, `fills`, `hedge_orders` and `hedge_fills`
into a dataset like a live run does, tagged with a `bt…` run id, so
`marketmesh sla --data-dir D` (and `sql`, `report`) read it unchanged.

Two engines: `exact` (default) runs the live objects tick by tick (every
policy, simulated or replayed feed); `fast` (`engine.backtest.vectorised`,
a numba kernel) runs the ladder, Avellaneda-Stoikov and GLFT unhedged on the
simulated feed or a replay ~190x faster with the same decisions, and refuses
what it cannot model (hedges, user makers) with the reason. On the simulator
it draws its takers in bulk, so the same seed gives a different (equally
distributed) taker stream than `exact` and the live venue: compare policies
within one engine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from marketmesh.commands.backtest_args import (
    BACKTEST_POLICIES,
    BacktestArgsError,
    BacktestEngine,
    resolve_markets,
)
from marketmesh.commands.backtest_jobs import (
    MARKET_TABLES,
    NS_PER_DAY,
    load_recording,
    new_backtest_run_id,
    run_backtests,
)
from marketmesh.commands.backtest_parquet import ParquetColumnWriters

if TYPE_CHECKING:
    from engine.backtest import BacktestResult

# the names callers (tests, bench/) import from here since before the split
__all__ = [
    "BACKTEST_POLICIES",
    "MARKET_TABLES",
    "BacktestArgsError",
    "BacktestEngine",
    "ParquetColumnWriters",
    "load_recording",
    "new_backtest_run_id",
    "register",
    "resolve_markets",
    "run_backtests",
]


def register(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        config: Annotated[Path, typer.Option(help="YAML config")] = Path("configs/local.yaml"),
        policy: Annotated[
            str | None, typer.Option(help=f"override every market's policy: {BACKTEST_POLICIES}")
        ] = None,
        market: Annotated[
            list[str] | None, typer.Option(help="only this market (repeatable), e.g. BTC/USDT")
        ] = None,
        days: Annotated[
            float | None, typer.Option(help="simulated days (fractions allowed, e.g. 0.25)")
        ] = None,
        data_dir: Annotated[str, typer.Option(help="dataset to write")] = "./data-backtest",
        from_data: Annotated[
            str | None, typer.Option(help="replay book_samples + fills of a recorded dataset")
        ] = None,
        from_run: Annotated[
            str | None, typer.Option(help="with --from-data: the run to replay (default latest)")
        ] = None,
        seed: Annotated[int | None, typer.Option(help="simulator seed (default sim.seed)")] = None,
        start: Annotated[
            str | None, typer.Option(help="simulated start, UTC (default: N days ago, midnight)")
        ] = None,
        no_hedge: Annotated[bool, typer.Option("--no-hedge", help="do not model hedges")] = False,
        engine: Annotated[
            BacktestEngine,
            typer.Option(
                help="exact: the live objects tick by tick, any policy; fast: compiled, "
                "ladder / avellaneda_stoikov / glft, simulated or --from-data, with "
                "--no-hedge and no user makers, ~190x faster, its own taker draws"
            ),
        ] = BacktestEngine.EXACT,
        workers: Annotated[
            int,
            typer.Option(min=1, help="exact engine: run up to this many markets in parallel"),
        ] = 1,
        json_out: Annotated[bool, typer.Option("--json", help="results as JSON")] = False,
    ) -> None:
        """Run a quoting policy against the simulator (or a recorded run) without Ray."""
        from engine.config import ConfigError, load_config

        try:
            cfg = load_config(config)
        except ConfigError as exc:
            _fail(f"config error:\n{exc}")
        try:
            results, run_id = run_backtests(
                cfg,
                policy=policy,
                markets=market or None,
                days=days,
                data_dir=data_dir,
                from_data=from_data,
                from_run=from_run,
                seed=seed,
                start=start,
                hedge=not no_hedge,
                progress=not json_out,
                engine=engine,
                workers=workers,
            )
        except BacktestArgsError as exc:
            _fail(str(exc))
        if json_out:
            typer.echo(json.dumps({"run_id": run_id, "markets": [_as_dict(r) for r in results]}))
            return
        _print_results(results, run_id, data_dir)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _as_dict(r: BacktestResult) -> dict[str, Any]:
    return {
        "market": r.market,
        "policy": r.policy,
        "start_ns": r.start_ns,
        "end_ns": r.end_ns,
        "fills": r.fills,
        "taker_orders": r.taker_orders,
        "volume_quote": round(r.volume_quote, 4),
        "pnl_quote": round(r.pnl_quote, 4),
        "pnl_unhedged_quote": round(r.pnl_unhedged_quote, 4),
        "inventory_std_base": r.inventory_std_base,
        "spread_sla_pct": round(r.spread_sla_pct, 4),
        "samples": r.samples,
        "decisions": r.decisions,
        "requotes": r.requotes,
        "book_events": r.book_events,
        "book_events_per_s": round(r.book_events_per_s, 1),
        "wall_s": round(r.wall_s, 3),
    }


def _print_results(results: list[BacktestResult], run_id: str, data_dir: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backtest {run_id}")
    for col in (
        "market",
        "policy",
        "days",
        "fills",
        "PnL (quote)",
        "PnL unhedged",
        "inventory std",
        "spread SLA %",
        "book events/s",
    ):
        table.add_column(col, justify="left" if col in ("market", "policy") else "right")
    for r in results:
        table.add_row(
            r.market,
            r.policy,
            f"{(r.end_ns - r.start_ns) / NS_PER_DAY:.3g}",
            f"{r.fills:,}",
            f"{r.pnl_quote:,.2f}",
            f"{r.pnl_unhedged_quote:,.2f}",
            f"{r.inventory_std_base:.4g}",
            f"{r.spread_sla_pct:.1f}",
            f"{r.book_events_per_s:,.0f}",
        )
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(table)
    console.print(f"SLA: marketmesh sla --data-dir {data_dir} --run-id {run_id}")
