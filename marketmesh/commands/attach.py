"""Reaching a running graph from another process (status, stop, resume)."""

from __future__ import annotations

from typing import Any


class NotRunning(RuntimeError):
    pass


def attach(address: str, namespace: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Connect to the cluster; return the control actor, its description and the handles."""
    import ray

    from actors.control import CONTROL_NAME

    if not ray.is_initialized():
        try:
            ray.init(address=address, namespace=namespace, log_to_driver=False)
        except ConnectionError as exc:
            raise NotRunning(f"--address {address}: no Ray cluster to attach to ({exc})") from None
    try:
        control = ray.get_actor(CONTROL_NAME)
    except ValueError:
        raise NotRunning(
            f"no marketmesh graph is running in namespace {namespace!r} at {address}"
        ) from None
    info = ray.get(control.describe.remote())
    return control, info, ray.get(control.handles.remote())
