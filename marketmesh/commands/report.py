"""`marketmesh report`: a self-contained HTML report per market."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        data_dir: Annotated[str, typer.Option(help="Parquet dataset (path or URI)")] = "./data",
        out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
    ) -> None:
        """Spread and depth vs target, uptime, markouts, PnL decomposition, hedge quality."""
        from analytics.report import build_report
        from analytics.views import connect
        from marketmesh.data_dir import dataset_problem

        problem = dataset_problem(data_dir)
        if problem is not None:
            typer.secho(problem, err=True, fg=typer.colors.RED)
            raise typer.Exit(2)
        page = build_report(connect(data_dir))
        out.write_text(page, encoding="utf-8")
        typer.echo(f"wrote {out} ({len(page) / 1e6:.1f} MB)")
