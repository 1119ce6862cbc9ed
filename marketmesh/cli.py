"""The `marketmesh` command.

Each command imports only what it needs: `sla` and `sql` never import Ray, so
an analyst's query is not slowed by the engine's start-up.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from marketmesh.graph import RunResult

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="marketmesh: quote, hedge, rebalance and prove liquidity on every market.",
)

DEFAULT_CONFIG = Path("configs/local.yaml")


def _default_config() -> Path:
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    packaged = Path(__file__).resolve().parents[1] / DEFAULT_CONFIG
    return packaged if packaged.exists() else DEFAULT_CONFIG


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _load(config: Path) -> Any:
    from engine.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        _fail(f"config error:\n{exc}")


@app.command()
def run(
    config: Annotated[
        Path | None, typer.Argument(help="YAML config (default configs/local.yaml)")
    ] = None,
    duration: Annotated[
        float, typer.Option(min=1, help="seconds to run, then stop by itself")
    ] = 60,
    data_dir: Annotated[str, typer.Option(help="Parquet dataset (path or URI)")] = "./data",
    address: Annotated[str | None, typer.Option(help="join a Ray cluster (e.g. auto)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the SLA summary as JSON")] = False,
    metrics_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="serve Prometheus metrics on 127.0.0.1")
    ] = None,
    ui_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="serve the operations page on 127.0.0.1")
    ] = None,
    wide: Annotated[bool, typer.Option(help="every SLA column (needs ~165 columns)")] = False,
    verbose: Annotated[bool, typer.Option(help="show Ray's own log lines too")] = False,
) -> None:
    """Run the graph (default: simulated venues on loopback), then print the SLA summary."""
    import logging

    from marketmesh.data_dir import prepare_output_dir

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    path = config or _default_config()
    cfg = _load(path)
    problem = prepare_output_dir(data_dir)
    if problem is not None:
        _fail(problem)

    from marketmesh.graph import run_graph  # Ray: only once the config and data dir are fine
    from marketmesh.simproc import VenueSimError
    from marketmesh.status import StatusView

    console = _status_console()
    console.print(
        f"marketmesh run: {path} ({len(cfg.markets)} markets, {len(cfg.hedge_venues)} hedge "
        f"venues, config {cfg.config_hash}) for {duration:g}s -> {data_dir}"
    )
    view = StatusView(console, duration)
    ui = _ui_beside_run(ui_port) if ui_port else None
    try:
        with view:
            result = run_graph(
                cfg,
                config_path=path,
                duration_s=duration,
                data_dir=data_dir,
                address=address,
                on_status=view.update,
                metrics_port=metrics_port,
                on_progress=view.progress,
                verbose=verbose,
            )
    except VenueSimError as exc:
        _fail(f"venue simulator failed: {exc}")
    except RuntimeError as exc:
        _fail(str(exc))
    finally:
        if ui is not None:
            ui.stop()
    _print_run_outcome(console, result)
    _print_sla(
        data_dir,
        json_out,
        run_id=result.run_id,
        wide=wide,
        exclusions=cfg.analytics.exclusions(),
    )
    if not result.reconciled:
        raise typer.Exit(3)


def _status_console() -> Console:
    """Status lines on stderr; CI logs and pipes get one plain line per status, unwrapped."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        console = Console(stderr=True, width=180)
    return console


def _print_run_outcome(console: Console, result: RunResult) -> None:
    """The hedge counts and the ledger-vs-venue reconciliation, before the SLA table."""
    from marketmesh.status import hedge_counts

    console.print(
        f"run {result.run_id} done in {(result.end_ns - result.start_ns) / 1e9:.1f}s: "
        f"{hedge_counts(result.router_status)}"
    )
    from marketmesh.graph.reconcile import agrees

    pairs = 0
    for venue, assets in result.reconciliation.items():
        pairs += len(assets)
        bad = {a: v for a, v in assets.items() if not agrees(*v)}
        if bad:
            console.print(f"[red]reconciliation {venue}: ledger != venue for {bad}[/red]")
    if result.reconciled:
        console.print(f"reconciled: ledger == venue balances on {pairs} venue/asset pairs")


