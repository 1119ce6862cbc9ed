"""InventoryLedgerActor: the double-entry journal and the truth about exposure.

Fills and hedge outcomes arrive from different actors in any order; the
ledger keeps a hedge *pending* from the moment it learns of a mirror-hedged
fill until the router reports the outcome, so the rebalancer never hedges an
exposure that a hedge in flight is about to close (no over-hedging).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import ray

from actors.context import RunContext
from actors.lifecycle import FlushCadence, settle_process
from analytics.recovery import missing_from_dataset
from analytics.writer import PartWriters
from engine.config import AppConfig
from engine.hedging import mirror_hedge_id
from engine.journal import Journal, TransferRecord, journal_path
from engine.ledger import Ledger, Posting, entry_rows
from engine.log_redaction import guard_logs
from engine.netting import Exposure, exposures
from engine.recovery import outcome_summary
from engine.sent_log import InflightChild, merge_sent, read_sent_log, sent_log_path
from engine.types import Fill, HedgeOutcome, split_symbol

log = logging.getLogger(__name__)


@ray.remote
class InventoryLedgerActor:
    def __init__(self, config: AppConfig, ctx: RunContext) -> None:
        guard_logs(config.secret_values())
        self._config = config
        self._ctx = ctx
        self._writers = PartWriters(
            ctx.data_dir,
            ("ledger_entries", "exposure", "transfers"),
            writer_id="ledger",
            run_id=ctx.run_id,
            config_hash=ctx.config_hash,
            background=True,  # a part write never holds up a fill batch (bench/fill_throughput)
            tolerant=True,  # a failed write never fails a booking already journaled
        )
        self._flush_cadence = FlushCadence(
            lambda: self._config.analytics.flush_interval_s, time.monotonic_ns()
        )
        self._journal = Journal(journal_path(ctx.data_dir, ctx.run_id))
        state = self._journal.load()
        # a restart (Ray re-runs __init__ after a crash) picks up where the journal ends
        self._ledger = Ledger.replay(config.quote_asset, state.postings)
        self._pending: dict[str, tuple[str, Decimal]] = state.pending  # hedge id -> (asset, delta)
        self._concluded: set[str] = state.concluded
        self._inflight = state.inflight
        self._pending_symbols: dict[str, str] = state.pending_symbols
        self._transfers: dict[str, TransferRecord] = state.transfers
        self._carried: dict[str, Decimal] = state.carried  # left open by an earlier run
        self.restored = len(state.postings)
        if state.postings:
            unwritten = missing_from_dataset(ctx.data_dir, ctx.run_id, state.postings)
            self._append(unwritten)
            self._writers.close()
            log.warning(
                "ledger restored from %s: %d postings, %d re-written to Parquet, "
                "%d hedges pending, %d in flight",
                self._journal.path,
                len(state.postings),
                len(unwritten),
                len(self._pending),
                len(self._inflight),
            )

    async def on_start(
        self,
        opening: dict[str, dict[str, str]] | None = None,
        carried: dict[str, str] | None = None,
        carried_from: list[str] | None = None,
        *,
        venues_outlive_run: bool = True,
    ) -> dict[str, Any]:
        """Open every venue's balances (as the venue reported them, else from config).

        `carried`: base exposure the runs `carried_from` left open (their fills not
        hedged when they stopped). The new run opens flat at the venue balances, so
        without it that exposure would vanish; it is journaled (with the runs it
        settles, `engine.takeover`) and counted in `exposure` until hedged.
        `venues_outlive_run`: False when this run's own venue-sim serves its venues, so
        a later run knows nothing of this one outlives it.
        """
        self._journal.record_meta(
            run_id=self._ctx.run_id,
            config_hash=self._ctx.config_hash,
            quote_asset=self._config.quote_asset,
            venues_outlive_run="1" if venues_outlive_run else "0",
        )
        if carried_from and not self._carried:
            amounts = {a: Decimal(v) for a, v in (carried or {}).items()}
            self._journal.record_carried(amounts, carried_from)
            self._carried = amounts
            log.warning("ledger: exposure carried over from runs %s: %s", carried_from, carried)
        now = time.time_ns()
        postings: list[Posting] = []
        for venue in self._config.venues:
            given = (opening or {}).get(venue.id)
            balances = {a: Decimal(v) for a, v in given.items()} if given else venue.balances
            postings += self._ledger.open_balances(venue.id, balances, now)
        self._commit(postings)
        settle_process(self._config)
        return {"venues": len(self._config.venues), "restored": self.restored}

    async def storage_status(self) -> dict[str, Any]:
        """How this actor's Parquet writes and journal commits are going (the driver's
        storage alert): a journal that cannot commit means no fill or hedge outcome can
        be acknowledged, so the clean stop follows past the configured outage."""
        status = self._writers.storage_status()
        since = self._journal.failing_since_ns
        if since:
            status["failing_for_s"] = max(status["failing_for_s"], (time.time_ns() - since) / 1e9)
            status["journal_failing"] = True
        return status

    async def process_info(self) -> dict[str, int]:
        """This incarnation's worker pid and how many postings it replayed from the journal."""
        return {"pid": os.getpid(), "restored_postings": self.restored}

    async def on_stop(self, closed: str = "") -> None:
        """Flush and close. `closed`: the clean shutdown finished (hedges drained, final
        rebalance, reconciliation: the detail says how it went), so no later run needs
        to take this one over; empty when the run is stopped without it."""
        await self.flush()
        if closed:
            self._journal.mark_closed(time.time_ns(), closed)
        self._journal.close()

    async def flush(self) -> None:
        """Every buffered row on disk before this returns."""
        self._writers.close()

    async def on_config(self, config: AppConfig) -> str:
        """Thresholds change; the journal and balances do not."""
        self._config = config
        self._writers.retag(config.config_hash)
        return config.config_hash

    async def on_fills(self, fills: list[Fill], hedge_pending: bool) -> int:
        """Book fills; journaled before this returns, so an acknowledged fill survives a crash."""
        postings: list[Posting] = []
        pending: list[tuple[str, str, Decimal, str]] = []
        booked_fills: list[Fill] = []
        for fill in fills:
            booked = self._ledger.post_fill(fill)
            if not booked:
                continue  # already booked: a redelivery never counts twice
            booked_fills.append(fill)
            postings += booked
            hedge_id = mirror_hedge_id(fill.fill_id)
            if hedge_pending and hedge_id not in self._concluded:
                base, _ = split_symbol(fill.market)
                delta = fill.side.opposite.sign * fill.amount
                pending.append((hedge_id, base, delta, fill.market))
        self._commit(postings, pending=pending, fills=booked_fills)
        for hedge_id, asset, delta, symbol in pending:
            self._pending[hedge_id] = (asset, delta)
            self._pending_symbols[hedge_id] = symbol
        return len(booked_fills)

    async def on_hedge_sent(self, hedge_id: str, children: list[InflightChild]) -> None:
        """The router sent (or is sending) these child orders. It logged them on disk
        first (`engine.sent_log`) and does not wait for this call."""
        if hedge_id in self._concluded:
            return
        now = time.time_ns()
        sent = self._inflight.get(hedge_id, (now, []))[1] + list(children)  # slices add up
        self._journal.record_inflight(hedge_id, now, sent)
        self._inflight[hedge_id] = (now, sent)

    async def recovery_state(self) -> dict[str, Any]:
        """What a restarted router needs: every hedge id already decided (never hedge
        them again), the children sent for hedges without an outcome (look them up),
        and the mirror hedges pending with nothing sent (symbol, base delta)."""
        # the router's own log of sends: a send it never told us of (it crashed first)
        inflight = merge_sent(
            self._inflight,
            read_sent_log(sent_log_path(self._journal.path)),
            self._concluded,
        )
        return {
            "known": self._concluded | set(self._pending) | set(inflight),
            "concluded": set(self._concluded),
            "inflight": {h: children for h, (_, children) in inflight.items()},
            "pending": {
                h: (self._pending_symbols.get(h, ""), delta)
                for h, (_, delta) in self._pending.items()
            },
        }

    async def outcome_summaries(self, hedge_ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._journal.outcome_summaries(hedge_ids)

    async def abandon_hedges(self, hedge_ids: list[str], reason: str) -> int:
        """Hedges that will never report (no child was sent before a crash): stop waiting,
        so their exposure is the rebalancer's to net."""
        ids = [h for h in hedge_ids if h not in self._concluded]
        self._commit([], concluded=ids)
        for h in ids:
            self._mark_concluded(h)
        if ids:
            log.warning("ledger: %d hedges abandoned to the rebalancer: %s", len(ids), reason)
        return len(ids)

    # transfers between venues ------------------------------------------------

    async def on_transfer_planned(self, record: TransferRecord) -> bool:
        """Journal a transfer before its withdrawal is sent; False if it is already known."""
        if record.transfer_id in self._transfers:
            return False
        self._journal.record(transfers=[record])
        self._transfers[record.transfer_id] = record
        self._transfer_row(record, "planned")
        return True

    async def on_transfer_sent(self, transfer_id: str, fee: Decimal, txid: str) -> int:
        """The withdrawal left its venue: wallet -> in transit, in one transaction."""
        record = self._transfers.get(transfer_id)
        if record is None or record.status == "sent":
            return 0
        sent = replace(record, status="sent", txid=txid)
        postings = self._ledger.post_transfer_out(
            transfer_id, record.from_venue, record.asset, record.amount, fee, time.time_ns()
        )
        self._journal.record(postings, transfers=[sent])
        self._append(postings)
        self._transfers[transfer_id] = sent
        self._transfer_row(sent, "sent", fee=fee)
        return len(postings)

    async def on_transfer_credited(self, transfer_id: str) -> int:
        """The deposit was credited on the destination: in transit -> wallet."""
        record = self._transfers.get(transfer_id)
        if record is None or record.status != "sent":
            return 0
        postings = self._ledger.post_transfer_in(
            transfer_id, record.to_venue, record.asset, record.amount, time.time_ns()
        )
        self._journal.record(postings, credited=[transfer_id])
        self._append(postings)
        del self._transfers[transfer_id]
        self._transfer_row(record, "completed")
        return len(postings)

    async def on_transfer_failed(self, transfer_id: str, reason: str) -> None:
        """A planned withdrawal the venue refused: nothing moved, forget it."""
        record = self._transfers.get(transfer_id)
        if record is None or record.status != "planned":
            return
        self._journal.record(credited=[transfer_id])
        del self._transfers[transfer_id]
        self._transfer_row(record, "failed", reason=reason)

    async def open_transfers(self) -> list[TransferRecord]:
        return list(self._transfers.values())

    async def traded(self, venue: str, asset: str) -> Decimal:
        return self._ledger.traded(venue, asset)

    async def wallet_balances(self) -> dict[tuple[str, str], Decimal]:
        return self._ledger.balances()

    async def desk_exposure(self, assets: list[str], home: str) -> dict[str, tuple[float, float]]:
        """Per asset: (the desk's net unhedged exposure in base units, the `home` venue's
        balance) for the MarketActors' quoting, in one cheap call (no rows written).

        Net unhedged = what trading changed over every venue and in transit, plus what
        earlier runs left open, plus the hedges pending (a mirror-hedged fill is flat
        from the moment it is booked). Calls from one actor run in the order sent, so a
        batch of fills sent before this call is in the answer.
        """
        pending: dict[str, Decimal] = {}
        for asset, delta in self._pending.values():
            pending[asset] = pending.get(asset, Decimal(0)) + delta
        out: dict[str, tuple[float, float]] = {}
        for asset in assets:
            net = (
                self._ledger.position(asset)
                + self._carried.get(asset, Decimal(0))
                + pending.get(asset, Decimal(0))
            )
            out[asset] = (float(net), float(self._ledger.balance(home, asset)))
        return out

    def _transfer_row(
        self, t: TransferRecord, status: str, *, fee: Decimal | None = None, reason: str = ""
    ) -> None:
        self._writers["transfers"].append(
            [
                {
                    "ts": time.time_ns(),
                    "transfer_id": t.transfer_id,
                    "asset": t.asset,
                    "amount": t.amount,
                    "from_venue": t.from_venue,
                    "to_venue": t.to_venue,
                    "fee": fee,
                    "txid": t.txid or None,
                    "status": status,
                    **({"reason": reason} if reason else {}),
                }
            ]
        )

    async def pending_hedge_ids(self) -> list[str]:
        return sorted(self._pending)

    async def on_hedge_outcomes(self, outcomes: list[HedgeOutcome]) -> int:
        postings: list[Posting] = []
        for outcome in outcomes:
            postings += self._ledger.post_executions(outcome.executions)
        ids = [o.hedge_id for o in outcomes]
        summaries = [(o.hedge_id, outcome_summary(o)) for o in outcomes]
        self._commit(postings, concluded=ids, outcomes=summaries)
        for h in ids:
            self._mark_concluded(h)
        return len(outcomes)

    def _mark_concluded(self, hedge_id: str) -> None:
        self._concluded.add(hedge_id)
        self._pending.pop(hedge_id, None)
        self._pending_symbols.pop(hedge_id, None)
        self._inflight.pop(hedge_id, None)

    def _commit(
        self,
        postings: list[Posting],
        *,
        pending: list[tuple[str, str, Decimal, str]] | None = None,
        concluded: list[str] | None = None,
        outcomes: list[tuple[str, dict[str, Any]]] | None = None,
        fills: list[Fill] | None = None,
    ) -> None:
        """Journal first (durable), then the Parquet buffer (flushed on a timer)."""
        if postings or pending or concluded:
            self._journal.record(
                postings,
                pending=pending or (),
                concluded=concluded or (),
                outcomes=outcomes or (),
                fills=fills or (),
            )
        self._append(postings)
        if self._flush_cadence.due(time.monotonic_ns()):
            self._writers.flush()  # handed to the writer thread: returns at once

    async def exposure(self, mids: dict[str, float]) -> list[Exposure]:
        pending: dict[str, Decimal] = {}
        for asset, delta in self._pending.values():
            pending[asset] = pending.get(asset, Decimal(0)) + delta
        rb = self._config.rebalancer
        positions = self._ledger.positions()
        for asset, amount in self._carried.items():
            positions[asset] = positions.get(asset, Decimal(0)) + amount
        result = exposures(
            positions,
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

    def _append(self, postings: list[Posting]) -> None:
        self._writers["ledger_entries"].append(entry_rows(postings))
