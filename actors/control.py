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
    def __init__(
        self, run_id: str, config_hash: str, data_dir: str, *, config: str = "", host: str = ""
    ) -> None:
        self._info = {
            "run_id": run_id,
            "config_hash": config_hash,
            "data_dir": data_dir,
            "config": config,
            "host": host,
            "started_ns": time.time_ns(),
        }
        self._handles: dict[str, Any] = {}
        self._stop_reason = ""
        self._finished = False
        self._alerts: list[dict[str, Any]] = []
        self._configs: list[Any] = []  # AppConfig versions, oldest first
        self._scale_requests: list[tuple[int, Any, list[str], list[str]]] = []
        self._scale_results: dict[int, dict[str, Any]] = {}
        self._scale_seq = 0

    async def register(self, handles: dict[str, Any], config: Any = None) -> None:
        self._handles.update(handles)
        if config is not None and not self._configs:
            self._configs.append(config)

    async def config_versions(self) -> list[str]:
        """Hashes of the config versions applied, oldest first; the last one is live."""
        return [c.config_hash for c in self._configs]

    async def current_config(self) -> Any:
        return self._configs[-1] if self._configs else None

    async def push_config(self, config: Any) -> int:
        self._configs.append(config)
        return len(self._configs)

    async def previous_config(self) -> Any:
        return self._configs[-2] if len(self._configs) > 1 else None

    async def pop_config(self) -> Any:
        """Drop the live version; return the one that is live again (None if none is left)."""
        if len(self._configs) < 2:
            return None
        self._configs.pop()
        return self._configs[-1]

    async def describe(self) -> dict[str, Any]:
        return {**self._info, "stopping": bool(self._stop_reason), "finished": self._finished}

    async def handles(self) -> dict[str, Any]:
        return dict(self._handles)

    async def request_stop(self, reason: str) -> None:
        self._stop_reason = self._stop_reason or reason

    async def stop_reason(self) -> str:
        return self._stop_reason

    async def poll(self) -> tuple[str, int, bool]:
        """What the driver checks each second: a stop request, the config version, and
        whether a `marketmesh scale` request waits."""
        return self._stop_reason, len(self._configs), bool(self._scale_requests)

    async def unregister(self, names: list[str]) -> None:
        for name in names:
            self._handles.pop(name, None)

    # `marketmesh scale`: the CLI files a request, the driver carries it out --------

    async def request_scale(self, config: Any, add: list[str], remove: list[str]) -> int:
        if self._stop_reason or self._finished:
            raise RuntimeError(f"the run is stopping ({self._stop_reason or 'finished'})")
        self._scale_seq += 1
        self._scale_requests.append((self._scale_seq, config, add, remove))
        return self._scale_seq

    async def take_scale(self) -> tuple[int, Any, list[str], list[str]] | None:
        return self._scale_requests.pop(0) if self._scale_requests else None

    async def finish_scale(self, ticket: int, result: dict[str, Any]) -> None:
        self._scale_results[ticket] = result

    async def scale_result(self, ticket: int) -> dict[str, Any] | None:
        return self._scale_results.get(ticket)

    async def record_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self._alerts = (self._alerts + alerts)[-100:]

    async def alerts(self) -> list[dict[str, Any]]:
        return list(self._alerts)

    async def mark_finished(self) -> None:
        self._finished = True
