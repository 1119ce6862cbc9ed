"""RebalancerActor: on a timer, hedges what netting across markets leaves open.

Reads exposure from the ledger (the truth, pending hedges included), asks
`engine.netting` which assets are over threshold, and hands those intents to
the router, waiting for them to be booked before the next cycle.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ray

from actors.context import RunContext
from engine.config import AppConfig
from engine.netting import residual_intents
from engine.types import HedgeOutcome

log = logging.getLogger(__name__)


@ray.remote
class RebalancerActor:
    def __init__(self, config: AppConfig, ctx: RunContext, ledger: Any, router: Any) -> None:
        self._config = config
        self._ctx = ctx
        self._ledger = ledger
        self._router = router
        self._cycle = 0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.outcomes: list[HedgeOutcome] = []

    async def on_start(self) -> dict[str, Any]:
        self._task = asyncio.create_task(self._run())
        return {"interval_s": self._config.rebalancer.interval_s}

    async def on_config(self, config: AppConfig) -> str:
        self._config = config  # the next cycle uses the new interval and thresholds
        return config.config_hash

    async def on_stop(self) -> None:
        """Stop the timer; a cycle under way finishes first (cancelling it mid-hedge
        would let the next cycle read exposure before that hedge is booked)."""
        if self._task is not None:
            self._task.cancel()
        async with self._lock:
            pass

    async def on_timer(self) -> list[HedgeOutcome]:
        """One cycle: net, decide, hedge. Cycles never overlap."""
        async with self._lock:
            self._cycle += 1
            quote = self._config.quote_asset
            exposures = await self._ledger.exposure.remote(await self._mids())
            plan_id = f"rb-{self._ctx.run_id}-{self._cycle}"
            intents = residual_intents(exposures, quote_asset=quote, plan_id=plan_id)
            if not intents:
                return []
            outcomes = await self._router.hedge_intents.remote(intents)
            self.outcomes.extend(outcomes)
            return outcomes

    async def snapshot_exposure(self) -> list[Any]:
        """Record exposure as it stands (the run's final state, after the last hedges)."""
        return list(await self._ledger.exposure.remote(await self._mids()))

    async def _mids(self) -> dict[str, float]:
        quote = self._config.quote_asset
        assets = sorted({m.base for m in self._config.markets} - {quote})
        refs = await self._router.reference.remote([f"{a}/{quote}" for a in assets])
        return {s.split("/")[0]: mid for s, (mid, _) in refs.items()}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._config.rebalancer.interval_s)
            try:
                await asyncio.shield(self.on_timer())
            except Exception:
                log.exception("rebalance cycle failed")
