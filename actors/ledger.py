"""InventoryLedgerActor: the double-entry journal and the truth about exposure.

Fills and hedge outcomes arrive from different actors in any order; the
ledger keeps a hedge *pending* from the moment it learns of a mirror-hedged
fill until the router reports the outcome, so the rebalancer never hedges an
exposure that a hedge in flight is about to close (no over-hedging).
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

import ray

from actors.context import RunContext
from analytics.writer import PartWriters
from engine.config import AppConfig
from engine.hedging import mirror_hedge_id
from engine.ledger import Ledger, Posting
from engine.netting import Exposure, exposures
from engine.types import Fill, HedgeOutcome, split_symbol

log = logging.getLogger(__name__)


@ray.remote
class InventoryLedgerActor:
    def __init__(self, config: AppConfig, ctx: RunContext) -> None:
        self._config = config
        self._ctx = ctx
        self._ledger = Ledger(config.quote_asset)
        self._pending: dict[str, tuple[str, Decimal]] = {}  # hedge id -> (asset, base delta)
        self._concluded: set[str] = set()

    async def on_start(self, opening: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
        """Open every venue's balances (as the venue reported them, else from config)."""
        self._writers = PartWriters(
            self._ctx.data_dir,
            ("ledger_entries", "exposure"),
            writer_id="ledger",
            run_id=self._ctx.run_id,
            config_hash=self._ctx.config_hash,
        )
        now = time.time_ns()
        for venue in self._config.venues:
            given = (opening or {}).get(venue.id)
            balances = {a: Decimal(v) for a, v in given.items()} if given else venue.balances
            self._write(self._ledger.open_balances(venue.id, balances, now))
        return {"venues": len(self._config.venues)}

    async def on_stop(self) -> None:
        await self.flush()

    async def flush(self) -> None:
        self._writers.flush()

    async def on_config(self, config: AppConfig) -> str:
        """Thresholds change; the journal and balances do not."""
        self._config = config
        self._writers.retag(config.config_hash)
        return config.config_hash

    async def on_fills(self, fills: list[Fill], hedge_pending: bool) -> int:
        posted = 0
        for fill in fills:
            postings = self._ledger.post_fill(fill)
            if not postings:
                continue  # already booked: a redelivery never counts twice
            posted += 1
            self._write(postings)
            hedge_id = mirror_hedge_id(fill.fill_id)
            if hedge_pending and hedge_id not in self._concluded:
                base, _ = split_symbol(fill.market)
                self._pending[hedge_id] = (base, fill.side.opposite.sign * fill.amount)
        return posted

    async def on_hedge_outcomes(self, outcomes: list[HedgeOutcome]) -> int:
        for outcome in outcomes:
            self._write(self._ledger.post_executions(outcome.executions))
            self._concluded.add(outcome.hedge_id)
            self._pending.pop(outcome.hedge_id, None)
        return len(outcomes)

    async def exposure(self, mids: dict[str, float]) -> list[Exposure]:
        pending: dict[str, Decimal] = {}
        for asset, delta in self._pending.values():
            pending[asset] = pending.get(asset, Decimal(0)) + delta
        rb = self._config.rebalancer
        result = exposures(
            self._ledger.positions(),
            pending,
            quote_asset=self._config.quote_asset,
            mids=mids,
            threshold_quote=rb.exposure_threshold_quote,
            thresholds_base=rb.thresholds,
        )
        now = time.time_ns()
        self._writers["exposure"].append(
            [
                {
                    "ts": now,
                    "asset": e.asset,
                    "net": float(e.net),
                    "pending": float(e.pending),
                    "target": float(e.target),
                    "threshold": float(e.threshold),
                }
                for e in result
            ]
        )
        return result

    async def equity_change(self, mids: dict[str, float]) -> float:
        return self._ledger.equity_change(mids)

    async def balances(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for (venue, asset), amount in self._ledger.balances().items():
            out.setdefault(venue, {})[asset] = str(amount)
        return out

    async def pending_hedges(self) -> int:
        return len(self._pending)

    def _write(self, postings: list[Posting]) -> None:
        self._writers["ledger_entries"].append(
            [
                {
                    "ts": p.ts_ns,
                    "entry_id": p.entry_id,
                    "ref": p.ref,
                    "venue": p.venue,
                    "account": p.account.value,
                    "asset": p.asset,
                    "amount": p.amount,
                    "kind": p.kind,
                }
                for p in postings
            ]
        )
