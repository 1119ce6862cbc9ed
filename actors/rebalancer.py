"""RebalancerActor: on a timer, hedges what netting across markets leaves open.

Reads exposure from the ledger (the truth, pending hedges included), asks
`engine.netting` which assets are over threshold, and hands those intents to
the router, waiting for them to be booked before the next cycle. Then keeps
each venue's balances inside their bands: moves transfers along (withdrawal
sent -> in transit -> deposit credited) and plans new ones with
`engine.transfers`. Every step is journaled by the ledger before the venue is
asked, so a crash mid-transfer is finished by the next cycle, never repeated.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from decimal import Decimal
from typing import Any

import ray

from actors.context import RunContext, live_config
from actors.lifecycle import Timer
from engine.config import AppConfig
from engine.journal import TransferRecord
from engine.log_redaction import guard_logs
from engine.netting import residual_intents
from engine.transfers import TransferPlan, plan_transfers
from engine.types import HedgeOutcome
from engine.venues.errors import VenueError
from engine.venues.wallet import WithdrawalState, transfer_amount

log = logging.getLogger(__name__)
_ZERO = Decimal(0)


@ray.remote
class RebalancerActor:
    def __init__(
        self,
        config: AppConfig,
        ctx: RunContext,
        ledger: Any,
        router: Any,
        venues: dict[str, Any] | None = None,
    ) -> None:
        guard_logs(config.secret_values())
        self._config = config
        # every base asset any market of the run had: a market removed by `scale` may
        # leave exposure that must still be valued and closed
        self._assets = {m.base for m in config.markets} - {config.quote_asset}
        self._venues = venues or {}
        self._ctx = ctx
        self._ledger = ledger
        self._router = router
        self._cycle = 0
        self._timer = Timer(
            "rebalancer", lambda: self._config.rebalancer.interval_s, self._timer_cycle
        )
        self._lock = asyncio.Lock()
        self._first_seen: dict[str, float] = {}  # transfer id -> when this incarnation saw it
        # after a crash Ray re-runs __init__; the timer restarts with the first call and
        # plan ids carry an incarnation tag (cycle numbers start again from 0)
        restarted = ray.get_runtime_context().was_current_actor_reconstructed
        self._tag = f"r{secrets.token_hex(3)}-" if restarted else ""
        self._restarted = restarted
        self._resumed = False
        self.outcomes: list[HedgeOutcome] = []

    async def on_start(self) -> dict[str, Any]:
        self._timer.start()
        return {"interval_s": self._config.rebalancer.interval_s}

    async def on_config(self, config: AppConfig) -> str:
        self._config = config  # the next cycle uses the new interval and thresholds
        self._assets |= {m.base for m in config.markets} - {config.quote_asset}
        return config.config_hash

    def _ensure_timer(self) -> None:
        if self._restarted and not self._timer.running:
            self._timer.start()  # a restarted incarnation's timer starts with its first call

    async def on_stop(self) -> None:
        """Stop the timer; a cycle under way finishes first (cancelling it mid-hedge
        would let the next cycle read exposure before that hedge is booked)."""
        await self._timer.stop()
        async with self._lock:
            pass

    async def on_timer(self) -> list[HedgeOutcome]:
        """One cycle: net, decide, hedge. Cycles never overlap."""
        self._ensure_timer()
        async with self._lock:
            self._cycle += 1
            quote = self._config.quote_asset
            exposures = await self._ledger.exposure.remote(await self._mids())
            plan_id = f"rb-{self._ctx.run_id}-{self._tag}{self._cycle}"
            intents = residual_intents(exposures, quote_asset=quote, plan_id=plan_id)
            outcomes: list[HedgeOutcome] = []
            if intents:
                outcomes = await self._router.hedge_intents.remote(intents)
                self.outcomes.extend(outcomes)
            if self._config.rebalancer.transfers and self._venues:
                await self._transfers()
            return outcomes

    async def _transfers(self) -> None:
        """Advance open transfers, then plan what the balance bands call for."""
        now = time.monotonic()
        incoming: dict[tuple[str, str], Decimal] = {}
        for t in await self._ledger.open_transfers.remote():
            try:
                await self._advance(t, now)
            except VenueError as exc:
                log.warning("transfer %s: %s", t.transfer_id, exc)
            incoming[(t.to_venue, t.asset)] = incoming.get((t.to_venue, t.asset), _ZERO) + t.amount
        bands = {
            v.id: v.balance_bands
            for v in self._config.hedge_venues
            if v.balance_bands and v.id in self._venues
        }
        if not bands:
            return
        plans = plan_transfers(
            await self._ledger.wallet_balances.remote(),
            bands,
            incoming=incoming,
            min_amounts=self._config.rebalancer.min_transfer,
            plan_id=f"xf-{self._ctx.run_id}-{self._tag}{self._cycle}",
        )
        for plan in plans:
            try:
                await self._send(plan)
            except VenueError as exc:
                log.warning("transfer %s: %s", plan.transfer_id, exc)

    async def _send(self, plan: TransferPlan) -> None:
        amount = transfer_amount(plan.amount)
        if amount <= 0:
            return
        record = TransferRecord(
            plan.transfer_id, plan.asset, amount, plan.from_venue, plan.to_venue, "planned"
        )
        if not await self._ledger.on_transfer_planned.remote(record):
            return
        self._first_seen[plan.transfer_id] = time.monotonic()
        address = await self._venues[plan.to_venue].deposit_address.remote(plan.asset)
        state = await self._venues[plan.from_venue].withdraw.remote(
            plan.asset, amount, address, plan.transfer_id
        )
        await self._record(record, state)

    async def _advance(self, t: TransferRecord, now: float) -> None:
        if t.status == "planned":  # outcome unknown (timeout, crash): look it up by id
            state = await self._venues[t.from_venue].find_withdrawal.remote(t.asset, t.transfer_id)
            first = self._first_seen.setdefault(t.transfer_id, now)
            if state.status == "not_found" and now - first < self._config.rebalancer.interval_s:
                return  # may still be on its way to the venue; look again next cycle
            await self._record(t, state)
        elif t.status == "sent" and t.txid:
            credited = await self._venues[t.to_venue].deposit_credited.remote(t.asset, t.txid)
            if credited:
                await self._ledger.on_transfer_credited.remote(t.transfer_id)

    async def _record(self, t: TransferRecord, state: WithdrawalState) -> None:
        if state.status == "sent":
            await self._ledger.on_transfer_sent.remote(t.transfer_id, state.fee, state.txid)
        elif state.status in ("rejected", "not_found"):
            reason = state.reason or "the venue has no such withdrawal"
            await self._ledger.on_transfer_failed.remote(t.transfer_id, reason)

    async def snapshot_exposure(self) -> list[Any]:
        """Record exposure as it stands (the run's final state, after the last hedges)."""
        self._ensure_timer()
        return list(await self._ledger.exposure.remote(await self._mids()))

    async def _mids(self) -> dict[str, float]:
        quote = self._config.quote_asset
        assets = sorted(self._assets)
        refs = await self._router.reference.remote([f"{a}/{quote}" for a in assets])
        return {s.split("/")[0]: mid for s, (mid, _) in refs.items()}

    async def _timer_cycle(self) -> None:
        if self._restarted and not self._resumed:
            await self.on_config(await live_config(self._config))
            self._resumed = True
        await self.on_timer()
