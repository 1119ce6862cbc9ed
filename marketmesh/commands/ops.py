"""Kill switch: `marketmesh stop --market M | --all` and `marketmesh resume --market M`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from marketmesh.commands.status import ADDRESS, NAMESPACE, RUN_ID, attach_or_exit


def _fail(message: str) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    register_config_commands(app)
    register_scale_command(app)

    @app.command()
    def stop(
        market: Annotated[
            list[str] | None, typer.Option(help="cancel this market's quotes and pause it")
        ] = None,
        all_: Annotated[
            bool, typer.Option("--all", help="stop the whole graph with a clean shutdown")
        ] = False,
        wait: Annotated[float, typer.Option(help="seconds to wait for --all to finish")] = 120,
        yes: Annotated[
            bool, typer.Option("--yes", help="stop --all without asking (scripts)")
        ] = False,
        address: Annotated[str | None, ADDRESS] = None,
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        run_id: Annotated[str | None, RUN_ID] = None,
    ) -> None:
        """Cancel quotes safely: per market (fills still hedge) or the whole graph."""
        import sys

        import ray

        if not market and not all_:
            _fail("say what to stop: --market SYMBOL (repeatable) or --all")
        control, info, handles = attach_or_exit(address, namespace, run_id)
        if all_:
            if not yes:
                if not sys.stdin.isatty():
                    typer.secho(
                        f"stop --all: would stop run {info['run_id']}; not on a terminal, so "
                        "nobody can confirm: add --yes",
                        err=True,
                        fg=typer.colors.RED,
                    )
                    raise typer.Exit(2)
                typer.confirm(f"stop run {info['run_id']} ({info['data_dir']})?", abort=True)
            ray.get(control.request_stop.remote("marketmesh stop --all"))
            typer.echo(f"run {info['run_id']}: stop requested; the driver shuts down cleanly")
            _wait_until_stopped(control, info["run_id"], wait)
            return
        unknown = [m for m in market or [] if f"market:{m}" not in handles]
        if unknown:
            known = ", ".join(sorted(k.removeprefix("market:") for k in handles if "market:" in k))
            _fail(f"--market {', '.join(unknown)}: not in this graph (markets: {known})")
        for m in market or []:
            n = ray.get(handles[f"market:{m}"].on_pause.remote(m, "marketmesh stop"))
            typer.echo(f"run {info['run_id']}: {m}: paused, {n} quotes cancelled")

    @app.command()
    def resume(
        market: Annotated[list[str], typer.Option(help="resume quoting this market")],
        address: Annotated[str | None, ADDRESS] = None,
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        run_id: Annotated[str | None, RUN_ID] = None,
    ) -> None:
        """Resume quoting a market paused by `marketmesh stop --market`."""
        import ray

        _, info, handles = attach_or_exit(address, namespace, run_id)
        for m in market:
            if f"market:{m}" not in handles:
                _fail(f"--market {m}: not in run {info['run_id']}")
            ray.get(handles[f"market:{m}"].on_resume.remote(m))
            typer.echo(f"run {info['run_id']}: {m}: quoting resumed")


def _wait_until_stopped(control: Any, run_id: str, wait: float) -> None:
    """Until the driver says the run finished. The control actor going away is the driver
    tearing the graph down; a look-up that merely times out proves nothing."""
    import ray

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if ray.get(control.describe.remote(), timeout=5)["finished"]:
                typer.echo(f"run {run_id}: stopped")
                return
        except ray.exceptions.RayActorError:
            typer.echo(f"run {run_id}: stopped (the driver tore the graph down)")
            return
        except ray.exceptions.GetTimeoutError:
            typer.echo(f"run {run_id}: no answer yet, still waiting", err=True)
        time.sleep(0.5)
    _fail(f"run {run_id}: still stopping after {wait:g}s")


def register_scale_command(app: typer.Typer) -> None:
    @app.command()
    def scale(
        add_market: Annotated[
            list[str] | None,
            typer.Option("--add-market", help="start quoting this market (repeatable)"),
        ] = None,
        remove_market: Annotated[
            list[str] | None,
            typer.Option("--remove-market", help="stop this market for good (repeatable)"),
        ] = None,
        config: Annotated[
            str | None,
            typer.Option(
                help="YAML defining the added markets under `markets:` (a whole config or just "
                "that list); --add-market needs it"
            ),
        ] = None,
        wait: Annotated[float, typer.Option(help="seconds to wait for the graph")] = 120,
        address: Annotated[str | None, ADDRESS] = None,
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        run_id: Annotated[str | None, RUN_ID] = None,
    ) -> None:
        """Add or remove markets on a running graph; the other markets keep quoting."""
        import ray
        import yaml

        from engine.config import ConfigError, market_definitions, scaled_config

        definitions = []
        if config is not None:
            try:
                definitions = market_definitions(yaml.safe_load(Path(config).read_text()), config)
            except OSError as exc:
                _fail(f"--config {config}: {exc.strerror}")
            except (ConfigError, yaml.YAMLError) as exc:
                _fail(f"--config {config}: {exc}")
        control, info, _ = attach_or_exit(address, namespace, run_id)
        live = ray.get(control.current_config.remote())
        try:
            new = scaled_config(
                live, add=add_market or [], remove=remove_market or [], definitions=definitions
            )
        except ConfigError as exc:
            _fail(f"run {info['run_id']}: cannot scale:\n  " + str(exc).replace("\n", "\n  "))
        try:
            ticket = ray.get(
                control.request_scale.remote(new, add_market or [], remove_market or [])
            )
        except ray.exceptions.RayTaskError as exc:
            _fail(f"run {info['run_id']}: {exc.cause}")
        deadline = time.monotonic() + wait
        while (done := ray.get(control.scale_result.remote(ticket))) is None:
            if time.monotonic() > deadline:
                _fail(f"run {info['run_id']}: the driver has not scaled after {wait:g}s")
            time.sleep(0.25)
        for symbol in done["removed"]:
            typer.echo(f"{symbol}: removed (quotes cancelled, last fills hedged)")
        for symbol in done["added"]:
            typer.echo(f"{symbol}: added, quoting")
        if done["error"]:
            _fail(f"run {info['run_id']}: scale stopped: {done['error']}")
        typer.echo(f"run {info['run_id']}: config {new.config_hash} live")


def config_for(name: str, config: Any) -> Any:
    """What actor `name` gets of a config: its venue's own settings for a hedge venue,
    the home venue's keys for a market, its clients for a broker, no secret otherwise."""
    if name.startswith("venue:"):
        return next(v for v in config.venues if v.id == name.removeprefix("venue:"))
    if name.startswith("market:"):
        return config.redacted(keep_venues={config.home_venue.id})
    if name.startswith("broker:"):
        return config.redacted(keep_brokers={name.removeprefix("broker:")})
    return config.redacted()


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
        ray.get(actor.on_config.remote(config_for(name, config)))
        done.append(name)
    return done