@app.command()
def sla(
    data_dir: Annotated[str, typer.Option(help="Parquet dataset (path or URI)")] = "./data",
    market: Annotated[str | None, typer.Option(help="only this market, e.g. BTC/USDT")] = None,
    run_id: Annotated[str | None, typer.Option(help="only this run")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="start, UTC: 2026-11-24 or 2026-11-24T10:00")
    ] = None,
    to: Annotated[str | None, typer.Option(help="end (exclusive), UTC")] = None,
    by: Annotated[str | None, typer.Option(help="one row per market and minute|hour|day")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable JSON")] = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="CSV on stdout")] = False,
    exact: Annotated[
        bool, typer.Option(help="read every sample, not the rollups `compact` wrote")
    ] = False,
    wide: Annotated[bool, typer.Option(help="every column (needs ~165 columns)")] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="YAML config whose analytics.sla_exclusions apply (default: none)"),
    ] = None,
) -> None:
    """Spread/depth/uptime SLA per market (and period) over the dataset.

    After `marketmesh compact`, sample figures come from its per-hour/per-day
    rollups: counts and ratios are unchanged; percentiles of periods merged
    from several rollup rows (e.g. the whole range over several days) are
    within 1 % of the exact ones, which `--exact` computes from every sample.

    Every sample is graded against the market's configured targets; breaches are
    broken down by reason. Samples are excluded only by the named rules of
    `--config`'s `analytics.sla_exclusions`, each shown with its share of time.
    """
    if by is not None and by not in ("minute", "hour", "day"):
        _fail(f"--by {by}: expected minute, hour or day")
    exclusions = _load(config).analytics.exclusions() if config is not None else {}
    _print_sla(
        data_dir,
        json_out,
        market=market,
        run_id=run_id,
        start_ns=_utc_ns("--from", from_),
        end_ns=_utc_ns("--to", to),
        by=by,
        csv_out=csv_out,
        rollups=not exact,
        wide=wide,
        exclusions=exclusions,
    )


def _utc_ns(flag: str, value: str | None) -> int | None:
    from datetime import UTC, datetime

    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{flag} {value}: expected an ISO date or time, e.g. 2026-11-24 or 2026-11-24T10:00")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 1_000_000_000


def _print_sla(
    data_dir: str,
    json_out: bool,
    *,
    market: str | None = None,
    run_id: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    by: str | None = None,
    csv_out: bool = False,
    rollups: bool = False,
    wide: bool = False,
    exclusions: dict[str, tuple[str, ...]] | None = None,
) -> None:
    from analytics.compat import missing_columns_note
    from analytics.render import economics_table, sla_json, sla_table, sla_tables
    from analytics.sla import sla_summary

    con = _dataset(data_dir)
    note = missing_columns_note(con, ("book_samples", "fills", "hedge_orders", "hedge_fills"))
    if note is not None:
        typer.secho(note, err=True, fg=typer.colors.YELLOW)
    rows = sla_summary(
        con,
        market=market,
        run_id=run_id,
        start_ns=start_ns,
        end_ns=end_ns,
        by=by,
        data_dir=data_dir if rollups else None,
        exclusions=exclusions,
    )
    if json_out:
        typer.echo(sla_json(rows))
    elif csv_out:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["market"])
        writer.writeheader()
        writer.writerows(
            {k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()} for r in rows
        )
    else:
        from rich.console import Console

        console = Console()
        if wide and not console.is_terminal:  # pipes and CI logs: wide enough for each column
            console = Console(width=180)
        if by is None:
            console.print(sla_table(rows, wide=wide))
            console.print(economics_table(rows))
        else:
            for table in sla_tables(rows, by=by, wide=wide):
                console.print(table)


