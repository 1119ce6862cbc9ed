"""Reaching a running graph from another process (status, stop, resume, apply, scale).

Which graph: `--address` (a cluster, e.g. `auto` on a cluster node) or, on this
host, the one live run (`marketmesh.graph.registry`); with several live runs the
command must be told `--run-id`, and every command says which run it attached to.
"""

from __future__ import annotations

import sys
from typing import Any, cast


class NotRunning(RuntimeError):
    pass


class WhichRun(RuntimeError):
    """Several graphs run here and the command was not told which (a usage error)."""


class StillStarting(RuntimeError):
    """The run's control actor answers but the graph has not finished starting."""


# the actors every command relies on, registered by the driver once the graph is up
STARTED_WITH = ("ledger", "router")
START_WAIT_S = 20.0


def resolve(address: str | None, namespace: str, run_id: str | None) -> tuple[str, str]:
    """(Ray address, namespace) of the graph to attach to."""
    if address:
        return address, namespace
    from marketmesh.graph.registry import live_runs

    runs = live_runs()
    if run_id:
        runs = [r for r in runs if r.run_id == run_id]
        if not runs:
            raise NotRunning(f"--run-id {run_id}: no such run is live on this host")
    if not runs:
        raise NotRunning(
            "no marketmesh run is live on this host (on a cluster, give --address auto)"
        )
    if len(runs) > 1:
        listed = "\n  ".join(r.describe() for r in runs)
        raise WhichRun(
            f"{len(runs)} runs are live on this host; name one with --run-id:\n  {listed}"
        )
    return runs[0].address, runs[0].namespace


def use_run_auth(address: str) -> None:
    """Authenticate as the run's cluster expects. Ray turns token auth on by itself for
    the local cluster a driver starts, but not for a client given that cluster's address:
    without `RAY_AUTH_MODE=token` the client sends no token and is refused. The run
    recorded its mode; an explicit RAY_AUTH_MODE in the environment wins."""
    import os

    from marketmesh.graph.registry import live_runs

    if "RAY_AUTH_MODE" in os.environ:
        return
    for run in live_runs():
        if run.address == address and run.ray_auth_mode:
            os.environ["RAY_AUTH_MODE"] = run.ray_auth_mode
            if "ray" in sys.modules:  # Ray caches its config: re-read it, as ray.init does
                from ray._raylet import Config  # type: ignore[attr-defined]

                Config.initialize("")
            return


def attach(
    address: str | None,
    namespace: str,
    run_id: str | None = None,
    *,
    start_wait_s: float = START_WAIT_S,
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Connect to the graph; return the control actor, its description and the handles.
    Says on stderr which run it attached to. A run still starting (its ~12 s before
    the actors are up) is waited for up to `start_wait_s`, then `StillStarting`."""
    import logging

    import ray

    from actors.control import CONTROL_NAME

    from_registry = not address
    address, namespace = resolve(address, namespace, run_id)
    if from_registry:
        use_run_auth(address)
    if not ray.is_initialized():
        try:
            ray.init(
                address=address,
                namespace=namespace,
                log_to_driver=False,
                logging_level=logging.ERROR,  # not Ray's "Connecting to existing cluster"
            )
        except ConnectionError as exc:
            raise NotRunning(f"--address {address}: no Ray cluster to attach to ({exc})") from None
    try:
        control = ray.get_actor(CONTROL_NAME)
    except ValueError:
        raise NotRunning(
            f"no marketmesh graph is running in namespace {namespace!r} at {address}"
        ) from None
    info = cast("dict[str, Any]", ray.get(control.describe.remote()))
    if run_id and info["run_id"] != run_id:
        raise NotRunning(f"--run-id {run_id}: the graph at {address} is run {info['run_id']}")
    print(
        f"attached to run {info['run_id']} (config {info.get('config', '?')} "
        f"{info['config_hash']}, host {info.get('host', '?')}, data {info['data_dir']})",
        file=sys.stderr,
    )
    return control, info, _started_handles(control, info, start_wait_s)


def _started_handles(control: Any, info: dict[str, Any], wait_s: float) -> dict[str, Any]:
    import time

    import ray

    deadline = time.monotonic() + wait_s
    said = False
    while True:
        handles: dict[str, Any] = ray.get(control.handles.remote())
        if all(name in handles for name in STARTED_WITH):
            return handles
        if time.monotonic() >= deadline:
            raise StillStarting(
                f"run {info['run_id']} is still starting (its actors are not all up after "
                f"{wait_s:g}s); try again in a few seconds"
            )
        if not said:
            print(f"run {info['run_id']} is starting: waiting for its actors", file=sys.stderr)
            said = True
        time.sleep(0.5)
