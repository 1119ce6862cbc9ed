"""HedgeRouterActor: refreshes the venues' books, asks the hedging desk, sends and books.

It holds the latest book, balance and health of every hedge venue (pulled on
a timer) and answers MarketActors' reference-price pulls from them
(`engine.consolidated.consolidated_mid`). What to hedge is the desk's
decision (`engine.hedging.HedgingDesk`: mirror, net or hybrid per market,
hedges cut to the open gap); how is `engine.hedging.execution` (TWAP slices,
`engine.routing.plan_hedge`); every row it writes is built by
`engine.hedging.records`. This class only moves data: it sends child orders
to the venue actors and reports every outcome to the ledger *before* the
hedge counts as done, so the ledger never sees exposure without knowing a
hedge is pending.
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
from actors.lifecycle import settle_process
from analytics.recovery import hedge_ids_in_dataset
from analytics.writer import PartWriters
from engine.config import AppConfig
from engine.consolidated import consolidate_books
from engine.hedging import (
    DeskHedge,
    HedgingDesk,
    failed,
    fold_lookups,
    hedge_outcome,
    shortfall,
    skipped_outcome,
)
from engine.hedging.desk import MidOf
from engine.hedging.execution import (
    SlicePlan,
    asked_max_age_ns,
    books_not_young,
    fresh_books,
    old_streamed_books,
    plan_slice,
    reference_mid,
    slice_benchmarks,
    wants_stale_venue,
)
from engine.hedging.inflight import InflightLookup
from engine.hedging.records import decision_fields, execution_rows, skip_row, slice_rows
from engine.journal import journal_path
from engine.log_redaction import guard_logs
from engine.pulse import Pulse
from engine.quoting.base import ExternalBook
from engine.recovery import ABANDONED_REASON, abandoned_rows, rebuilt_rows, recovered_hedge
from engine.routing.reasons import Reason, ReasonKind
from engine.routing.slicing import HedgeSlice, residual_after, slice_schedule
from engine.sent_log import InflightChild, SentLog, sent_log_path
from engine.types import (
    ChildLookup,
    ChildOrderResult,
    Fill,
    HedgeIntent,
    HedgeOutcome,
    InflightState,
    split_symbol,
)
from engine.venues.stream_view import STREAM_EVENTS, newer_books

log = logging.getLogger(__name__)

RECOVERY_ATTEMPTS = 5  # look-ups per in-flight hedge after a restart before giving up
# how long a venue holds the router's ask for changed books before answering with none
FOLLOW_WAIT_S = 1.0
BOOKS_READY_POLL_S = 0.05  # `books_ready` also looks after snapshot refreshes (no pulse)
# fill -> first child order sent, seconds (Prometheus histogram buckets)
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@ray.remote
class HedgeRouterActor:
    def __init__(
        self, config: AppConfig, ctx: RunContext, venues: dict[str, Any], ledger: Any
    ) -> None:
        guard_logs(config.secret_values())  # a venue's error quoted here may hold a URL
        self._config = config
        self._ctx = ctx
        self._venues = venues
        self._ledger = ledger
        self._snapshots: dict[str, Any] = {}
        self._desk = HedgingDesk(config)
        self._inflight: set[asyncio.Task[HedgeOutcome]] = set()
        self._task: asyncio.Task[None] | None = None
        # books_asked_again: streamed books too old at a hedge, asked for again;
        # hedges_held: slices held for such a book a plan without it could not do without;
        # planned_without_stale: slices sent at once without the venues of stale books,
        # the young books placing all of it but dust those venues could not take
        # either (`risk.wait_when_covered` false);
        # book_follow_answers: answers of the venues' long polls (`_follow_venue`);
        # skipped: hedges that executed nothing, failed: those of them for a fault
        counts = (
            "hedges",
            "hedged",
            "partial",
            "skipped",
            "failed",
            "books_asked_again",
            "hedges_held",
            "planned_without_stale",
            "book_follow_answers",
        )
        self._stats = dict.fromkeys(counts, 0)
        self._books_moved = Pulse()  # each change of the book copies here: held hedges wait
        self._latency_counts = [0] * (len(LATENCY_BUCKETS_S) + 1)  # last: +Inf
        self._latency_sum_s = 0.0
        # child orders are on disk here before they leave (the ledger hears without a wait)
        self._sent_log = SentLog(sent_log_path(journal_path(ctx.data_dir, ctx.run_id)))
        # after a crash Ray re-runs __init__ (max_restarts) but nobody calls on_start:
        # the first call this incarnation gets starts it and finishes what the last
        # one had in flight, from the ledger's journal
        self._gate = RestartGate()

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
        settle_process(self._config)
        return {"venues": sorted(self._snapshots)}

    async def _ensure_started(self) -> None:
        await self._gate.ensure(self._resume_after_crash)

    async def _resume_after_crash(self) -> None:
        self._config = await live_config(self._config)
        self._desk.on_config(self._config)
        state = await self._ledger.recovery_state.remote()
        self._desk.remember(set(state["known"]))
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
        for hedge_id, summary in summaries.items():
            self._writers["hedge_orders"].append(rebuilt_rows(hedge_id, summary, now))
        log.warning("router: rebuilt hedge_orders rows of %d hedges", len(summaries))

    async def _recover(
        self, inflight: dict[str, list[InflightChild]], pending: dict[str, tuple[str, Decimal]]
    ) -> HedgeOutcome | None:
        """Conclude what the crashed incarnation left: hedges with children sent are
        looked up by client order id at each venue and booked from what executed;
        hedges with nothing sent are handed to the rebalancer (their exposure nets)."""
        for hedge_id, children in sorted(inflight.items()):
            found = await self._look_up(hedge_id, children)
            if found.state is InflightState.UNDETERMINED:
                # leave it in flight: a later restart or an operator decides
                log.error("hedge %s: venues cannot say about %s", hedge_id, found.undetermined)
                continue
            outcome, rows = recovered_hedge(
                hedge_id,
                children[0].symbol,
                len(children),
                pending.get(hedge_id),
                found.results,
                time.time_ns(),
            )
            self._writers["hedge_orders"].append(rows)
            await self._ledger.on_hedge_outcomes.remote([outcome])
        abandoned = sorted(h for h in pending if h not in inflight)
        now = time.time_ns()
        for hedge_id in abandoned:
            self._writers["hedge_orders"].append(abandoned_rows(hedge_id, *pending[hedge_id], now))
        if abandoned:
            await self._ledger.abandon_hedges.remote(abandoned, ABANDONED_REASON)
        return None

    async def _look_up(self, hedge_id: str, children: list[InflightChild]) -> InflightLookup:
        """Each child by client order id, retried while a venue cannot say."""
        found = fold_lookups([])
        for attempt in range(RECOVERY_ATTEMPTS):
            answers = []
            for child in children:
                said, result = await self._venues[child.venue].recover.remote(
                    hedge_id, child.symbol, child.client_order_id
                )
                answers.append((child.client_order_id, ChildLookup(said), result))
            found = fold_lookups(answers)
            if found.state is InflightState.CONCLUDED:
                break
            await asyncio.sleep(0.5 * 2**attempt)
        return found

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
        self._sent_log.close()  # reopened by the next send, if any

    async def on_config(self, config: AppConfig) -> str:
        """New risk limits apply to the next hedge planned; rows carry the new hash."""
        self._config = config
        self._desk.on_config(config)
        self._writers.retag(config.config_hash)
        return config.config_hash

    async def drain(self) -> int:
        """Hedge what hybrid markets hold back, then wait until every hedge in flight
        has reported to the ledger."""
        await self._ensure_started()
        self._start(self._desk.drain())
        n = len(self._inflight)
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        return n

    async def status(self) -> dict[str, Any]:
        await self._ensure_started()
        health = {v: (s.healthy, s.reason) for v, s in self._snapshots.items()}
        streams = {  # venues that stream: up, or polling REST and why (alert stream_down)
            v: {
                "up": s.market_data == "stream",
                "market_data": s.market_data,
                "reason": s.stream.get("reason", ""),
                **{k: s.stream.get(k, 0) for k in ("connects", *STREAM_EVENTS)},
                # balances pushed on the user data stream: its state ("" when it has none)
                "account": getattr(s, "account", {}).get("state", ""),
                "account_reconnects": getattr(s, "account", {}).get("reconnects", 0),
            }
            for v, s in self._snapshots.items()
            if getattr(s, "market_data", "poll") != "poll"
        }
        rest_weight = {  # what REST polling and orders cost each key (alert before a ban)
            v: {
                "weight": s.rest_weight,
                "limit_per_min": s.weight_limit_per_min,
                "venue_used_peak": s.weight_used_peak,
                "by_operation": getattr(s, "weight_by_operation", {}),
            }
            for v, s in self._snapshots.items()
            if s.weight_limit_per_min
        }
        return {
            "streams": streams,
            "rest_weight": rest_weight,
            **self._stats,
            "inflight": len(self._inflight),
            "hybrid_waiting_fills": self._desk.waiting_fills,
            "venues": health,
            "latency_buckets_s": list(LATENCY_BUCKETS_S),
            "latency_counts": list(self._latency_counts),
            "latency_sum_s": self._latency_sum_s,
        }

    # inputs ------------------------------------------------------------------

    async def books_ready(self, symbols: list[str], timeout_s: float) -> dict[str, list[str]]:
        """Hold until every streamed book of `symbols` here is young enough to plan a hedge
        on (`books_not_young`), or `timeout_s`; returns what is still not (venue ->
        symbols). Quoting starts after it, so no fill is taken while a venue's stream is
        still syncing: its hedge would wait for that book (up to `risk.stale_book_hold_ms`)
        or be planned without the venue."""
        await self._ensure_started()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        max_age_ms = self._config.risk.max_book_age_ms
        while True:
            waiting = books_not_young(self._snapshots, symbols, time.time_ns(), max_age_ms)
            left = deadline - loop.time()
            if not waiting or left <= 0:
                return waiting
            await self._books_moved.wait(min(left, BOOKS_READY_POLL_S))

    async def reference(self, symbols: list[str]) -> dict[str, tuple[float, int]]:
        """Consolidated mid per symbol (best bid and best ask across healthy fresh books),
        with the oldest of those books' timestamps."""
        await self._ensure_started()
        now = time.time_ns()
        out: dict[str, tuple[float, int]] = {}
        for symbol in symbols:
            ref = reference_mid(self._snapshots, symbol, now, self._config.risk.max_book_age_s)
            if ref is not None:
                out[symbol] = ref
        return out

    async def reference_books(self, symbols: list[str]) -> dict[str, ExternalBook]:
        """Read-only, for `policy: mirror` and hedge-aware pricing: the healthy venues'
        fresh books as one and each with its taker fee, the base they can sell, the quote
        they can spend and their highest taker fee."""
        await self._ensure_started()
        out: dict[str, ExternalBook] = {}
        now = time.time_ns()
        for symbol in symbols:
            books = fresh_books(self._snapshots, symbol, now, self._config.risk.max_book_age_s)
            if not books:
                continue
            base, quote = split_symbol(symbol)
            snaps = [self._snapshots[v] for v in books]
            out[symbol] = ExternalBook(
                book=consolidate_books(symbol, books.values()),
                base_available=float(sum(s.balances.get(base, Decimal(0)) for s in snaps)),
                quote_available=float(sum(s.balances.get(quote, Decimal(0)) for s in snaps)),
                taker_fee=max(s.taker_fee for s in snaps),
                venue_books=tuple((books[v], self._snapshots[v].taker_fee) for v in books),
            )
        return out

    async def inflight_exposure(self, assets: list[str]) -> dict[str, float]:
        """Per asset, the base this router's started, not yet booked hedges will add (mirror
        hedges are pending in the ledger already): the MarketActors' net exposure adds it."""
        await self._ensure_started()
        return {a: float(self._desk.inflight.of(a)) for a in assets}

    async def on_fills(self, fills: list[Fill]) -> int:
        """Hedge new fills by their market's mode; returns at once (hedges run in the
        background) with the number of hedges started."""
        await self._ensure_started()
        now = time.time_ns()
        return self._start(self._desk.on_fills(fills, now, self._mids_at(now)), received_ns=now)

    async def hedge_intents(self, intents: list[HedgeIntent]) -> list[HedgeOutcome]:
        """Hedge the rebalancer's intents; returns once the ledger has booked them.

        They count as in flight like mirror hedges, so `drain` waits for them
        even if the caller stopped waiting. Each is first cut by the desk to the
        gap still open once the hedges in flight here land.
        """
        await self._ensure_started()
        tasks = [self._spawn(self._carry_out(h)) for h in self._desk.on_intents(intents)]
        return list(await asyncio.gather(*tasks))

    def _start(self, hedges: list[DeskHedge], received_ns: int | None = None) -> int:
        """Carry out `hedges`; `received_ns`: when the fills they mirror reached us."""
        for hedge in hedges:
            self._spawn(self._carry_out(hedge, received_ns))
        return len(hedges)

    def _spawn(self, coro: Any) -> asyncio.Task[HedgeOutcome]:
        task = asyncio.create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    def _mids_at(self, now: int) -> MidOf:
        """The consolidated mid of a symbol at `now` (None without fresh two-sided books)."""
        max_age_s = self._config.risk.max_book_age_s

        def mid(symbol: str) -> float | None:
            ref = reference_mid(self._snapshots, symbol, now, max_age_s)
            return ref[0] if ref is not None else None

        return mid

    # the hedge ---------------------------------------------------------------

    async def _carry_out(self, hedge: DeskHedge, received_ns: int | None = None) -> HedgeOutcome:
        """Send what the desk decided; record and book what is not needed."""
        if hedge.cut_to_ledger_gap:
            base = split_symbol(hedge.intent.symbol)[0]
            exposures = await self._ledger.exposure.remote({})
            gap = next((e.gap for e in exposures if e.asset == base), Decimal(0))
            hedge = self._desk.cut_to_gap(hedge, gap)  # no await from here to `started`
        if not hedge.is_cut:
            return await self._hedge(hedge.intent, pended=hedge.pended, received_ns=received_ns)
        why = Reason(f"not needed: {hedge.why_not_needed}", ReasonKind.NOT_NEEDED)
        if hedge.send_amount <= 0:
            outcome = skipped_outcome(hedge.intent, why)
            await self._ledger.on_hedge_outcomes.remote([outcome])
            self._writers["hedge_orders"].append(
                [skip_row(hedge.intent, hedge.intent.amount, why, time.time_ns())]
            )
            self._count(outcome, [why])
            return outcome
        self._writers["hedge_orders"].append(
            [skip_row(hedge.intent, hedge.not_needed, why, time.time_ns())]
        )
        return await self._hedge(hedge.to_send, pended=hedge.pended, received_ns=received_ns)

    async def _hedge(
        self, intent: HedgeIntent, *, pended: bool, received_ns: int | None = None
    ) -> HedgeOutcome:
        """Plan, send and book one hedge, in TWAP slices when it is too big for one trade.

        `pended`: the ledger already holds this hedge as pending (mirror). If not,
        the desk counts it in flight until the ledger has booked it.
        """
        self._desk.started(intent, pended=pended)
        try:
            now = time.time_ns()
            mid = self._mids_at(now)(intent.symbol)
            slices = slice_schedule(intent, mid, self._config.risk, now)
            results: list[ChildOrderResult] = []
            reasons: list[str] = []
            for piece in slices:
                wait_s = (piece.due_ns - time.time_ns()) / 1e9
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
                slice_results, slice_reasons = await self._hedge_slice(intent, piece, received_ns)
                results += slice_results
                reasons += slice_reasons
            unscheduled = residual_after(intent, slices)
            if unscheduled > 0:
                why = f"max_slices {self._config.risk.max_slices}: {unscheduled:.10g} not scheduled"
                reasons.append(why)
                self._writers["hedge_orders"].append(
                    [skip_row(intent, unscheduled, why, time.time_ns())]
                )
            outcome = hedge_outcome(intent, results, reasons)
            await self._ledger.on_hedge_outcomes.remote([outcome])
        finally:
            self._desk.booked(intent, pended=pended)
        self._count(outcome, shortfall(results, reasons))
        return outcome

    def _count(self, outcome: HedgeOutcome, reasons: list[str]) -> None:
        """`reasons`: the outcome's, as made (`shortfall`): their kinds say a failure."""
        self._stats["hedges"] += 1
        self._stats[outcome.status.value] += 1
        self._stats["failed"] += failed(outcome.status, reasons)

    async def _hedge_slice(
        self, parent: HedgeIntent, piece: HedgeSlice, received_ns: int | None = None
    ) -> tuple[list[ChildOrderResult], list[str]]:
        """Plan one slice on the books of now, send it, price it against its benchmarks.

        Its rows say when the fill reached the router (`fill_received_ts`, a fill's
        first slice) and how long the plan waited for young books (`book_wait_ms`):
        with the fill's `ts` and `seen_ts` they split fill -> hedge into its legs."""
        asked_ns = time.time_ns()
        now, views, planned = await self._plan_on_young_books(parent, piece, asked_ns)
        children = [InflightChild(c.venue, c.symbol, c.client_order_id) for c in planned.children]
        if children:  # on disk first: a restarted router looks these up, never resends
            self._sent_log.record(parent.hedge_id, time.time_ns(), children)
        sent_ns = time.time_ns()
        by_venue = planned.by_venue
        refs = [self._venues[v].execute.remote(c) for v, c in by_venue.items()]
        if children:  # the ledger's copy, after the orders: not waited for (a Ray round trip)
            self._ledger.on_hedge_sent.remote(parent.hedge_id, children)
        if piece.index == 0 and parent.source_ts_ns and children:
            self._observe_latency((sent_ns - parent.source_ts_ns) / 1e9)
        # priced while the orders travel: the same books the plan was decided on
        bench = slice_benchmarks(
            piece.intent, planned.quotes, now, self._config.risk.max_book_age_s
        )
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
        plan = planned.plan
        rows = slice_rows(
            parent,
            piece.intent.reason,
            results,
            plan.residual,
            plan.reasons,
            sent_ns,
            bench,
            decision_fields(planned.quotes, plan.reasons, now),
        )
        received = received_ns if piece.index == 0 else None
        for row in rows:
            row["fill_received_ts"] = received
            row["book_wait_ms"] = (now - asked_ns) / 1e6
        self._writers["hedge_orders"].append(with_book_ages(rows, views, parent.symbol, now))
        self._writers["hedge_fills"].append(
            execution_rows((e for r in results for e in r.executions), sent_ns)
        )
        return results, list(plan.reasons)

    async def _plan_on_young_books(
        self, parent: HedgeIntent, piece: HedgeSlice, asked_ns: int
    ) -> tuple[int, dict[str, Any], SlicePlan]:
        """(now, the views planned on, the plan) of one slice.

        A venue whose streamed book here is older than `risk.max_book_age_ms` is left
        out at once when the young books place the whole slice: asking it again and
        waiting up to `risk.stale_book_wait_ms` had been the stream path's tail on a
        busy host (BENCHMARKS.md, "Planning without a late venue"). It is asked again
        first (`_views_for`) when they do not, or with `risk.wait_when_covered`.

        A plan that leaves part of the slice unplaced while a venue was left out on a
        stale streamed book is not sent as it is: the hedge is held until the copy here
        of that venue's book is young again (the stream follower and the snapshots bring
        it) or `risk.stale_book_hold_ms` from `asked_ns` runs out, then planned again.
        Every venue's book of a symbol going stale at once is a stall of the stream path
        on a busy host, not a venue gone: held, the hedge goes out a few hundred ms late
        where a skip leaves the fill to the rebalancer (BENCHMARKS.md, "50 markets:
        streamed books against polling"). A hold waits on what arrives anyway and asks
        no venue: asking again each time had multiplied the calls of a stalled host."""
        risk = self._config.risk
        symbol = parent.symbol

        def plan_on(now: int, views: dict[str, Any]) -> tuple[dict[str, str], SlicePlan]:
            too_old = old_streamed_books(views, symbol, now, risk.max_book_age_ms)
            return too_old, plan_slice(parent, piece, views.values(), risk, now, too_old)

        now, views = time.time_ns(), dict(self._snapshots)
        too_old, planned = plan_on(now, views)
        if too_old and (risk.wait_when_covered or wants_stale_venue(planned, too_old, views)):
            now, views = await self._views_for(symbol)
            too_old, planned = plan_on(now, views)
        elif too_old:
            self._stats["planned_without_stale"] += 1
        hold_until_ns = asked_ns + int(risk.stale_book_hold_ms * 1e6)
        held = False
        while wants_stale_venue(planned, too_old, views):
            left_s = (hold_until_ns - time.time_ns()) / 1e9
            if left_s <= 0:
                break
            if not held:
                held = True
                self._stats["hedges_held"] += 1
            await self._books_moved.wait(left_s)
            t = time.time_ns()
            still = old_streamed_books(self._snapshots, symbol, t, risk.max_book_age_ms)
            if too_old.keys() - still.keys() or t >= hold_until_ns:  # one is young, or time
                now, views = t, dict(self._snapshots)
                too_old, planned = plan_on(now, views)
        return now, views, planned

    async def _views_for(self, symbol: str) -> tuple[int, dict[str, Any]]:
        """(now, the venue snapshots to plan `symbol` on): a streaming venue whose copy here
        is older than `risk.max_book_age_ms` is asked again for that book first (one small
        Ray call: only then, so most hedges pay nothing), and waits up to
        `risk.stale_book_wait_ms` for its stream to bring a young one; one still older
        than that is left out by the caller (`old_streamed_books`)."""
        now = time.time_ns()
        risk = self._config.risk
        aged = list(old_streamed_books(self._snapshots, symbol, now, risk.max_book_age_ms))
        if aged:
            max_age_ns = asked_max_age_ns(risk.max_book_age_ms)
            await self._refresh_book(aged, symbol, max_age_ns, risk.stale_book_wait_ms / 1e3)
            now = time.time_ns()
        return now, dict(self._snapshots)

    def _observe_latency(self, seconds: float) -> None:
        self._latency_sum_s += seconds
        for i, bound in enumerate(LATENCY_BUCKETS_S):
            if seconds <= bound:
                self._latency_counts[i] += 1
                return
        self._latency_counts[-1] += 1

    # timer -------------------------------------------------------------------

    async def _run(self) -> None:
        follow = asyncio.create_task(self._follow_books())
        try:
            await self._timer()
        finally:
            follow.cancel()

    async def _follow_books(self) -> None:
        """Follow each streaming venue's books between snapshots, one long poll a venue
        (`_follow_venue`): the copies here stay one answer behind the streams. Idle while
        snapshots come at least as often (`router_books_s >= router_refresh_s`)."""
        followers: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                timing = self._config.timing
                streaming = (
                    {v for v, snap in self._snapshots.items() if snap.stream}
                    if timing.router_books_s < timing.router_refresh_s
                    else set()
                )
                for venue in [v for v, t in followers.items() if v not in streaming or t.done()]:
                    followers.pop(venue).cancel()
                for venue in streaming - followers.keys():
                    followers[venue] = asyncio.create_task(self._follow_venue(venue))
                await asyncio.sleep(timing.router_refresh_s)
        finally:
            for task in followers.values():
                task.cancel()

    async def _follow_venue(self, venue: str) -> None:
        """Ask `venue` for the books that changed since the last answer, the venue holding
        the ask until one does (up to `FOLLOW_WAIT_S`), and ask again at most every
        `timing.router_books_s`. A snapshot every `router_refresh_s` had left the copies
        up to 50-200 ms older than the venue's, and a hedge on such a copy asked again and
        waited (BENCHMARKS.md, "Streams vs polling"); the spacing bounds the calls at
        many symbols a venue, where some book changes on every message."""
        loop = asyncio.get_running_loop()
        epoch: int | None = None
        version = 0
        while True:
            asked = loop.time()
            try:
                changes = await self._venues[venue].books_since.remote(
                    epoch, version, FOLLOW_WAIT_S
                )
            except Exception:  # the snapshot refresh says why, and keeps the books it has
                changes = None
                await asyncio.sleep(self._config.timing.router_refresh_s)
            if changes is not None:
                self._stats["book_follow_answers"] += 1
                epoch, version = changes.epoch, changes.version
                snap = self._snapshots.get(venue)
                if snap is not None:
                    self._snapshots[venue] = dataclasses.replace(
                        snap, books=changes.apply(snap.books)
                    )
                    self._books_moved.fire()
            await asyncio.sleep(
                max(0.0, self._config.timing.router_books_s - (loop.time() - asked))
            )

    async def _timer(self) -> None:
        flush_every = self._config.analytics.flush_interval_s
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(self._config.timing.router_refresh_s)
            try:
                await self._refresh()
            except Exception:
                log.exception("router refresh failed")
            now = time.time_ns()
            self._start(self._desk.on_timer(now, self._mids_at(now)))
            if time.monotonic() - last_flush >= flush_every:
                last_flush = time.monotonic()
                try:
                    self._writers.flush()  # handed to the writer thread: returns at once
                except Exception:  # rows stay buffered for the next flush; keep routing
                    log.exception("router: Parquet flush failed")

    async def _refresh_book(
        self, names: list[str], symbol: str, max_age_ns: int, wait_s: float
    ) -> None:
        """Replace `symbol`'s book in the named venues' snapshots by their freshest, each
        venue waiting up to `wait_s` for one at most `max_age_ns` old; a venue that does
        not answer keeps its copy (planned on only if young enough)."""
        self._stats["books_asked_again"] += len(names)
        got = await asyncio.gather(
            *(self._venues[v].books_of.remote([symbol], max_age_ns, wait_s) for v in names),
            return_exceptions=True,
        )
        for venue, books in zip(names, got, strict=True):
            if isinstance(books, BaseException) or symbol not in books:
                continue
            snap = self._snapshots[venue]
            self._snapshots[venue] = dataclasses.replace(
                snap, books={**snap.books, symbol: books[symbol]}
            )
        self._books_moved.fire()

    async def _refresh(self, names: list[str] | None = None) -> None:
        names = list(self._venues) if names is None else names
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
                        rest_weight=old.rest_weight,
                        weight_limit_per_min=old.weight_limit_per_min,
                        weight_used_peak=old.weight_used_peak,
                        weight_by_operation=old.weight_by_operation,
                    )
                continue
            old = self._snapshots.get(venue)
            if old is not None:  # a book the stream follower took since stays if newer
                snap = dataclasses.replace(snap, books=newer_books(old.books, snap.books))
            self._snapshots[venue] = snap
        self._books_moved.fire()


def with_book_ages(
    rows: list[dict[str, Any]], views: dict[str, Any], symbol: str, now_ns: int
) -> list[dict[str, Any]]:
    """Each row with `book_age_ms`: the age at decision of its venue's book; a row of no
    venue (what the plan left) gets the oldest book the plan had."""
    ages = {
        v: (now_ns - book.ts_ns) / 1e6
        for v, snap in views.items()
        if (book := snap.books.get(symbol)) is not None
    }
    oldest = max(ages.values(), default=None)
    for row in rows:
        venue = row.get("venue")
        row["book_age_ms"] = ages.get(venue, oldest) if venue else oldest
    return rows
