"""Kill switch: `marketmesh stop --market M | --all` and `marketmesh resume --market M`."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from marketmesh.commands.status import ADDRESS, NAMESPACE


def _fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    register_config_commands(app)

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
            n = ray.get(handles[f"market:{m}"].on_pause.remote(m, "marketmesh stop"))
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
            ray.get(handles[f"market:{m}"].on_resume.remote(m))
            typer.echo(f"{m}: quoting resumed")


def _push_to_graph(handles: dict[str, Any], config: Any) -> list[str]:
    """Hand a config version to every actor; returns one line per actor that took it."""
    import ray

    done = []
    pushed: set[Any] = set()  # a grouped MarketActor hosts several markets: push it once
    for name, actor in sorted(handles.items()):
        if actor in pushed:
            done.append(name)
            continue
        pushed.add(actor)
        if name.startswith("venue:"):
            venue = next(v for v in config.venues if v.id == name.removeprefix("venue:"))
            ray.get(actor.on_config.remote(venue))
        else:
            ray.get(actor.on_config.remote(config))
        done.append(name)
    return done


def register_config_commands(app: typer.Typer) -> None:
    @app.command("apply")
    def apply_config(
        config: Annotated[str, typer.Argument(help="the new YAML config")],
        address: Annotated[str, ADDRESS] = "auto",
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
    ) -> None:
        """Apply a new config version to the running graph (quoting, risk, alert parameters)."""
        import ray

        from engine.config import ConfigError, load_config, structural_changes
        from marketmesh.commands.attach import NotRunning, attach

        try:
            new = load_config(config)
        except ConfigError as exc:
            typer.secho(f"config error:\n{exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None
        try:
            control, info, handles = attach(address, namespace)
        except NotRunning as exc:
            _fail(str(exc))
        live = ray.get(control.current_config.remote())
        if live is not None and live.config_hash == new.config_hash:
            typer.echo(f"run {info['run_id']}: config {new.config_hash} is already live")
            return
        problems = structural_changes(live, new) if live is not None else []
        if problems:
            _fail("cannot apply to a running graph:\n  " + "\n  ".join(problems))
        version = ray.get(control.push_config.remote(new))
        _push_to_graph(handles, new)
        typer.echo(
            f"run {info['run_id']}: config {new.config_hash} live (version {version}; "
            f"`marketmesh rollback` restores {live.config_hash if live else '-'})"
        )

    @app.command()
    def rollback(
        address: Annotated[str, ADDRESS] = "auto",
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
    ) -> None:
        """Restore the previous config version on the running graph."""
        import ray

        from marketmesh.commands.attach import NotRunning, attach

        try:
            control, info, handles = attach(address, namespace)
        except NotRunning as exc:
            _fail(str(exc))
        previous = ray.get(control.pop_config.remote())
        if previous is None:
            _fail(f"run {info['run_id']}: no earlier config version to roll back to")
        _push_to_graph(handles, previous)
        typer.echo(f"run {info['run_id']}: rolled back; config {previous.config_hash} live")
