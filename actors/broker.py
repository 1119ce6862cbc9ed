"""BrokerActor: OTC / broker mode for one pair, over HTTP (aiohttp).

    POST /rfq               {"side", "size"[, "symbol"]}  -> firm quote
    POST /rfq/{id}/accept   {} or empty                   -> the fill
    GET  /rfq/health        public state (and the caller's own, if signed)

Every request is signed with a configured client's key (engine/broker/auth.py);
the HTTP edge, its checks and limits are `engine.broker.http.RfqGateway`.
Thin shell: pricing, the fair-price check, sizes, limits, the quote book and
inventory reservations are `engine.broker`; this class pulls the hedge
venues' books and the ledger's balances every `refresh_interval`, and sends
an accepted quote's fill to the router and the ledger exactly as a
MarketActor does, so it is hedged and booked like any fill.

Nothing a request sends can stop the refresh loop: each step (books,
balances, Parquet flush) fails on its own, is logged, counted and shown by
`/rfq/health`, and the loop carries on; a loop that stopped anyway is
started again by the next request or status call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import time
from decimal import Decimal
from typing import Any

import ray
from aiohttp import web

from actors.broker_outputs import TABLES, DeskOutputs
from actors.broker_status import EVENT_COUNTERS, client_state, public_health
from actors.context import RestartGate, RunContext, live_config
from actors.lifecycle import FlushCadence, Timer
from analytics.writer import PartWriters
from engine.broker import (
    ClientLimits,
    FirmQuote,
    InventoryReservations,
    NotQuoting,
    QuoteBook,
    RfqError,
    broker_fill,
    check_size,
    firm_price,
    inventory_needed,
    inventory_skew_bps,
    new_quote_id,
    parse_formula,
    price_formula,
)
from engine.broker.http import RfqDesk, RfqGateway
from engine.broker.records import DeskError, fill_json, fill_row, rfq_row
from engine.broker.requests import QuoteRequest
from engine.config import AppConfig, BrokerConfig, HedgeMode
from engine.consolidated import consolidated_mid
from engine.log_redaction import guard_logs
from engine.types import BookSnapshot, Fill, split_symbol

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_S = 5.0  # a venue or ledger that does not answer in time is skipped


@ray.remote
class BrokerActor:
    def __init__(
        self,
        config: AppConfig,
        broker_id: str,
        ctx: RunContext,
        venues: dict[str, Any],
        router: Any,
        ledger: Any,
    ) -> None:
        guard_logs(config.secret_values())
        self._config = config
        self._broker = next(b for b in config.brokers if b.id == broker_id)
        self._formula = parse_formula(self._broker.price_formula)
        self._ctx = ctx
        self._venues = venues
        self._router = router
        self._ledger = ledger
        self._book = QuoteBook()
        self._reservations = InventoryReservations()
        self._books: dict[str, dict[str, BookSnapshot]] = {}
        self._unhealthy: dict[str, str] = {}
        self._balances: dict[str, dict[str, Decimal]] = {}
        self._opening: dict[str, Decimal] = {}
        self._deliveries: set[asyncio.Future[Any]] = set()
        # the refresh loop: books and balances, then the Parquet flush on its cadence
        self._timer = Timer(
            f"broker {self._broker.id}",
            lambda: self._broker.refresh_interval,
            self._timer_cycle,
            on_error=lambda exc: self._out.note_error("refresh", exc),
        )
        self._flush_cadence = FlushCadence(
            lambda: self._config.analytics.flush_interval_s, time.time_ns()
        )
        self._runner: web.AppRunner | None = None
        self._url = ""
        self._paused = ""
        self._stats = {"quotes": 0, "refused": 0, "accepted": 0, "rejected_accepts": 0}
        self._last_refusal = ""
        self._out = DeskOutputs(self._broker.id)
        self._gateway = RfqGateway(
            RfqDesk(
                quote=self._quote,
                accept=self._accept,
                public_health=self._public_health,
                client_state=self._client_state,
                record=self._record,
                fill_json=fill_json,
            ),
            self._broker,
        )
        # after a crash Ray re-runs __init__ (max_restarts) and nobody calls on_start, and
        # no one calls a broker until shutdown: start listening again right away
        self._gate = RestartGate()
        self._resume_task: asyncio.Task[None] | None = None
        if self._gate.restarted:
            self._resume_task = asyncio.get_running_loop().create_task(self._resume_soon())

    # lifecycle ---------------------------------------------------------------

    async def on_start(self) -> dict[str, Any]:
        """Pull books and balances, then listen; fails fast if the port is taken."""
        self._out.writers = PartWriters(
            self._ctx.data_dir,
            TABLES,
            writer_id=f"broker-{self._broker.id}",
            run_id=self._ctx.run_id,
            config_hash=self._ctx.config_hash,
        )
        await self._refresh()
        base, _ = split_symbol(self._broker.symbol)
        self._opening = {base: self._net(base)}
        if not self._broker.clients:
            log.warning("broker %s has no clients: every request will be 401", self._broker.id)
        if self._runner is not None:  # a start that failed half-way before this one
            await self._runner.cleanup()
        self._runner = web.AppRunner(self._gateway.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._broker.host, self._broker.port)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._url = f"http://{self._broker.host}:{port}"
        self._timer.start()
        return {"broker": self._broker.id, "symbol": self._broker.symbol, "url": self._url}

    async def _resume_soon(self) -> None:
        """Resume after a crash, trying again with back-off until the broker listens."""
        for attempt in itertools.count():
            try:
                await self._gate.ensure(self._resume_after_crash)
                return
            except Exception as exc:
                self._out.note_error("restart", exc)
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))

    async def _resume_after_crash(self) -> None:
        """The quote book is gone (an accept of an earlier quote is 404); prices, keys and
        limits come from the live config; the inventory skew restarts from the ledger."""
        self._config = await live_config(self._config)
        mine = [b for b in self._config.brokers if b.id == self._broker.id]
        if mine:
            self._broker = mine[0]
            self._gateway.configure(self._broker)
        started = await self.on_start()
        self._out.errors.append(
            DeskError(time.time_ns(), "restart", "crashed", "the worker died; quotes lost")
        )
        log.warning("broker %s restarted after a crash: RFQ on %s", self._broker.id, started["url"])

    async def on_stop(self) -> dict[str, Any]:
        """Stop taking requests, deliver every fill, flush every row."""
        await self._gate.ensure(self._resume_after_crash)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._timer.stop()
        await self.drain()
        self._out.flush()
        return await self.status()

    async def drain(self) -> int:
        """Wait until every accepted fill has reached the router and the ledger."""
        n = len(self._deliveries)
        if self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)
        return n

    async def flush(self) -> None:
        await self._gate.ensure(self._resume_after_crash)
        self._out.flush()

    async def on_config(self, config: AppConfig) -> str:
        """New spread, sizes, limits, keys or `paused` apply to the next request. A version
        without the clients' keys (a rollback, from the control actor) keeps the ones held."""
        config = config.with_secrets_from(self._config)
        guard_logs(config.secret_values())  # a client's new key pair
        self._config = config
        mine = [b for b in config.brokers if b.id == self._broker.id]
        if mine:
            self._broker = mine[0]
            self._formula = parse_formula(self._broker.price_formula)
            self._gateway.configure(self._broker)
        else:  # the graph's shape changes at restart; until then it stops quoting
            self._paused = "removed from the config"
        self._out.retag(config.config_hash)
        return config.config_hash

    async def on_pause(self, reason: str) -> None:
        self._paused = reason

    async def on_resume(self) -> None:
        self._paused = ""

    async def url(self) -> str:
        await self._gate.ensure(self._resume_after_crash)
        return self._url

    async def process_info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "restarted": self._gate.restarted}

    async def status(self) -> dict[str, Any]:
        """The operator's view (over Ray only): counts, reasons and errors in full."""
        await self._gate.ensure(self._resume_after_crash)
        self._ensure_loop()
        now = time.time_ns()
        return {
            **self._public_health(now),
            "url": self._url,
            "paused": self._paused or ("config" if self._broker.paused else ""),
            **self._stats,
            **self._gateway.stats,
            "live_quotes": len(self._book),
            "reservations": len(self._reservations),
            "last_refusal": self._last_refusal,
            "inventory": self._inventory(),
            "unhealthy": dict(self._unhealthy),
            "errors": [f"{e.public()}: {e.message}" for e in self._out.errors],
            "loop_alive": self._timer.running,
        }

    # the desk: what an authenticated, well-formed request does ---------------

    async def _quote(self, client: str, wanted: QuoteRequest, now: int) -> FirmQuote:
        b = self._broker
        side, size = wanted.side, wanted.size
        check_size(size, min_size=b.min_size, max_size=b.max_size, increment=b.increment_size)
        if self._paused or b.paused:
            raise NotQuoting(f"broker {b.id} is paused ({self._paused or 'config'})", code="paused")
        self._ensure_loop()
        priced = price_formula(
            self._formula,
            self._books,
            side,
            float(size),
            now,
            max_book_age_s=self._max_book_age_s(),
            max_deviation_bps=b.max_deviation_bps,
        )
        skew = inventory_skew_bps(
            self._inventory(), b.inventory_target, b.inventory_limit, b.skew_bps_at_limit
        )
        price = firm_price(
            priced.walked_price, side, spread_pct=b.spread, skew_bps=skew, tick=b.price_increment
        )
        self._book.check_limits(client, size * price, _limits(b, client), now)
        quote = FirmQuote(
            quote_id=new_quote_id(b.id),
            broker=b.id,
            client=client,
            symbol=b.symbol,
            side=side,
            size=size,
            price=price,
            created_ns=now,
            expires_ns=now + int(b.quote_expiry_time * 1e9),
            mid_price=priced.mid_price,
            walked_price=priced.walked_price,
            deviation_bps=priced.deviation_bps,
        )
        self._book.add(quote)
        self._book.prune(now)
        return quote

    async def _accept(self, client: str, quote_id: str, now: int) -> tuple[FirmQuote, Fill, bool]:
        """Execute `quote_id` once; (quote, fill, executed_now). Judged at arrival `now`.

        The inventory is reserved (engine/broker/reservations.py) in the same
        step as the final check, before any await, so concurrent accepts never
        deliver more than the inventory account holds.
        """
        b = self._broker
        limits = _limits(b, client)
        quote, fill = self._book.accept(quote_id, client, now, limits)
        if fill is not None:
            return quote, fill, False
        ticket = self._reservations.begin_read()
        try:
            balances = await asyncio.wait_for(
                self._ledger.balances.remote(), timeout=REFRESH_TIMEOUT_S
            )
            quote, fill = self._book.accept(quote_id, client, now, limits)
        except Exception as exc:
            self._reservations.end_read(ticket)
            if isinstance(exc, RfqError):
                raise
            self._out.note_error("balances", exc)
            raise NotQuoting(
                "the inventory account's balance is unavailable; retry the accept",
                code="ledger_unavailable",
            ) from None
        if fill is not None:  # a concurrent accept executed it while we awaited
            self._reservations.end_read(ticket)
            return quote, fill, False
        asset, amount = inventory_needed(quote)
        held = Decimal(str(balances.get(b.account, {}).get(asset, "0")))
        self._reservations.reserve(quote_id, asset, amount, held, ticket)
        try:
            seen = time.time_ns()
            fill = broker_fill(quote, account=b.account, fill_id=f"rfq-{quote.quote_id}", now=seen)
            self._book.record_fill(quote_id, fill)  # no await since the check: executes once
        except BaseException:
            self._reservations.release(quote_id)
            raise
        self._stats["accepted"] += 1
        self._out.append("fills", fill_row(fill, quote, seen))
        if await self._send_fill(fill):
            self._reservations.settle(quote_id)
        return quote, fill, True

    def _public_health(self, now: int) -> dict[str, Any]:
        """What anyone may know: whether the desk quotes now, and if not why (no counts,
        no client names, no inventory)."""
        self._ensure_loop()
        return public_health(
            self._broker,
            self._books,
            self._out.errors,
            paused=bool(self._paused or self._broker.paused),
            loop_running=self._timer.running,
            max_book_age_s=self._max_book_age_s,
            now=now,
        )

    def _client_state(self, client: str, now: int) -> dict[str, Any]:
        """The authenticated caller's own usage and limits."""
        return client_state(self._broker, self._book, client, now)

    def _record(
        self,
        now: int,
        event: str,
        quote: FirmQuote | None,
        error: RfqError | None,
        quote_id: str | None,
        client: str | None,
    ) -> None:
        counter = EVENT_COUNTERS.get(event)
        if counter is not None:
            self._stats[counter] += 1
        if error is not None:
            self._last_refusal = f"{error.code}: {error.message}"
        b = self._broker
        row = rfq_row(
            now,
            broker=b.id,
            symbol=b.symbol,
            event=event,
            quote=quote,
            error=error,
            quote_id=quote_id,
            client=client,
        )
        self._out.append("rfq_quotes", row)

    # timer and outputs -------------------------------------------------------

    def _ensure_loop(self) -> None:
        """Start the refresh loop again if it ever stopped (it is not supposed to)."""
        if self._runner is not None:
            self._timer.ensure()

    async def _timer_cycle(self) -> None:
        try:
            await self._refresh()
        except Exception as exc:  # keep serving; stale books refuse quotes by themselves
            self._out.note_error("refresh", exc)
        if self._flush_cadence.due(time.time_ns()):
            self._out.flush()

    async def _refresh(self) -> None:
        """Books of every venue and the ledger's balances, each on its own: a venue or a
        ledger that fails or hangs leaves the others fresh."""
        names = list(self._venues)
        snaps, balances = await asyncio.gather(
            asyncio.gather(
                *(
                    asyncio.wait_for(self._venues[v].snapshot.remote(), REFRESH_TIMEOUT_S)
                    for v in names
                ),
                return_exceptions=True,
            ),
            asyncio.wait_for(self._ledger.balances.remote(), REFRESH_TIMEOUT_S),
            return_exceptions=True,
        )
        for venue, snap in zip(names, snaps, strict=True):
            if isinstance(snap, BaseException):
                self._unhealthy[venue] = f"unreachable: {type(snap).__name__}"
                self._books.pop(venue, None)
            elif not snap.healthy:
                self._unhealthy[venue] = snap.reason
                self._books.pop(venue, None)
            else:
                self._unhealthy.pop(venue, None)
                self._books[venue] = dict(snap.books)
        if isinstance(balances, BaseException):  # keep the last balances; the skew waits
            self._out.note_error("balances", balances)
            return
        self._balances = {
            v: {a: Decimal(x) for a, x in assets.items()} for v, assets in balances.items()
        }

    def _max_book_age_s(self) -> float:
        return self._broker.max_book_age_s or self._config.risk.max_book_age_s

    def _net(self, asset: str) -> Decimal:
        return sum((bal.get(asset, Decimal(0)) for bal in self._balances.values()), Decimal(0))

    def _inventory(self) -> float:
        """Net base held across every venue since start: what hedges have not closed."""
        base, _ = split_symbol(self._broker.symbol)
        return float(self._net(base) - self._opening.get(base, Decimal(0)))

    async def _send_fill(self, fill: Fill) -> bool:
        """Router and ledger, as a MarketActor sends its fills; waits for the ledger only
        and says whether it booked the fill.

        The router hedges `hedge_symbol` by the mode of that market. When it is
        not the broker's symbol (a cross such as ETH/BTC), the router gets the
        fill as seen on the hedge symbol (same id, side and base amount, priced
        at that market's mid) and the ledger the real one: the mirror hedge id
        is the same, so the ledger's pending hedge closes as for any fill, and
        the quote leg is left to the rebalancer.
        """
        b = self._broker
        hedge_pending = self._config.market(b.hedged_symbol).hedge_mode is HedgeMode.MIRROR
        routed = fill
        if b.hedged_symbol != b.symbol:
            mid = self._mid(b.hedged_symbol)
            routed = dataclasses.replace(
                fill,
                market=b.hedged_symbol,
                price=Decimal(repr(mid)) if mid else fill.price,
                fee_currency=split_symbol(b.hedged_symbol)[1],
            )
        ledger_ref = self._ledger.on_fills.remote([fill], hedge_pending)
        fut = asyncio.ensure_future(self._deliver(self._router.on_fills.remote([routed])))
        self._deliveries.add(fut)
        fut.add_done_callback(self._deliveries.discard)
        return await self._deliver(ledger_ref)

    def _mid(self, symbol: str) -> float | None:
        """The reference mid every actor uses: best bid and ask across fresh books."""
        books = [b[symbol] for b in self._books.values() if symbol in b]
        max_age_s = self._broker.max_book_age_s or self._config.risk.max_book_age_s
        ref = consolidated_mid(books, time.time_ns(), max_age_s * 1e9)
        return ref[0] if ref is not None else None

    async def _deliver(self, ref: Any) -> bool:
        try:
            await ref
        except Exception as exc:
            self._out.note_error("delivery", exc)
            return False
        return True


def _limits(b: BrokerConfig, client: str) -> ClientLimits:
    c = b.limits_for(client)
    return ClientLimits(c.max_notional_per_request_quote, c.max_notional_per_day_quote)
