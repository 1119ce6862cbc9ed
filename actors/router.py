"""HedgeRouterActor: turns hedge needs into child orders on the best venues.

It holds the latest book, balance and health of every hedge venue (pulled on
a timer), answers MarketActors' reference-price pulls from the consolidated
book, and hedges each fill (mirror mode), each market's net once it is big or
old enough (hybrid mode, `engine.hedging.hybrid_trigger`), or each intent from
the rebalancer (net mode). A hedge too big for one trade runs as TWAP slices
(`engine.routing.slicing`). The plan itself is `engine.routing.plan_hedge`;
this class only wires it. Every hedge reports its outcome to the ledger
*before* the hedge counts as done, so the ledger never sees exposure without
knowing a hedge is pending. Hedges the ledger does not hold as pending (hybrid
and rebalance ones) are counted here while in flight, so a second hedge for
the same asset is cut to the gap that is really still open.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from decimal import Decimal
from typing import Any

import ray

from actors.context import RestartGate, RunContext, live_config
from analytics.recovery import hedge_ids_in_dataset
from analytics.writer import PartWriters
from engine.config import AppConfig, HedgeMode
from engine.consolidated import consolidate_books
from engine.hedging import (
    UnhedgedFills,
    cap_to_open_gap,
    hedge_outcome,
    hybrid_intent,
    hybrid_trigger,
    mirror_hedge_id,
    mirror_intent,
)
from engine.journal import InflightChild
from engine.quoting.base import ExternalBook
from engine.recovery import (
    RecordedChild,
    abandoned_intent,
    recovered_intent,
    recovery_rows,
    summarised_children,
)
from engine.routing.planner import VenueQuote, plan_hedge
from engine.routing.quality import (
    DecisionBenchmarks,
    achieved_all_in_price,
    decision_benchmarks,
    saving_bps,
)
from engine.routing.slicing import HedgeSlice, residual_after, slice_schedule
from engine.types import (
    BookSnapshot,
    ChildOrderResult,
    Fill,
    HedgeIntent,
    HedgeOutcome,
    HedgeStatus,
    Side,
    split_symbol,
)

log = logging.getLogger(__name__)

RECOVERY_ATTEMPTS = 5  # look-ups per in-flight hedge after a restart before giving up
# fill -> first child order sent, seconds (Prometheus histogram buckets)
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@ray.remote
class HedgeRouterActor:
    def __init__(
        self, config: AppConfig, ctx: RunContext, venues: dict[str, Any], ledger: Any
    ) -> None:
        self._config = config
        self._ctx = ctx
        self._venues = venues
        self._ledger = ledger
        self._snapshots: dict[str, Any] = {}
        self._seen_fills: set[str] = set()
        self._inflight: set[asyncio.Task[HedgeOutcome]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stats = {"hedges": 0, "hedged": 0, "partial": 0, "skipped": 0}
        self._latency_counts = [0] * (len(LATENCY_BUCKETS_S) + 1)  # last: +Inf
        self._latency_sum_s = 0.0
        self._unhedged: dict[str, UnhedgedFills] = {}  # hybrid markets' fills waiting
        self._unbooked: dict[str, Decimal] = {}  # asset -> base of in-flight unpended hedges
        # after a crash Ray re-runs __init__ (max_restarts) but nobody calls on_start:
        # the first call this incarnation gets starts it and finishes what the last
        # one had in flight, from the ledger's journal
        self._gate = RestartGate()
        self._known_hedges: set[str] = set()  # decided before a restart: never again

    async def on_start(self) -> dict[str, Any]:
        self._writers = PartWriters(
            self._ctx.data_dir,
            ("hedge_orders", "hedge_fills"),
            writer_id="router",
            run_id=self._ctx.run_id,
            config_hash=self._ctx.config_hash,
            background=True,  # a part write never holds up a hedge
        )
        await self._refresh()
        self._task = asyncio.create_task(self._run())
        return {"venues": sorted(self._snapshots)}

    async def _ensure_started(self) -> None:
        await self._gate.ensure(self._resume_after_crash)

    async def _resume_after_crash(self) -> None:
        self._config = await live_config(self._config)
        state = await self._ledger.recovery_state.remote()
        self._known_hedges = set(state["known"])
        await self.on_start()
        await self._rebuild_lost_rows(state["concluded"])
        self._spawn(self._recover(state["inflight"], state["pending"]))

    async def _rebuild_lost_rows(self, concluded: set[str]) -> None:
        """Hedges the crashed incarnation concluded whose `hedge_orders` rows were still in
        its Parquet buffer: rebuilt from the ledger's journaled outcome, so every fill
        keeps its decision record."""
        missing = sorted(concluded - hedge_ids_in_dataset(self._ctx.data_dir, self._ctx.run_id))
        if not missing:
            return
        summaries = await self._ledger.outcome_summaries.remote(missing)
        now = time.time_ns()
        for hedge_id, o in summaries.items():
            intent = HedgeIntent(
                hedge_id, o["symbol"], Side(o["side"]), o["requested"], o["source_fill_id"]
            )
            why = f"rebuilt after a router restart: {o['reason']}"
            rows = recovery_rows(intent, summarised_children(o), why, why, now)
            self._writers["hedge_orders"].append(rows)
        log.warning("router: rebuilt hedge_orders rows of %d hedges", len(summaries))

    async def _recover(
        self, inflight: dict[str, list[InflightChild]], pending: dict[str, tuple[str, Decimal]]
    ) -> HedgeOutcome | None:
        """Conclude what the crashed incarnation left: hedges with children sent are
        looked up by client order id at each venue and booked from what executed;
        hedges with nothing sent are handed to the rebalancer (their exposure nets)."""
        for hedge_id, children in sorted(inflight.items()):
            results, undetermined = await self._look_up(hedge_id, children)
            if undetermined:  # leave it in flight: a later restart or an operator decides
                log.error("hedge %s: venues cannot say about %s", hedge_id, undetermined)
                continue
            intent = recovered_intent(hedge_id, children[0].symbol, pending.get(hedge_id), results)
            reason = f"recovered after a router restart: {len(results)}/{len(children)} found"
            outcome = hedge_outcome(intent, results, [reason])
            rows = recovery_rows(
                intent,
                [RecordedChild.of(r) for r in results],
                reason,
                f"{reason}; the rest is the rebalancer's",
                time.time_ns(),
            )
            self._writers["hedge_orders"].append(rows)
            await self._ledger.on_hedge_outcomes.remote([outcome])
        why = "router restarted before sending; the rebalancer nets its exposure"
        abandoned = sorted(h for h in pending if h not in inflight)
        now = time.time_ns()
        for hedge_id in abandoned:
            intent = abandoned_intent(hedge_id, *pending[hedge_id])
            rows = recovery_rows(intent, [], why, f"{why}; the rest is the rebalancer's", now)
            self._writers["hedge_orders"].append(rows)
        if abandoned:
            await self._ledger.abandon_hedges.remote(abandoned, why)
        return None

    async def _look_up(
        self, hedge_id: str, children: list[InflightChild]
    ) -> tuple[list[ChildOrderResult], list[str]]:
        """Each child by client order id, retried while a venue cannot say."""
        results: list[ChildOrderResult] = []
        undetermined: list[str] = []
        for attempt in range(RECOVERY_ATTEMPTS):
            results, undetermined = [], []
            for child in children:
                found, result = await self._venues[child.venue].recover.remote(
                    hedge_id, child.symbol, child.client_order_id
                )
                if found == "found" and result is not None:
                    results.append(result)
                elif found == "undetermined":
                    undetermined.append(child.client_order_id)
            if not undetermined:
                break
            await asyncio.sleep(0.5 * 2**attempt)
        return results, undetermined

    async def process_info(self) -> dict[str, Any]:
        """This incarnation's worker pid: what a fault test kills."""
        return {"pid": os.getpid(), "restarted": self._gate.restarted}

    async def on_stop(self) -> None:
        await self._ensure_started()
        await self.drain()
        if self._task is not None:
            self._task.cancel()
        await self.flush()

    async def flush(self) -> None:
        """Every buffered row on disk before this returns."""
        self._writers.close()

    async def on_config(self, config: AppConfig) -> str:
        """New risk limits apply to the next hedge planned; rows carry the new hash."""
        self._config = config
        self._writers.retag(config.config_hash)
        return config.config_hash

    async def drain(self) -> int:
        """Hedge what hybrid markets hold back, then wait until every hedge in flight
        has reported to the ledger."""
        await self._ensure_started()
        for market in sorted(self._unhedged):
            intent = hybrid_intent(self._unhedged.pop(market), "hybrid: drain at stop")
            if intent is not None:
                self._spawn(self._hedge_hybrid(intent))
        n = len(self._inflight)
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        return n

    async def status(self) -> dict[str, Any]:
        await self._ensure_started()
        health = {v: (s.healthy, s.reason) for v, s in self._snapshots.items()}
        return {
            **self._stats,
            "inflight": len(self._inflight),
            "hybrid_waiting_fills": sum(len(u.fills) for u in self._unhedged.values()),
            "venues": health,
            "latency_buckets_s": list(LATENCY_BUCKETS_S),
            "latency_counts": list(self._latency_counts),
            "latency_sum_s": self._latency_sum_s,
        }

    # inputs ------------------------------------------------------------------

    async def reference(self, symbols: list[str]) -> dict[str, tuple[float, int]]:
        """Consolidated mid per symbol: best bid and best ask across healthy venues."""
        await self._ensure_started()
        out: dict[str, tuple[float, int]] = {}
        for symbol in symbols:
            books = self._fresh_books(symbol, time.time_ns())
            bids = [b.best_bid for b in books.values() if b.best_bid is not None]
            asks = [b.best_ask for b in books.values() if b.best_ask is not None]
            if bids and asks:
                oldest = min(b.ts_ns for b in books.values())
                out[symbol] = ((max(bids) + min(asks)) / 2.0, oldest)
        return out

    async def reference_books(self, symbols: list[str]) -> dict[str, ExternalBook]:
        """Read-only, for `policy: mirror`: the healthy venues' fresh books as one, and
        the base they can sell, the quote they can spend and their highest taker fee."""
        await self._ensure_started()
        out: dict[str, ExternalBook] = {}
        now = time.time_ns()
        for symbol in symbols:
            books = self._fresh_books(symbol, now)
            if not books:
                continue
            base, quote = split_symbol(symbol)
            snaps = [self._snapshots[v] for v in books]
            out[symbol] = ExternalBook(
                book=consolidate_books(symbol, books.values()),
                base_available=float(sum(s.balances.get(base, Decimal(0)) for s in snaps)),
                quote_available=float(sum(s.balances.get(quote, Decimal(0)) for s in snaps)),
                taker_fee=max(s.taker_fee for s in snaps),
            )
        return out

    async def on_fills(self, fills: list[Fill]) -> int:
        """Hedge new fills by their market's mode; returns at once (hedges run in the
        background). Mirror: one hedge per fill. Hybrid: the fill joins its market's
        unhedged net, hedged once the trigger fires. Net: left to the rebalancer."""
        await self._ensure_started()
        started = 0
        hybrid: set[str] = set()
        for fill in fills:
            if (
                fill.fill_id in self._seen_fills
                or mirror_hedge_id(fill.fill_id) in self._known_hedges
            ):
                continue  # a redelivered batch (or one decided before a restart) never hedges twice
            self._seen_fills.add(fill.fill_id)
            mode = self._hedge_mode(fill.market)
            if mode is HedgeMode.MIRROR:
                self._spawn(self._hedge(mirror_intent(fill), pended=True))
                started += 1
            elif mode is HedgeMode.HYBRID:
                waiting = self._unhedged.get(fill.market, UnhedgedFills(fill.market))
                self._unhedged[fill.market] = waiting.add(fill)
                hybrid.add(fill.market)
        now = time.time_ns()
        for market in sorted(hybrid):
            started += self._check_hybrid(market, now)
        return started

    async def hedge_intents(self, intents: list[HedgeIntent]) -> list[HedgeOutcome]:
        """Hedge the rebalancer's intents; returns once the ledger has booked them.

        They count as in flight like mirror hedges, so `drain` waits for them
        even if the caller stopped waiting. An intent is first cut to the gap
        still open once the hedges in flight here (hybrid, earlier rebalances)
        land: the rebalancer read its exposure before they were booked.
        """
        await self._ensure_started()
        tasks = []
        for intent in intents:
            if intent.hedge_id in self._known_hedges:  # retried into a new incarnation
                why = "decided before a router restart"
                tasks.append(self._spawn(self._hedge_capped(intent, 0.0, why)))
                continue
            base = split_symbol(intent.symbol)[0]
            seen_gap = Decimal(repr(intent.amount)) * -intent.side.sign
            open_gap = seen_gap + self._unbooked.get(base, Decimal(0))
            amount = cap_to_open_gap(intent.side, intent.amount, open_gap)
            if amount < intent.amount:
                why = f"in-flight hedges already cover {intent.amount - amount:.10g} of it"
                tasks.append(self._spawn(self._hedge_capped(intent, amount, why)))
            else:
                tasks.append(self._spawn(self._hedge(intent, pended=False)))
        return list(await asyncio.gather(*tasks))

    def _spawn(self, coro: Any) -> asyncio.Task[HedgeOutcome]:
        task = asyncio.create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    def _hedge_mode(self, market: str) -> HedgeMode:
        """A market removed by `marketmesh scale` hedges its last fills one by one."""
        try:
            return self._config.market(market).hedge_mode
        except KeyError:
            return HedgeMode.MIRROR

    # hybrid ------------------------------------------------------------------

    def _check_hybrid(self, market: str, now: int) -> int:
        """Start the market's hybrid hedge if its trigger fires; 1 if started."""
        waiting = self._unhedged.get(market)
        if waiting is None:
            return 0
        mode = self._hedge_mode(market)
        if mode is not HedgeMode.HYBRID:  # the mode changed, or the market left: hedge it
            reason: str | None = f"hybrid: mode is now {mode.value}"
        else:
            cfg = self._config.market(market)
            reason = hybrid_trigger(
                waiting,
                self._reference_mid(market, now),
                threshold_quote=cfg.hybrid_threshold_quote,
                max_age_s=cfg.hybrid_max_age_s,
                now_ns=now,
            )
        if reason is None:
            return 0
        del self._unhedged[market]
        intent = hybrid_intent(waiting, reason)
        if intent is None:
            return 0  # the fills netted to zero: nothing to hedge
        self._spawn(self._hedge_hybrid(intent))
        return 1

    async def _hedge_hybrid(self, intent: HedgeIntent) -> HedgeOutcome:
        """Hedge a hybrid net, cut to the asset's gap the ledger (and hedges in flight) leave
        open: the rebalancer may have netted part of it across markets meanwhile."""
        base = split_symbol(intent.symbol)[0]
        exposures = await self._ledger.exposure.remote({})
        gap = next((e.gap for e in exposures if e.asset == base), Decimal(0))
        # no await between reading in-flight hedges and registering this one below
        open_gap = gap + self._unbooked.get(base, Decimal(0))
        amount = cap_to_open_gap(intent.side, intent.amount, open_gap)
        if amount < intent.amount:
            why = f"open gap {open_gap} covers only {amount:.10g}"
            return await self._hedge_capped(intent, amount, why)
        return await self._hedge(intent, pended=False)

    async def _hedge_capped(self, intent: HedgeIntent, amount: float, why: str) -> HedgeOutcome:
        """Hedge `amount` of `intent` (less than asked); record why the rest is not needed."""
        if amount <= 0:
            outcome = HedgeOutcome(
                hedge_id=intent.hedge_id,
                symbol=intent.symbol,
                side=intent.side,
                requested=intent.amount,
                status=HedgeStatus.SKIPPED,
                reason=f"not needed: {why}",
                source_fill_id=intent.source_fill_id,
            )
            await self._ledger.on_hedge_outcomes.remote([outcome])
            self._record_skip(intent, intent.amount, f"not needed: {why}", time.time_ns())
            self._stats["hedges"] += 1
            self._stats["skipped"] += 1
            return outcome
        self._record_skip(intent, intent.amount - amount, f"not needed: {why}", time.time_ns())
        return await self._hedge(dataclasses.replace(intent, amount=amount), pended=False)

    # the hedge ---------------------------------------------------------------

    async def _hedge(self, intent: HedgeIntent, *, pended: bool) -> HedgeOutcome:
        """Plan, send and book one hedge, in TWAP slices when it is too big for one trade.

        `pended`: the ledger already holds this hedge as pending (mirror). If not,
        its base delta counts in `_unbooked` until the ledger has booked it.
        """
        base = split_symbol(intent.symbol)[0]
        delta = intent.side.sign * Decimal(repr(intent.amount))
        if not pended:
            self._unbooked[base] = self._unbooked.get(base, Decimal(0)) + delta
        try:
            now = time.time_ns()
            slices = slice_schedule(
                intent, self._reference_mid(intent.symbol, now), self._config.risk, now
            )
            results: list[ChildOrderResult] = []
            reasons: list[str] = []
            for piece in slices:
                wait_s = (piece.due_ns - time.time_ns()) / 1e9
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                slice_results, slice_reasons = await self._hedge_slice(intent, piece)
                results += slice_results
                reasons += slice_reasons
            unscheduled = residual_after(intent, slices)
            if unscheduled > 0:
                why = f"max_slices {self._config.risk.max_slices}: {unscheduled:.10g} not scheduled"
                reasons.append(why)
                self._record_skip(intent, unscheduled, why, time.time_ns())
            outcome = hedge_outcome(intent, results, reasons)
            await self._ledger.on_hedge_outcomes.remote([outcome])
        finally:
            if not pended:
                self._unbooked[base] = self._unbooked.get(base, Decimal(0)) - delta
        self._stats["hedges"] += 1
        self._stats[outcome.status.value] += 1
        return outcome

    async def _hedge_slice(
        self, parent: HedgeIntent, piece: HedgeSlice
    ) -> tuple[list[ChildOrderResult], list[str]]:
        """Plan one slice on the books of now, send it, price it against its benchmarks."""
        intent = piece.intent
        now = time.time_ns()
        quotes, excluded = self._venue_quotes(intent, now)
        plan = plan_hedge(intent, quotes, self._config.risk, now, excluded=excluded)
        # children carry the parent's hedge id (executions and the ledger book the
        # parent); their client ids come from the slice's id, so slices never collide
        children = [dataclasses.replace(c, hedge_id=parent.hedge_id) for c in plan.children]
        by_venue: dict[str, list[Any]] = {}
        for child in children:
            by_venue.setdefault(child.venue, []).append(child)
        if children:  # journaled first: a restarted router looks these up, never resends
            await self._ledger.on_hedge_sent.remote(
                parent.hedge_id,
                [InflightChild(c.venue, c.symbol, c.client_order_id) for c in children],
            )
        sent_ns = time.time_ns()
        refs = [self._venues[v].execute.remote(c) for v, c in by_venue.items()]
        if piece.index == 0 and parent.source_ts_ns and children:
            self._observe_latency((sent_ns - parent.source_ts_ns) / 1e9)
        # priced while the orders travel: the same books the plan was decided on
        bench = self._benchmarks(intent, quotes, now)
        answers = await asyncio.gather(*refs, return_exceptions=True)
        results: list[ChildOrderResult] = []
        for (venue, sent), answer in zip(by_venue.items(), answers, strict=True):
            if isinstance(answer, BaseException):
                # the venue actor died mid-call: the orders' fate is unknown
                reason = f"venue actor failed: {type(answer).__name__}"
                results += [ChildOrderResult(c, "unknown", reason=reason) for c in sent]
                log.error("%s: %s", venue, answer)
            else:
                results += answer
        self._record(parent, piece, plan.residual, plan.reasons, results, sent_ns, bench)
        return results, list(plan.reasons)

    def _benchmarks(
        self, intent: HedgeIntent, quotes: list[VenueQuote], now: int
    ) -> DecisionBenchmarks:
        """Best single venue and optimum split for the slice, on the fresh books it saw."""
        max_age_ns = self._config.risk.max_book_age_s * 1e9
        fresh = [
            q
            for q in quotes
            if q.book.symbol == intent.symbol
            and now - q.book.ts_ns <= max_age_ns
            and q.book.mid is not None
        ]
        return decision_benchmarks(
            intent.side,
            intent.amount,
            {q.venue: q.book.as_ccxt() for q in fresh},
            {q.venue: q.taker_fee for q in fresh},
            {q.venue: max(0.0, q.available) for q in fresh if q.available is not None},
        )

    def _observe_latency(self, seconds: float) -> None:
        self._latency_sum_s += seconds
        for i, bound in enumerate(LATENCY_BUCKETS_S):
            if seconds <= bound:
                self._latency_counts[i] += 1
                return
        self._latency_counts[-1] += 1

    def _venue_quotes(
        self, intent: HedgeIntent, now: int
    ) -> tuple[list[VenueQuote], dict[str, str]]:
        base, quote = split_symbol(intent.symbol)
        quotes, excluded = [], {}
        for venue, snap in self._snapshots.items():
            book: BookSnapshot | None = snap.books.get(intent.symbol)
            spec = snap.specs.get(intent.symbol)
            if not snap.healthy:
                excluded[venue] = f"unhealthy: {snap.reason}"
            elif book is None or spec is None:
                excluded[venue] = f"unknown symbol {intent.symbol}"
            else:
                held = snap.balances.get(quote if intent.side is Side.BUY else base, Decimal(0))
                quotes.append(VenueQuote(venue, book, snap.taker_fee, spec, float(held)))
        return quotes, excluded

    def _record(
        self,
        parent: HedgeIntent,
        piece: HedgeSlice,
        residual: float,
        reasons: tuple[str, ...],
        results: list[ChildOrderResult],
        sent_ns: int,
        bench: DecisionBenchmarks,
    ) -> None:
        """One hedge_orders row per child (and one for any residual) of this slice.

        Every row of the slice carries its decision benchmarks and the all-in price
        its executions achieved, so `hedge_quality` and `sla` can weigh the saving
        by executed amount.
        """
        executions = [e for r in results for e in r.executions]
        achieved = achieved_all_in_price(parent.side, executions)
        quality = {
            "achieved_all_in_price": achieved,
            "best_single_venue": bench.best_single_venue,
            "best_single_all_in_price": bench.best_single_all_in_price,
            "optimum_all_in_price": bench.optimum_all_in_price,
            "saving_bps": saving_bps(parent.side, achieved, bench.best_single_all_in_price),
        }
        common = {
            "market": parent.symbol,
            "hedge_id": parent.hedge_id,
            "source_fill_id": parent.source_fill_id,
            "side": parent.side.value,
        }
        rows = [
            {
                **common,
                **quality,
                "ts": sent_ns,
                "venue": r.order.venue,
                "client_order_id": r.order.client_order_id,
                "type": r.order.order_type,
                "amount": r.order.amount,
                "limit_price": r.order.limit_price,
                "decision_mid": r.order.decision_mid,
                "status": r.status,
                "reason": r.reason or piece.intent.reason,
                "filled_amount": float(r.filled),
            }
            for r in results
        ]
        if residual > 0:
            rows.append(
                {
                    **common,
                    **quality,
                    "ts": sent_ns,
                    "venue": None,
                    "client_order_id": None,
                    "type": None,
                    "amount": residual,
                    "limit_price": None,
                    "decision_mid": None,
                    "status": "skipped",
                    "reason": "; ".join((piece.intent.reason, *reasons)),
                    "filled_amount": 0.0,
                }
            )
        self._writers["hedge_orders"].append(rows)
        self._writers["hedge_fills"].append(
            [
                {
                    "ts": e.ts_ns or sent_ns,
                    "market": e.symbol,
                    "hedge_id": e.hedge_id,
                    "client_order_id": e.client_order_id,
                    "venue": e.venue,
                    "side": e.side.value,
                    "price": float(e.price),
                    "amount": float(e.amount),
                    "cost": float(e.cost),
                    "fee": float(e.fee),
                    "fee_currency": e.fee_currency,
                }
                for e in executions
            ]
        )

    def _record_skip(self, intent: HedgeIntent, amount: float, reason: str, ts: int) -> None:
        """A hedge_orders row for an amount decided not to be sent, and why."""
        self._writers["hedge_orders"].append(
            [
                {
                    "ts": ts,
                    "market": intent.symbol,
                    "hedge_id": intent.hedge_id,
                    "source_fill_id": intent.source_fill_id,
                    "side": intent.side.value,
                    "venue": None,
                    "client_order_id": None,
                    "type": None,
                    "amount": amount,
                    "limit_price": None,
                    "decision_mid": None,
                    "status": "skipped",
                    "reason": reason,
                    "filled_amount": 0.0,
                }
            ]
        )

    # timer -------------------------------------------------------------------

    async def _run(self) -> None:
        flush_every = self._config.analytics.flush_interval_s
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(self._config.timing.router_refresh_s)
            try:
                await self._refresh()
            except Exception:
                log.exception("router refresh failed")
            now = time.time_ns()
            for market in sorted(self._unhedged):
                self._check_hybrid(market, now)  # age triggers fire between fills too
            if time.monotonic() - last_flush >= flush_every:
                last_flush = time.monotonic()
                try:
                    self._writers.flush()  # handed to the writer thread: returns at once
                except Exception:  # rows stay buffered for the next flush; keep routing
                    log.exception("router: Parquet flush failed")

    async def _refresh(self) -> None:
        names = list(self._venues)
        snaps = await asyncio.gather(
            *(self._venues[v].snapshot.remote() for v in names), return_exceptions=True
        )
        for venue, snap in zip(names, snaps, strict=True):
            if isinstance(snap, BaseException):
                old = self._snapshots.get(venue)
                if old is not None:  # keep its books but exclude it from routing
                    self._snapshots[venue] = type(old)(
                        venue,
                        False,
                        f"unreachable: {type(snap).__name__}",
                        old.books,
                        old.balances,
                        old.taker_fee,
                        old.specs,
                    )
                continue
            self._snapshots[venue] = snap

    def _reference_mid(self, symbol: str, now: int) -> float | None:
        """Consolidated mid (best bid and best ask across healthy fresh books), if any."""
        books = self._fresh_books(symbol, now)
        bids = [b.best_bid for b in books.values() if b.best_bid is not None]
        asks = [b.best_ask for b in books.values() if b.best_ask is not None]
        return (max(bids) + min(asks)) / 2.0 if bids and asks else None

    def _fresh_books(self, symbol: str, now: int) -> dict[str, BookSnapshot]:
        max_age_ns = self._config.risk.max_book_age_s * 1e9
        out = {}
        for venue, snap in self._snapshots.items():
            book = snap.books.get(symbol)
            if snap.healthy and book is not None and now - book.ts_ns <= max_age_ns:
                out[venue] = book
        return out
