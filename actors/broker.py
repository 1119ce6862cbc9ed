"""BrokerActor: OTC / broker mode for one pair, over HTTP (aiohttp).

    POST /rfq               {"client", "side", "size"[, "symbol"]} -> firm quote
    POST /rfq/{id}/accept   {"client"}                             -> the fill
    GET  /rfq/health        what the broker would do now, and why not

Thin shell: pricing, the fair-price check, sizes, limits and the quote book
are `engine.broker`; this class pulls the hedge venues' books and the
ledger's balances every `refresh_interval`, serves HTTP, and sends an
accepted quote's fill to the router and the ledger exactly as a MarketActor
does, so it is hedged and booked like any fill.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import secrets
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import ray
from aiohttp import web

from actors.context import RunContext
from analytics.writer import PartWriters
from engine.broker import (
    ClientLimits,
    FirmQuote,
    MalformedRequest,
    NotQuoting,
    QuoteBook,
    RfqError,
    broker_fill,
    check_size,
    firm_price,
    inventory_shortfall,
    inventory_skew_bps,
    parse_formula,
    price_formula,
)
from engine.config import AppConfig, BrokerConfig, HedgeMode
from engine.consolidated import consolidated_mid
from engine.types import BookSnapshot, Fill, Side, split_symbol

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16_384


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
        self._config = config
        self._broker = next(b for b in config.brokers if b.id == broker_id)
        self._formula = parse_formula(self._broker.price_formula)
        self._ctx = ctx
        self._venues = venues
        self._router = router
        self._ledger = ledger
        self._book = QuoteBook()
        self._books: dict[str, dict[str, BookSnapshot]] = {}
        self._unhealthy: dict[str, str] = {}
        self._balances: dict[str, dict[str, Decimal]] = {}
        self._opening: dict[str, Decimal] = {}
        self._seq = itertools.count(1)
        self._session = secrets.token_hex(3)
        self._deliveries: set[asyncio.Future[Any]] = set()
        self._task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._url = ""
        self._paused = ""
        self._stats = {"quotes": 0, "refused": 0, "accepted": 0, "rejected_accepts": 0}
        self._last_refusal = ""
        self._errors: list[str] = []

    # lifecycle ---------------------------------------------------------------

    async def on_start(self) -> dict[str, Any]:
        """Pull books and balances, then listen; fails fast if the port is taken."""
        self._writers = PartWriters(
            self._ctx.data_dir,
            ("fills", "rfq_quotes"),
            writer_id=f"broker-{self._broker.id}",
            run_id=self._ctx.run_id,
            config_hash=self._ctx.config_hash,
        )
        await self._refresh()
        base, _ = split_symbol(self._broker.symbol)
        self._opening = {base: self._net(base)}
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.add_routes(
            [
                web.post("/rfq", self._http_quote),
                web.post("/rfq/{quote_id}/accept", self._http_accept),
                web.get("/rfq/health", self._http_health),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._broker.host, self._broker.port)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._url = f"http://{self._broker.host}:{port}"
        self._task = asyncio.create_task(self._run())
        return {"broker": self._broker.id, "symbol": self._broker.symbol, "url": self._url}

    async def on_stop(self) -> dict[str, Any]:
        """Stop taking requests, deliver every fill, flush every row."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.drain()
        self._writers.flush()
        return await self.status()

    async def drain(self) -> int:
        """Wait until every accepted fill has reached the router and the ledger."""
        n = len(self._deliveries)
        if self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)
        return n

    async def flush(self) -> None:
        self._writers.flush()

    async def on_config(self, config: AppConfig) -> str:
        """New spread, sizes, limits or `paused` apply to the next request."""
        self._config = config
        mine = [b for b in config.brokers if b.id == self._broker.id]
        if mine:
            self._broker = mine[0]
            self._formula = parse_formula(self._broker.price_formula)
        else:  # the graph's shape changes at restart; until then it stops quoting
            self._paused = "removed from the config"
        self._writers.retag(config.config_hash)
        return config.config_hash

    async def on_pause(self, reason: str) -> None:
        self._paused = reason

    async def on_resume(self) -> None:
        self._paused = ""

    async def url(self) -> str:
        return self._url

    async def status(self) -> dict[str, Any]:
        now = time.time_ns()
        ts = [b.ts_ns for books in self._books.values() for b in books.values()]
        return {
            "broker": self._broker.id,
            "symbol": self._broker.symbol,
            "url": self._url,
            "paused": self._paused or ("config" if self._broker.paused else ""),
            **self._stats,
            "live_quotes": len(self._book),
            "last_refusal": self._last_refusal,
            "inventory": self._inventory(),
            "oldest_book_age_s": (now - min(ts)) / 1e9 if ts else None,
            "unhealthy": dict(self._unhealthy),
            "errors": list(self._errors[-3:]),
        }

    # the two requests --------------------------------------------------------

    async def request_quote(self, body: dict[str, Any], now: int) -> FirmQuote:
        b = self._broker
        client = _client(body)
        unknown = set(body) - {"client", "side", "size", "symbol"}
        if unknown:
            raise MalformedRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        if body.get("symbol", b.symbol) != b.symbol:
            raise MalformedRequest(
                f"symbol {body['symbol']!r}: this broker quotes {b.symbol}", symbol=b.symbol
            )
        try:
            side = Side(str(body.get("side", "")).lower())
        except ValueError:
            raise MalformedRequest(
                f"side {body.get('side')!r}: expected 'buy' or 'sell' (the client's side)",
                field="side",
            ) from None
        size = _decimal(body.get("size"), "size")
        check_size(size, min_size=b.min_size, max_size=b.max_size, increment=b.increment_size)
        if self._paused or b.paused:
            raise NotQuoting(f"broker {b.id} is paused ({self._paused or 'config'})", code="paused")
        priced = price_formula(
            self._formula,
            self._books,
            side,
            float(size),
            now,
            max_book_age_s=b.max_book_age_s or self._config.risk.max_book_age_s,
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
            quote_id=f"{b.id}-{self._session}-{next(self._seq)}",
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

    async def accept_quote(
        self, quote_id: str, body: dict[str, Any], now: int
    ) -> tuple[FirmQuote, Fill, bool]:
        """Execute `quote_id` once; (quote, fill, executed_now). Judged at arrival `now`."""
        b = self._broker
        client = _client(body)
        quote, fill = self._book.accept(quote_id, client, now, _limits(b, client))
        if fill is not None:
            return quote, fill, False
        balances = await self._ledger.balances.remote()
        quote, fill = self._book.accept(quote_id, client, now, _limits(b, client))
        if fill is not None:  # a concurrent accept executed it while we awaited
            return quote, fill, False
        held = {a: Decimal(v) for a, v in balances.get(b.account, {}).items()}
        inventory_shortfall(quote, held)
        seen = time.time_ns()
        fill = broker_fill(quote, account=b.account, fill_id=f"rfq-{quote.quote_id}", now=seen)
        self._book.record_fill(quote_id, fill)  # no await since the check: executes once
        self._stats["accepted"] += 1
        self._writers["fills"].append([_fill_row(fill, quote, seen)])
        await self._send_fill(fill)
        return quote, fill, True

    # HTTP --------------------------------------------------------------------

    async def _http_quote(self, request: web.Request) -> web.Response:
        now = time.time_ns()
        try:
            quote = await self.request_quote(await _json_body(request), now)
        except RfqError as exc:
            self._stats["refused"] += 1
            self._last_refusal = f"{exc.code}: {exc.message}"
            self._record(now, "refused", None, exc)
            return _error(exc)
        self._stats["quotes"] += 1
        self._record(now, "quoted", quote)
        return web.json_response(quote.as_json())

    async def _http_accept(self, request: web.Request) -> web.Response:
        now = time.time_ns()
        try:
            quote, fill, executed = await self.accept_quote(
                request.match_info["quote_id"], await _json_body(request), now
            )
        except RfqError as exc:
            self._stats["rejected_accepts"] += 1
            self._record(now, "accept_rejected", None, exc, request.match_info["quote_id"])
            return _error(exc)
        if executed:
            self._record(now, "accepted", quote)
        return web.json_response(
            {"fill": _fill_json(fill), "quote": quote.as_json(), "already_accepted": not executed}
        )

    def _record(
        self,
        now: int,
        event: str,
        quote: FirmQuote | None,
        error: RfqError | None = None,
        quote_id: str | None = None,
    ) -> None:
        """One `rfq_quotes` row: what the desk was asked, answered and executed."""
        row: dict[str, Any] = {
            "ts": now,
            "market": self._broker.symbol,
            "broker": self._broker.id,
            "event": event,
            "quote_id": quote_id,
            "reason": None if error is None else f"{error.code}: {error.message}",
        }
        if quote is not None:
            row.update(
                quote_id=quote.quote_id,
                client=quote.client,
                side=quote.side.value,
                size=float(quote.size),
                price=float(quote.price),
                mid_price=quote.mid_price,
                walked_price=quote.walked_price,
                deviation_bps=quote.deviation_bps,
                expires_ts=quote.expires_ns,
            )
        self._writers["rfq_quotes"].append([row])

    async def _http_health(self, _request: web.Request) -> web.Response:
        return web.json_response(await self.status(), dumps=lambda o: json.dumps(o, default=str))

    # timer and outputs -------------------------------------------------------

    async def _run(self) -> None:
        flush_every_ns = int(self._config.analytics.flush_interval_s * 1e9)
        last_flush = time.time_ns()
        while True:
            await asyncio.sleep(self._broker.refresh_interval)
            try:
                await self._refresh()
            except Exception as exc:  # keep serving; stale books refuse quotes by themselves
                log.exception("broker %s refresh failed", self._broker.id)
                self._errors.append(f"{type(exc).__name__}: {exc}")
            if time.time_ns() - last_flush >= flush_every_ns:
                last_flush = time.time_ns()
                self._writers.flush()

    async def _refresh(self) -> None:
        names = list(self._venues)
        snaps, balances = await asyncio.gather(
            asyncio.gather(
                *(self._venues[v].snapshot.remote() for v in names), return_exceptions=True
            ),
            self._ledger.balances.remote(),
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
        self._balances = {
            v: {a: Decimal(x) for a, x in assets.items()} for v, assets in balances.items()
        }

    def _net(self, asset: str) -> Decimal:
        return sum((bal.get(asset, Decimal(0)) for bal in self._balances.values()), Decimal(0))

    def _inventory(self) -> float:
        """Net base held across every venue since start: what hedges have not closed."""
        base, _ = split_symbol(self._broker.symbol)
        return float(self._net(base) - self._opening.get(base, Decimal(0)))

    async def _send_fill(self, fill: Fill) -> None:
        """Router and ledger, as a MarketActor sends its fills; waits for the ledger only.

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
        await self._deliver(ledger_ref)

    def _mid(self, symbol: str) -> float | None:
        """The reference mid every actor uses: best bid and ask across fresh books."""
        books = [b[symbol] for b in self._books.values() if symbol in b]
        max_age_s = self._broker.max_book_age_s or self._config.risk.max_book_age_s
        ref = consolidated_mid(books, time.time_ns(), max_age_s * 1e9)
        return ref[0] if ref is not None else None

    async def _deliver(self, ref: Any) -> None:
        try:
            await ref
        except Exception as exc:
            log.error("broker %s: fill delivery failed: %s", self._broker.id, exc)
            self._errors.append(f"fill delivery failed: {exc}")


def _limits(b: BrokerConfig, client: str) -> ClientLimits:
    c = b.limits_for(client)
    return ClientLimits(c.max_notional_per_request_quote, c.max_notional_per_day_quote)


def _client(body: dict[str, Any]) -> str:
    client = body.get("client")
    if not isinstance(client, str) or not client.strip() or len(client) > 64:
        raise MalformedRequest(
            "field 'client' is required: a non-empty string of at most 64 chars", field="client"
        )
    return client.strip()


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedRequest(f"field {name!r} is required: a decimal number", field=name)
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise MalformedRequest(f"field {name!r}: {value!r} is not a number", field=name) from None
    if not out.is_finite() or out <= 0:
        raise MalformedRequest(f"field {name!r}: {value!r} must be positive", field=name)
    return out


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        body: Any = {}
    else:
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MalformedRequest(
                f"body is not valid JSON: {exc}", code="malformed_json"
            ) from None
    if not isinstance(body, dict):
        raise MalformedRequest("body must be a JSON object", code="malformed_json")
    if "client" not in body and request.headers.get("X-Client-Id"):
        body = {**body, "client": request.headers["X-Client-Id"]}
    return body


def _error(exc: RfqError) -> web.Response:
    return web.json_response(
        exc.as_json(), status=exc.status, dumps=lambda o: json.dumps(o, default=str)
    )


def _fill_json(fill: Fill) -> dict[str, Any]:
    return {
        "fill_id": fill.fill_id,
        "quote_id": fill.order_id,
        "ts_ns": fill.ts_ns,
        "account": fill.venue,
        "symbol": fill.market,
        "broker_side": fill.side.value,
        "price": str(fill.price),
        "size": str(fill.amount),
        "notional": str(fill.quote_amount),
    }


def _fill_row(fill: Fill, quote: FirmQuote, seen_ns: int) -> dict[str, Any]:
    """The same `fills` row a MarketActor writes."""
    return {
        "ts": fill.ts_ns,
        "market": fill.market,
        "fill_id": fill.fill_id,
        "order_id": fill.order_id,
        "side": fill.side.value,
        "price": float(fill.price),
        "amount": float(fill.amount),
        "fee": float(fill.fee),
        "fee_currency": fill.fee_currency,
        "liquidity": fill.liquidity.value,
        "mid": quote.mid_price,
        "seen_ts": seen_ns,
    }
