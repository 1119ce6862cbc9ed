"""Where the page's status comes from and where its buttons act: a running graph.

`GraphSource` is the small interface the app needs; `RayGraph` implements it on
the control actor, reusing `marketmesh.status.status_payload` (what `status
--json` prints) and the CLI's own rollback, so the page and the CLI never differ.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Any, Protocol


class Action(StrEnum):
    KILL = "kill"  # every market paused (quotes cancelled), then a clean stop of the graph
    PAUSE = "pause"  # one market, or every market without one
    RESUME = "resume"
    ROLLBACK = "rollback"  # the previous config version


class ActionRefused(RuntimeError):
    """The graph cannot do what was asked (unknown market, nothing to roll back to)."""


class GraphSource(Protocol):
    async def status(self) -> dict[str, Any]:
        """The `marketmesh status --json` payload of now."""
        ...

    async def act(self, action: Action, market: str | None) -> str:
        """Carry out an operator action; what was done, for the operator."""
        ...


class RayGraph:
    """A running graph reached through its control actor (the caller has `ray.init`-ed)."""

    def __init__(self, control: Any) -> None:
        self._control = control

    @classmethod
    def attach(cls, address: str | None, namespace: str, run_id: str | None) -> RayGraph:
        from marketmesh.commands.attach import attach

        control, _, _ = attach(address, namespace, run_id)
        return cls(control)

    def _graph(self) -> tuple[dict[str, Any], dict[str, Any]]:
        import ray

        info, handles = ray.get([self._control.describe.remote(), self._control.handles.remote()])
        return info, handles

    async def status(self) -> dict[str, Any]:
        from marketmesh.status import status_payload

        def read() -> dict[str, Any]:
            info, handles = self._graph()
            return status_payload(self._control, info, handles)

        return await asyncio.to_thread(read)

    async def act(self, action: Action, market: str | None) -> str:
        return await asyncio.to_thread(self._act, action, market)

    def _act(self, action: Action, market: str | None) -> str:
        import ray

        from marketmesh.commands.ops import RollbackRefused, roll_back

        _, handles = self._graph()
        if action is Action.ROLLBACK:
            try:
                return f"rolled back; config {roll_back(self._control, handles)} live"
            except RollbackRefused as exc:
                raise ActionRefused(str(exc)) from None
        markets = sorted(k.removeprefix("market:") for k in handles if k.startswith("market:"))
        if market is not None:
            if market not in markets:
                raise ActionRefused(f"market {market}: not in this graph")
            markets = [market]
        if action is Action.RESUME:
            ray.get([handles[f"market:{m}"].on_resume.remote(m) for m in markets])
            return "quoting resumed: " + ", ".join(markets)
        why = "operations page kill switch" if action is Action.KILL else "operations page"
        cancelled = ray.get([handles[f"market:{m}"].on_pause.remote(m, why) for m in markets])
        done = f"paused {', '.join(markets)} ({sum(cancelled)} quotes cancelled)"
        if action is Action.KILL:
            ray.get(self._control.request_stop.remote(why))
            return done + "; graph stopping"
        return done
