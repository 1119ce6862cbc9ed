"""Kill switch: `marketmesh stop --market M | --all` and `marketmesh resume --market M`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from marketmesh.commands.status import ADDRESS, NAMESPACE


def _fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    @app.command()
    def stop(
        market: Annotated[
            list[str] | None, typer.Option(help="cancel this market's quotes and pause it")
        ] = None,
        all_: Annotated[
            bool, typer.Option("--all", help="stop the whole graph with a clean shutdown")
        ] = False,
        wait: Annotated[float, typer.Option(help="seconds to wait for --all to finish")] = 120,
        address: Annotated[str, ADDRESS] = "auto",
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
    ) -> None:
        """Cancel quotes safely: per market (fills still hedge) or the whole graph."""
        import ray

        from marketmesh.commands.attach import NotRunning, attach

        if not market and not all_:
            _fail("say what to stop: --market SYMBOL (repeatable) or --all")
        try:
            control, info, handles = attach(address, namespace)
        except NotRunning as exc:
            _fail(str(exc))
        if all_:
            ray.get(control.request_stop.remote("marketmesh stop --all"))
            typer.echo(f"run {info['run_id']}: stop requested; the driver shuts down cleanly")
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    if ray.get(control.describe.remote(), timeout=5)["finished"]:
                        typer.echo(f"run {info['run_id']}: stopped")
                        return
                except Exception:  # the driver already tore the graph down
                    typer.echo(f"run {info['run_id']}: stopped")
                    return
                time.sleep(0.5)
            _fail(f"run {info['run_id']}: still stopping after {wait:g}s")
        unknown = [m for m in market or [] if f"market:{m}" not in handles]
        if unknown:
            known = ", ".join(sorted(k.removeprefix("market:") for k in handles if "market:" in k))
            _fail(f"--market {', '.join(unknown)}: not in this graph (markets: {known})")
        for m in market or []:
            n = ray.get(handles[f"market:{m}"].on_pause.remote("marketmesh stop"))
            typer.echo(f"{m}: paused, {n} quotes cancelled")

    @app.command()
    def resume(
        market: Annotated[list[str], typer.Option(help="resume quoting this market")],
        address: Annotated[str, ADDRESS] = "auto",
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
    ) -> None:
        """Resume quoting a market paused by `marketmesh stop --market`."""
        import ray

        from marketmesh.commands.attach import NotRunning, attach

        try:
            _, _, handles = attach(address, namespace)
        except NotRunning as exc:
            _fail(str(exc))
        for m in market:
            if f"market:{m}" not in handles:
                _fail(f"--market {m}: not in this graph")
            ray.get(handles[f"market:{m}"].on_resume.remote())
            typer.echo(f"{m}: quoting resumed")
