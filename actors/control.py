"""RunControl: the one named actor through which another process reaches a running graph.

`marketmesh status` / `stop` attach to the cluster, look this actor up by name
and get every other actor's handle from it, so only one name has to be unique
per namespace. A stop request is a flag the driver's run loop polls: the
driver then performs the same clean shutdown as at the end of `--duration`.
"""

from __future__ import annotations

import time
from typing import Any

import ray

CONTROL_NAME = "marketmesh-control"


@ray.remote(num_cpus=0)
class RunControl:
    def __init__(self, run_id: str, config_hash: str, data_dir: str) -> None:
        self._info = {
            "run_id": run_id,
            "config_hash": config_hash,
            "data_dir": data_dir,
            "started_ns": time.time_ns(),
        }
        self._handles: dict[str, Any] = {}
        self._stop_reason = ""
        self._finished = False
        self._alerts: list[dict[str, Any]] = []

    async def register(self, handles: dict[str, Any]) -> None:
        self._handles.update(handles)

    async def describe(self) -> dict[str, Any]:
        return {**self._info, "stopping": bool(self._stop_reason), "finished": self._finished}

    async def handles(self) -> dict[str, Any]:
        return dict(self._handles)

    async def request_stop(self, reason: str) -> None:
        self._stop_reason = self._stop_reason or reason

    async def stop_reason(self) -> str:
        return self._stop_reason

    async def record_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self._alerts = (self._alerts + alerts)[-100:]

    async def alerts(self) -> list[dict[str, Any]]:
        return list(self._alerts)

    async def mark_finished(self) -> None:
        self._finished = True
