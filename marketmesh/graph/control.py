"""The driver's side of the named control actor: claim it, and ask it without dying."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.context import RunContext
from actors.control import CONTROL_NAME, RunControl

log = logging.getLogger(__name__)


def ask_control(ref: Any) -> Any:
    """The control actor serves other processes (attach, stop, apply); losing it (its node
    gone) must not end the run: the answer is None and trading goes on."""
    try:
        return ray.get(ref, timeout=10)
    except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
        log.warning("control actor unreachable, attach/stop/apply unavailable: %s", exc)
        return None


def claim_control(ctx: RunContext, config_path: str = "") -> Any:
    """Create the named control actor; refuse if another graph is live in this namespace."""
    deadline = time.monotonic() + 15
    while True:
        try:
            here = ray.get_runtime_context().get_node_id()  # with the driver, not a worker
            return RunControl.options(  # type: ignore[attr-defined]
                name=CONTROL_NAME,
                scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=True),
            ).remote(
                ctx.run_id,
                ctx.config_hash,
                ctx.data_dir,
                config=config_path,
                host=socket.gethostname(),
            )
        except ValueError:  # the name is taken: a live graph, or one being torn down
            info: Any
            try:
                other = ray.get_actor(CONTROL_NAME)
                info = ray.get(other.describe.remote(), timeout=5)
            except Exception:
                info = None
            if info is not None and not info["finished"]:
                raise RuntimeError(
                    f"another graph is running in this Ray namespace (run {info['run_id']}, "
                    f"data {info['data_dir']}); stop it with `marketmesh stop --all`"
                ) from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
