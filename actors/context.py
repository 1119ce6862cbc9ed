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
