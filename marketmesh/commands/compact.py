"""`marketmesh compact`: merge small Parquet parts per partition."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def compact(
        data_dir: Annotated[str, typer.Option(help="Parquet dataset (local path)")] = "./data",
        min_age_s: Annotated[
            float, typer.Option(help="skip partitions written to in the last N seconds")
        ] = 60.0,
    ) -> None:
        """Merge each partition's part files into one and write the SLA rollups
        `marketmesh sla` reads (idempotent; safe beside a running run)."""
        from analytics.compaction import compact as run_compaction

        try:
            results = run_compaction(data_dir, min_age_s=min_age_s, progress=typer.echo)
        except (ValueError, FileNotFoundError) as exc:
            typer.secho(f"compact: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None
        merged = [r for r in results if r.files_in > 1]
        files = sum(r.files_in for r in merged)
        rollups = sum(r.rollup_rows is not None for r in results)
        typer.echo(
            f"compacted {len(merged)} partitions: {files} parts -> {len(merged)}; "
            f"SLA rollups written for {rollups} book_samples partitions"
        )
