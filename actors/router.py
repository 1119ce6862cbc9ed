"""HedgeRouterActor: turns hedge needs into child orders on the best venues.

It holds the latest book, balance and health of every hedge venue (pulled on
a timer), answers MarketActors' reference-price pulls from the consolidated
book, and hedges each fill (mirror mode) or each intent from the rebalancer.
The plan itself is `engine.routing.plan_hedge`; this class only wires it.
Every hedge reports its outcome to the ledger *before* the hedge counts as
done, so the ledger never sees exposure without knowing a hedge is pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

import ray

from actors.context import RunContext
from analytics.writer import PartWriters
from engine.config import AppConfig
from engine.hedging import hedge_outcome, mirror_intent
from engine.quoting.base import ExternalBook
from engine.quoting.mirror import consolidate_books
from engine.routing.planner import VenueQuote, plan_hedge
from engine.types import (
    BookSnapshot,
    ChildOrderResult,
    Fill,
    HedgeIntent,
    HedgeOutcome,
    Side,
    split_symbol,
)

log = logging.getLogger(__name__)

REFRESH_S = 0.2
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

    async def on_start(self) -> dict[str, Any]:
        self._writers = PartWriters(
            self._ctx.data_dir,
            ("hedge_orders", "hedge_fills"),
            writer_id="router",
            run_id=self._ctx.run_id,
            config_hash=self._ctx.config_hash,
        )
        await self._refresh()
        self._task = asyncio.create_task(self._run())
        return {"venues": sorted(self._snapshots)}

    async def on_stop(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
        await self.flush()

    async def flush(self) -> None:
        self._writers.flush()

    async def on_config(self, config: AppConfig) -> str:
        """New risk limits apply to the next hedge planned; rows carry the new hash."""
        self._config = config
        self._writers.retag(config.config_hash)
        return config.config_hash

    async def drain(self) -> int:
        """Wait until every hedge in flight has reported to the ledger."""
        n = len(self._inflight)
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        return n

    async def status(self) -> dict[str, Any]:
        health = {v: (s.healthy, s.reason) for v, s in self._snapshots.items()}
        return {
            **self._stats,
            "inflight": len(self._inflight),
            "venues": health,
            "latency_buckets_s": list(LATENCY_BUCKETS_S),
            "latency_counts": list(self._latency_counts),
            "latency_sum_s": self._latency_sum_s,
        }

    # inputs ------------------------------------------------------------------

    async def reference(self, symbols: list[str]) -> dict[str, tuple[float, int]]:
        """Consolidated mid per symbol: best bid and best ask across healthy venues."""
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
        """Mirror-hedge each new fill; returns at once (hedges run in the background)."""
        started = 0
        for fill in fills:
            if fill.fill_id in self._seen_fills:
                continue  # a redelivered batch never hedges twice
            self._seen_fills.add(fill.fill_id)
            if self._config.market(fill.market).hedge_mode.value != "mirror":
                continue
            task = asyncio.create_task(self._hedge(mirror_intent(fill)))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            started += 1
        return started

    async def hedge_intents(self, intents: list[HedgeIntent]) -> list[HedgeOutcome]:
        """Hedge the rebalancer's intents; returns once the ledger has booked them.

        They count as in flight like mirror hedges, so `drain` waits for them
        even if the caller stopped waiting.
        """
        tasks = [asyncio.create_task(self._hedge(i)) for i in intents]
        for task in tasks:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return list(await asyncio.gather(*tasks))

    # the hedge ---------------------------------------------------------------

    async def _hedge(self, intent: HedgeIntent) -> HedgeOutcome:
        now = time.time_ns()
        quotes, excluded = self._venue_quotes(intent, now)
        plan = plan_hedge(intent, quotes, self._config.risk, now, excluded=excluded)
        by_venue: dict[str, list[Any]] = {}
        for child in plan.children:
            by_venue.setdefault(child.venue, []).append(child)
        sent_ns = time.time_ns()
        if intent.source_ts_ns and plan.children:
            self._observe_latency((sent_ns - intent.source_ts_ns) / 1e9)
        answers = await asyncio.gather(
            *(self._venues[v].execute.remote(children) for v, children in by_venue.items()),
            return_exceptions=True,
        )
        results: list[ChildOrderResult] = []
        for (venue, children), answer in zip(by_venue.items(), answers, strict=True):
            if isinstance(answer, BaseException):
                # the venue actor died mid-call: the orders' fate is unknown
                reason = f"venue actor failed: {type(answer).__name__}"
                results += [ChildOrderResult(c, "unknown", reason=reason) for c in children]
                log.error("%s: %s", venue, answer)
            else:
                results += answer
        outcome = hedge_outcome(intent, results, plan.reasons)
        await self._ledger.on_hedge_outcomes.remote([outcome])
        self._record(intent, plan.residual, plan.reasons, results, sent_ns)
        self._stats["hedges"] += 1
        self._stats[outcome.status.value] += 1
        return outcome

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
        intent: HedgeIntent,
        residual: float,
        reasons: tuple[str, ...],
        results: list[ChildOrderResult],
        sent_ns: int,
    ) -> None:
        common = {
            "market": intent.symbol,
            "hedge_id": intent.hedge_id,
            "source_fill_id": intent.source_fill_id,
            "side": intent.side.value,
        }
        rows = [
            {
                **common,
                "ts": sent_ns,
                "venue": r.order.venue,
                "client_order_id": r.order.client_order_id,
                "type": r.order.order_type,
                "amount": r.order.amount,
                "limit_price": r.order.limit_price,
                "decision_mid": r.order.decision_mid,
                "status": r.status,
                "reason": r.reason or intent.reason,
                "filled_amount": float(r.filled),
            }
            for r in results
        ]
        if residual > 0:
            rows.append(
                {
                    **common,
                    "ts": sent_ns,
                    "venue": None,
                    "client_order_id": None,
                    "type": None,
                    "amount": residual,
                    "limit_price": None,
                    "decision_mid": None,
                    "status": "skipped",
                    "reason": "; ".join(reasons) or "nothing routable",
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
                for r in results
                for e in r.executions
            ]
        )

    # timer -------------------------------------------------------------------

    async def _run(self) -> None:
        flush_every = self._config.analytics.flush_interval_s
        last_flush = time.monotonic()
        while True:
            await asyncio.sleep(REFRESH_S)
            try:
                await self._refresh()
            except Exception:
                log.exception("router refresh failed")
            if time.monotonic() - last_flush >= flush_every:
                last_flush = time.monotonic()
                await self.flush()

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

    def _fresh_books(self, symbol: str, now: int) -> dict[str, BookSnapshot]:
        max_age_ns = self._config.risk.max_book_age_s * 1e9
        out = {}
        for venue, snap in self._snapshots.items():
            book = snap.books.get(symbol)
            if snap.healthy and book is not None and now - book.ts_ns <= max_age_ns:
                out[venue] = book
        return out
