"""The driver: builds the actor graph from a config, supervises it, shuts it down.

`run_graph` is the whole life of one run: its own venue-sim (when the config
simulates venues), Ray, the actors in dependency order (`builder`), taking over
what an earlier run left (`carry_over`), the loop (`supervisor`) and the clean
shutdown (`shutdown`). Actor options live in one table (`options`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ray

from actors.context import RunContext
from engine.config import AppConfig, env_references
from marketmesh.graph.builder import (
    Graph,
    LiveHandles,
    SimAccess,
    home_access,
    home_behind_ccxt,
    market_groups,
    spawn_actors,
    start_trading,
    start_venues,
)
from marketmesh.graph.carry_over import carry_from_previous_run
from marketmesh.graph.control import claim_control
from marketmesh.graph.reconcile import home_balances
from marketmesh.graph.registry import RunEntry, register_run, unregister_run
from marketmesh.graph.shutdown import shut_down
from marketmesh.graph.supervisor import StatusCallback, supervise
from marketmesh.metrics import serve_metrics
from marketmesh.monitoring import GraphMonitor
from marketmesh.simproc import launch_venue_sim

__all__ = ["RunResult", "ensure_ray", "market_groups", "new_run_id", "run_graph"]


@dataclass
class RunResult:
    run_id: str
    data_dir: str
    start_ns: int
    end_ns: int
    market_status: list[dict[str, Any]]
    router_status: dict[str, Any]
    reconciliation: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        from marketmesh.graph.reconcile import agrees

        return all(
            agrees(a, b) for assets in self.reconciliation.values() for a, b in assets.values()
        )


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + secrets.token_hex(2)


ProgressCallback = Callable[[str], None]


def ray_logging_level(verbose: bool) -> int:
    """Ray's own lines (its token-auth notice, "Started a local Ray instance") are for
    whoever debugs Ray: a run shows them with `--verbose` only; errors always show."""
    return logging.INFO if verbose else logging.ERROR


def ensure_ray(
    config: AppConfig, address: str | None, hide_env: Iterable[str] = (), *, verbose: bool = False
) -> None:
    """Start (or join) Ray. `hide_env`: variables holding secrets; a local Ray's raylet,
    and every worker it forks, inherits the driver's environment, so they are out of
    it while Ray starts (the actors get the secrets they need as arguments)."""
    if ray.is_initialized():
        return
    quiet = ray_logging_level(verbose)
    with without_env(hide_env):
        if address:
            ray.init(
                address=address, namespace="marketmesh", log_to_driver=False, logging_level=quiet
            )
        else:
            ray.init(
                address="local",
                num_cpus=config.ray.num_cpus,
                include_dashboard=False,
                namespace="marketmesh",
                log_to_driver=False,
                logging_level=quiet,
            )


@contextlib.contextmanager
def without_env(names: Iterable[str]) -> Iterator[None]:
    """The process environment without `names`, restored afterwards."""
    saved = {n: os.environ.pop(n) for n in list(names) if n in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def run_graph(
    config: AppConfig,
    *,
    config_path: Path,
    duration_s: float,
    data_dir: str,
    address: str | None = None,
    on_status: StatusCallback | None = None,
    status_interval_s: float = 1.0,
    metrics_port: int | None = None,
    on_progress: ProgressCallback | None = None,
    verbose: bool = False,
) -> RunResult:
    """Run the whole graph for `duration_s` (or until Ctrl-C) and shut it down cleanly.
    `on_progress` hears each start-up step ("Ray", "hedge venues", ...) as it begins."""
    progress = on_progress or (lambda _step: None)
    run_id = new_run_id()
    start_ns = time.time_ns()
    ctx = RunContext(
        run_id=run_id,
        config_hash=config.config_hash,
        data_dir=data_dir,
        sim_start_ns=start_ns,
        sim_seed=config.sim.seed,
    )
    sim = SimAccess(None, secrets.token_hex(16), secrets.token_hex(32))
    home_served = home_behind_ccxt(config) and config.home_venue.simulated
    launch = None
    if any(v.simulated for v in config.hedge_venues) or home_served:
        progress("venue simulator")
        launch = launch_venue_sim(
            config_path,
            start_ns=start_ns,
            api_key=sim.api_key,
            api_secret=sim.api_secret,
            log_path=Path(data_dir) / "_logs" / f"venue-sim-{run_id}.log",
        )
    actors: list[Any] = []
    try:
        progress("Ray")
        ensure_ray(config, address, hide_env=env_references(config_path), verbose=verbose)
        if launch is not None:  # it booted beside Ray (~1.3 s of a core each)
            sim = SimAccess(launch.ready(), sim.api_key, sim.api_secret)
        return _run(
            config,
            ctx,
            sim,
            duration_s,
            on_status,
            status_interval_s,
            actors,
            metrics_port,
            str(config_path),
            progress,
        )
    finally:
        unregister_run(run_id)
        for actor in actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        if launch is not None:  # ready or not
            launch.sim.stop()


def _register(ctx: RunContext, config_path: str) -> None:
    """List this run in the local registry so `attach`, `stop` and the UI can find it."""
    register_run(
        RunEntry(
            run_id=ctx.run_id,
            address=ray.get_runtime_context().gcs_address,
            namespace=ray.get_runtime_context().namespace,
            pid=os.getpid(),
            host=socket.gethostname(),
            config=config_path,
            config_hash=ctx.config_hash,
            data_dir=ctx.data_dir,
            started_ns=ctx.sim_start_ns,
            ray_auth_mode=os.environ.get("RAY_AUTH_MODE", ""),
        )
    )


def _opening_balances(
    config: AppConfig, venues: dict[str, Any], access: dict[str, Any]
) -> dict[str, dict[str, str]]:
    """Every venue's balances as the ledger opens at them (the later reconciliation's baseline)."""
    opening = {
        vid: {asset: str(amount) for asset, amount in bal.items()}
        for vid, bal in zip(
            venues, ray.get([a.balances.remote() for a in venues.values()]), strict=True
        )
    }
    if access:  # a home venue behind ccxt opens (and reconciles) at what it reports
        opening[config.home_venue.id] = {
            a: str(v) for a, v in home_balances(config, access).items()
        }
    return opening


def _run(
    config: AppConfig,
    ctx: RunContext,
    sim: SimAccess,
    duration_s: float,
    on_status: StatusCallback | None,
    status_interval_s: float,
    actors: list[Any],
    metrics_port: int | None,
    config_path: str,
    progress: ProgressCallback,
) -> RunResult:
    control = claim_control(ctx, config_path)
    actors.append(control)
    _register(ctx, config_path)
    progress(f"{len(config.hedge_venues)} hedge venues")
    access = home_access(config, sim)
    spawned = spawn_actors(config, ctx, sim, access, actors)
    venues = spawned.venues
    start_venues(venues)
    # before any balance is read: what an earlier run left (quotes resting, exposure open)
    carried, carried_from = carry_from_previous_run(config, ctx, venues, access)
    opening = _opening_balances(config, venues, access)
    progress("ledger")
    ledger = spawned.ledger
    outlive = not any(v.simulated for v in config.venues)
    ray.get(ledger.on_start.remote(opening, carried, carried_from, venues_outlive_run=outlive))
    graph = Graph(
        config=config,
        ctx=ctx,
        control=control,
        ledger=ledger,
        venues=venues,
        home_access=access,
        actors=actors,
    )
    progress(f"router, rebalancer, {len(config.markets)} markets")
    start_trading(graph, spawned)
    ray.get(control.register.remote(graph.handles, config.redacted()))
    monitor = GraphMonitor(config, ctx, LiveHandles(graph))
    metrics, metrics_server = serve_metrics(metrics_port) if metrics_port else (None, None)
    try:
        supervise(
            graph,
            monitor,
            duration_s=duration_s,
            status_interval_s=status_interval_s,
            on_status=on_status,
            metrics=metrics,
        )
        market_status, router_status, reconciliation = shut_down(graph)
    finally:
        monitor.close()
        if metrics_server is not None:
            metrics_server.shutdown()
    return RunResult(
        run_id=ctx.run_id,
        data_dir=ctx.data_dir,
        start_ns=ctx.sim_start_ns,
        end_ns=time.time_ns(),
        market_status=market_status,
        router_status=router_status,
        reconciliation=reconciliation,
        alerts=monitor.fired,
    )