def register_config_commands(app: typer.Typer) -> None:
    @app.command("apply")
    def apply_config(
        config: Annotated[str, typer.Argument(help="the new YAML config")],
        address: Annotated[str | None, ADDRESS] = None,
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        run_id: Annotated[str | None, RUN_ID] = None,
    ) -> None:
        """Apply a new config version to the running graph (quoting, risk, alert parameters)."""
        import ray

        from engine.config import ConfigError, load_config, structural_changes

        try:
            new = load_config(config)
        except ConfigError as exc:
            typer.secho(f"config error:\n{exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None
        control, info, handles = attach_or_exit(address, namespace, run_id)
        live = ray.get(control.current_config.remote())
        if live is not None and live.config_hash == new.config_hash:
            typer.echo(f"run {info['run_id']}: config {new.config_hash} is already live")
            return
        problems = structural_changes(live, new) if live is not None else []
        if problems:
            _fail("cannot apply to a running graph:\n  " + "\n  ".join(problems))
        version = ray.get(control.push_config.remote(new.redacted()))
        _push_to_graph(handles, new)
        typer.echo(
            f"run {info['run_id']}: config {new.config_hash} live (version {version}; "
            f"`marketmesh rollback` restores {live.config_hash if live else '-'})"
        )

    @app.command()
    def rollback(
        address: Annotated[str | None, ADDRESS] = None,
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
        run_id: Annotated[str | None, RUN_ID] = None,
    ) -> None:
        """Restore the previous config version on the running graph."""
        control, info, handles = attach_or_exit(address, namespace, run_id)
        try:
            live_hash = roll_back(control, handles)
        except RollbackRefused as exc:
            _fail(f"run {info['run_id']}: {exc}")
        typer.echo(f"run {info['run_id']}: rolled back; config {live_hash} live")


class RollbackRefused(RuntimeError):
    """No earlier version, or one the graph's shape no longer fits."""


def roll_back(control: Any, handles: dict[str, Any]) -> str:
    """Restore the previous config version on the graph (the CLI and the operations page);
    returns the hash live again."""
    import ray

    from engine.config import structural_changes

    live = ray.get(control.current_config.remote())
    versions = ray.get(control.config_versions.remote())
    if len(versions) < 2:
        raise RollbackRefused("no earlier config version to roll back to")
    previous = ray.get(control.previous_config.remote())
    problems = structural_changes(live, previous)
    if problems:  # the graph's shape changed since (`marketmesh scale`)
        raise RollbackRefused(
            "cannot roll back across a change of shape:\n  " + "\n  ".join(problems)
        )
    previous = ray.get(control.pop_config.remote())
    _push_to_graph(handles, previous)
    return str(previous.config_hash)
