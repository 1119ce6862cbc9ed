"""Kill switch: `marketmesh stop --market M | --all` and `marketmesh resume --market M`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from marketmesh.commands.status import ADDRESS, NAMESPACE


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
        address: Annotated[str, ADDRESS] = "auto",
        namespace: Annotated[str, NAMESPACE] = "marketmesh",
    ) -> None:
        """Add or remove markets on a running graph; the other markets keep quoting."""
        import ray
        import yaml

        from engine.config import ConfigError, market_definitions, scaled_config
        from marketmesh.commands.attach import NotRunning, attach

        definitions = []
        if config is not None:
            try:
                definitions = market_definitions(yaml.safe_load(Path(config).read_text()), config)
            except OSError as exc:
                _fail(f"--config {config}: {exc.strerror}")
            except (ConfigError, yaml.YAMLError) as exc:
                _fail(f"--config {config}: {exc}")
        try:
            control, info, _ = attach(address, namespace)
        except NotRunning as exc:
            _fail(str(exc))
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
        version = ray.get(control.push_config.remote(new.redacted()))
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
        from engine.config import structural_changes

        live = ray.get(control.current_config.remote())
        versions = ray.get(control.config_versions.remote())
        if len(versions) < 2:
            _fail(f"run {info['run_id']}: no earlier config version to roll back to")
        previous = ray.get(control.previous_config.remote())
        problems = structural_changes(live, previous)
        if problems:  # the graph's shape changed since (`marketmesh scale`)
            _fail(
                f"run {info['run_id']}: cannot roll back across a change of shape:\n  "
                + "\n  ".join(problems)
            )
        previous = ray.get(control.pop_config.remote())
        _push_to_graph(handles, previous)
        typer.echo(f"run {info['run_id']}: rolled back; config {previous.config_hash} live")
