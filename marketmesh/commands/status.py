"""`marketmesh status`: the live table of a running graph, from another process."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

ADDRESS = typer.Option(
    help="Ray cluster to attach to (e.g. auto on a cluster node); default: this host's run"
)
NAMESPACE = typer.Option(help="Ray namespace of the graph (with --address)")
RUN_ID = typer.Option(help="which run, when several are live on this host")


def attach_or_exit(
    address: str | None, namespace: str, run_id: str | None
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """`attach`, with the CLI's answers: exit 2 when the run must be named or is still
    starting, 1 when none runs."""
    from marketmesh.commands.attach import NotRunning, StillStarting, WhichRun, attach

    try:
        return attach(address, namespace, run_id)
    except (WhichRun, StillStarting) as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    except NotRunning as exc:
        typer.secho(str(exc), err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        address: Annotated[str | None, ADDRESS] = None,
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        run_id: Annotated[str | None, RUN_ID] = None,
        json_out: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    ) -> None:
        """Markets, quotes, spread, fills, positions and venue health of the running graph."""
        from rich.console import Console

        from marketmesh.status import status_payload, status_table

        control, info, handles = attach_or_exit(address, namespace, run_id)
        payload = status_payload(control, info, handles)
        statuses, router, alerts = payload["markets"], payload["router"], payload["alerts"]
        if json_out:
            typer.echo(json.dumps(payload, default=str))
            return
        title = f"run {info['run_id']} (config {info['config_hash']}, data {info['data_dir']})"
        console = Console()
        console.print(status_table(title, statuses, router))
        for a in alerts[-10:]:
            console.print(
                f"[yellow]alert[/yellow] {a['message']} -> {a['action']}: {a['action_result']}"
            )
