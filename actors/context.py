"""What every actor of one run shares: identity of the run and where data goes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import ray

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunContext:
    run_id: str
    config_hash: str
    data_dir: str
    sim_start_ns: int  # start of the shared reference price path
    sim_seed: int


def actor_name(run_id: str, role: str) -> str:
    """The Ray name of the run's actor playing `role` (`ledger`, `router`, `venue:<id>`)."""
    return f"marketmesh-{run_id}-{role}"


class Peer:
    """Another actor of the run, reached by its Ray name: what an actor's constructor gets
    instead of that actor's handle.

    Ray keeps a constructor argument that holds an actor handle in the object store, and
    an actor with `max_restarts` needs it back from there to restart (the driver logged
    a `core_worker.cc` error about it on every run, ray-project/ray#53727). A name is a
    plain string: the actor looks the peer up on first use (`ray.get_actor`) and the
    `Peer` then stands for its handle (`peer.on_fill.remote(...)`), so the actors' code
    reads as with a handle. A restarted peer keeps its name and its handle stays valid.
    """

    __slots__ = ("_handle", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._handle: Any = None

    @property
    def handle(self) -> Any:
        if self._handle is None:
            self._handle = ray.get_actor(self.name)
        return self._handle

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):  # pickling and copy probe dunders: not the peer's methods
            raise AttributeError(attr)
        return getattr(self.handle, attr)

    def __reduce__(self) -> tuple[type[Peer], tuple[str]]:
        return (Peer, (self.name,))

    def __repr__(self) -> str:
        return f"Peer({self.name!r})"


async def live_config(fallback: Any) -> Any:
    """The config version live now: `apply`, `rollback` and `scale` change it after start,
    and an actor Ray restarts is re-built from its original arguments. Asks the run's
    control actor; `fallback` (the constructor's config) when it cannot answer. The
    control actor's copy holds no secrets; those of `fallback` are put back."""
    from actors.control import CONTROL_NAME

    try:
        live = await ray.get_actor(CONTROL_NAME).current_config.remote()
    except Exception as exc:  # no control actor (a test driving one actor) or its node gone
        log.warning("live config unavailable, keeping the one this actor started with: %s", exc)
        return fallback
    if live is None:
        return fallback
    # the control actor keeps a redacted config: keep the secrets this actor was given
    return live.with_secrets_from(fallback) if fallback is not None else live


class RestartGate:
    """Ray re-runs an actor's `__init__` after a crash (`max_restarts`) but nobody calls
    its `on_start` again: the first call the new incarnation gets runs `resume` once,
    and calls arriving meanwhile wait for it. A failed `resume` is tried again by the
    next call."""

    def __init__(self) -> None:
        self.restarted: bool = ray.get_runtime_context().was_current_actor_reconstructed
        self._pending = self.restarted
        self._lock: asyncio.Lock | None = None

    async def ensure(self, resume: Callable[[], Awaitable[None]]) -> None:
        if not self._pending:
            return
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._pending:
                await resume()
                self._pending = False
