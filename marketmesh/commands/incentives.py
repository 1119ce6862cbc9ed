"""`marketmesh incentives`: score and pay user makers per period, the bot's cost beside.

Reads `maker_orders` and `book_samples` of one run (default: each market's
latest run with maker orders), scores every user maker with the program of
its market in the config (`IncentiveConfig`; rule in `engine.incentives`),
shares the period's budget pro rata, writes the `incentives` table and prints
per period the makers' scores and payouts next to the bot's liquidity cost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def incentives(
        config: Annotated[Path, typer.Option(help="YAML config (each market's program)")] = Path(
            "configs/local.yaml"
        ),
        data_dir: Annotated[str, typer.Option(help="Parquet dataset (path or URI)")] = "./data",
        market: Annotated[str | None, typer.Option(help="only this market")] = None,
        run_id: Annotated[
            str | None, typer.Option(help="the run to score (default: each market's latest)")
        ] = None,
        by: Annotated[str, typer.Option(help="period: day or hour")] = "day",
        write: Annotated[
            bool, typer.Option(help="write the `incentives` table (replaces the run's rows)")
        ] = True,
        json_out: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    ) -> None:
        """Maker incentive scores and payouts per user maker and period, beside the bot's cost."""
        from analytics.incentives import (
            PERIOD_S,
            bot_cost_rows,
            config_markets,
            incentive_rows,
            program_summary,
            runs_with_makers,
            write_incentives,
        )
        from analytics.views import connect
        from engine.config import ConfigError, load_config

        if by not in PERIOD_S:
            _fail(f"--by {by}: expected day or hour")
        try:
            cfg = load_config(config)
        except ConfigError as exc:
            _fail(f"config error:\n{exc}")
        markets = config_markets(cfg, market)
        if not markets:
            _fail(f"--market {market}: not in {config}")
        if "://" not in data_dir and not Path(data_dir).exists():
            _fail(f"--data-dir {data_dir}: no such directory")
        con = connect(data_dir)
        scored: list[dict[str, Any]] = []
        program: list[dict[str, Any]] = []
        runs: dict[str, str] = {}
        for m in markets:
            run = run_id or next(iter(runs_with_makers(con, m.symbol)), None)
            if run is None:
                continue
            runs[m.symbol] = run
            rows = incentive_rows(con, m, run_id=run, by=by)
            program += program_summary(rows, bot_cost_rows(con, m.symbol, run_id=run, by=by))
            scored += rows
            if write and rows:
                tagged = con.execute(
                    "select any_value(config_hash) from book_samples where run_id = $r", {"r": run}
                ).fetchone()
                write_incentives(
                    data_dir,
                    rows,
                    run_id=run,
                    config_hash=str(tagged[0]) if tagged and tagged[0] else cfg.config_hash,
                )
        if json_out:
            typer.echo(json.dumps({"runs": runs, "incentives": scored, "program": program}))
            return
        if not scored:
            typer.echo("no maker orders in the dataset (user makers record them; see README)")
            return
        _print(scored, program)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _print(scored: list[dict[str, Any]], program: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if Console().is_terminal else Console(width=180)
    makers = Table(title="Maker incentives")
    for col in ("market", "period", "owner", "uptime %", "score bid/ask", "score", "share %"):
        makers.add_column(col, justify="left" if col in ("market", "period", "owner") else "right")
    makers.add_column("payout", justify="right")
    for r in scored:
        makers.add_row(
            r["market"],
            r["period"][:10] if r["period"].endswith("T00:00:00+00:00") else r["period"],
            r["owner"],
            f"{r['uptime_pct']:.1f}",
            f"{r['bid_score_quote']:,.0f} / {r['ask_score_quote']:,.0f}",
            f"{r['score_quote']:,.0f}",
            f"{r['share_pct']:.1f}",
            f"{r['payout_quote']:,.2f}",
        )
    console.print(makers)
    bot = Table(title="Paying users vs the bot's liquidity cost")
    for col in (
        "market",
        "period",
        "bot share %",
        "bot cost",
        "bot depth/side",
        "bot cost per depth",
        "users paid",
        "user cost per depth",
        "users cheaper",
    ):
        bot.add_column(col, justify="left" if col in ("market", "period") else "right")
    for p in program:
        bot.add_row(
            p["market"],
            p["period"][:10] if p["period"].endswith("T00:00:00+00:00") else p["period"],
            "" if p["bot_share_pct"] is None else f"{p['bot_share_pct']:.1f}",
            f"{p['bot_cost_quote']:,.2f}",
            f"{p['bot_depth_quote']:,.0f}",
            "" if p["bot_cost_per_depth"] is None else f"{p['bot_cost_per_depth']:.5f}",
            f"{p['payout_quote']:,.2f}",
            "" if p["user_cost_per_depth"] is None else f"{p['user_cost_per_depth']:.5f}",
            "" if p["paying_users_cheaper"] is None else str(p["paying_users_cheaper"]).lower(),
        )
    console.print(bot)