@app.command()
def sql(
    query: Annotated[str | None, typer.Argument(help="SQL; omit for an interactive shell")] = None,
    data_dir: Annotated[str, typer.Option(help="Parquet dataset (path or URI)")] = "./data",
) -> None:
    """Query the dataset with DuckDB (views: book_samples, fills, hedge_orders, ...)."""
    import duckdb

    con = _dataset(data_dir)
    if query is None:
        _repl(con)
        return
    try:
        rel = con.sql(query)
    except duckdb.Error as exc:
        _fail(f"sql: {exc}")
    if rel is not None:
        rel.show(max_rows=200, max_width=200)


def _dataset(data_dir: str) -> Any:
    """A DuckDB connection over the dataset at `data_dir`; exit 2 when there is none."""
    import duckdb

    from analytics.views import connect
    from marketmesh.data_dir import dataset_problem

    problem = dataset_problem(data_dir)
    if problem is not None:
        _fail(problem)
    try:
        return connect(data_dir)
    except duckdb.Error as exc:
        _fail(f"--data-dir {data_dir}: the dataset cannot be read ({exc})")


def _repl(con: Any) -> None:
    import duckdb

    typer.echo("DuckDB over the marketmesh dataset; end a statement with ';', Ctrl-D to quit.")
    buf = ""
    while True:
        try:
            line = input("sql> " if not buf else "...> ")
        except EOFError:
            typer.echo("")
            return
        buf += line + "\n"
        if buf.strip().endswith(";"):
            try:
                rel = con.sql(buf)
                if rel is not None:
                    rel.show(max_rows=200)
            except duckdb.Error as exc:
                typer.secho(str(exc), err=True, fg=typer.colors.RED)
            buf = ""


@app.command("venue-sim")
def venue_sim(
    config: Annotated[
        Path, typer.Option(help="YAML config listing the venues to serve")
    ] = DEFAULT_CONFIG,
    host: Annotated[
        str, typer.Option(help="address to bind (loopback unless --allow-remote)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="first port; 0 = free ports")] = 0,
    start_ns: Annotated[
        int | None, typer.Option(help="start of the shared price path (ns)")
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="allow binding a non-loopback address")
    ] = False,
    faults: Annotated[
        Path | None,
        typer.Option(help="YAML fault file (seeded), e.g. configs/faults/flaky.yaml"),
    ] = None,
) -> None:
    """Serve the simulated venues over HTTP (Binance / HollaEx dialects) until stopped."""
    from engine.config import ConfigError
    from engine.sim.faults import load_faults
    from engine.sim.server import SimCredentials, credentials_from_env, serve_until_stopped

    cfg = _load(config)
    try:
        fault_file = load_faults(faults) if faults is not None else None
    except ConfigError as exc:
        _fail(f"faults error:\n{exc}")
    creds = credentials_from_env()
    if creds is None:
        creds = SimCredentials(api_key="marketmesh-sim-key", api_secret="marketmesh-sim-secret")
        typer.echo(
            "MARKETMESH_SIM_API_KEY/MARKETMESH_SIM_API_SECRET not set: venues accept the "
            "key/secret configured for them and the development pair "
            "marketmesh-sim-key / marketmesh-sim-secret",
            err=True,
        )
    try:
        asyncio.run(
            serve_until_stopped(
                cfg,
                host=host,
                port=port,
                start_ns=start_ns or time.time_ns(),
                credentials=creds,
                allow_remote=allow_remote,
                faults=fault_file,
            )
        )
    except (ValueError, OSError) as exc:
        _fail(f"venue-sim: {exc}")
    except KeyboardInterrupt:
        pass


def _ui_beside_run(port: int) -> Any:
    from marketmesh.commands.ui import ui_beside_run

    return ui_beside_run(port)


def _register_subcommands() -> None:
    from marketmesh.commands import register_all

    register_all(app)


_register_subcommands()


def main() -> None:
    from engine.log_redaction import guard_logs

    guard_logs()  # URLs' query strings in any command's log lines; load_config adds keys
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
