"""`marketmesh status`: the live table of a running graph, from another process."""

from __future__ import annotations

import json
from typing import Annotated

import typer

ADDRESS = typer.Option(help="Ray cluster to attach to (auto = the local one)")
NAMESPACE = typer.Option(help="Ray namespace of the graph")


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        address: Annotated[str, ADDRESS] = "auto",
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        json_out: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    ) -> None:
        """Markets, quotes, spread, fills, positions and venue health of the running graph."""
        import ray
        from rich.console import Console

        from actors.market import market_statuses
        from marketmesh.commands.attach import NotRunning, attach
        from marketmesh.status import status_table

        try:
            control, info, handles = attach(address, namespace)
        except NotRunning as exc:
            typer.secho(str(exc), err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from None
        statuses = market_statuses(handles)
        router = ray.get(handles["router"].status.remote())
        alerts = ray.get(control.alerts.remote())
        if json_out:
            payload = {"run": info, "markets": statuses, "router": router, "alerts": alerts}
            typer.echo(json.dumps(payload, default=str))
            return
        title = f"run {info['run_id']} (config {info['config_hash']}, data {info['data_dir']})"
        console = Console()
        console.print(status_table(title, statuses, router))
        for a in alerts[-10:]:
            console.print(
                f"[yellow]alert[/yellow] {a['message']} -> {a['action']}: {a['action_result']}"
            )
