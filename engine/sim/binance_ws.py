"""The Binance spot websocket streams of one simulated venue, on its REST port (aiohttp).

Served as Binance documents them
(https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams),
so the unmodified `ccxt.pro.binance` client streams from it:

* market streams: `<symbol>@depth@100ms` (diff depth with `U`/`u`, see
  `engine.sim.stream_hub.DepthFeed`), `<symbol>@bookTicker` (real time, as
  Binance pushes it: at each refresh of the book and each taker that consumes its
  top, `engine.sim.touch_schedule`), `<symbol>@trade`; raw `/ws/<stream>` (ccxt opens `/ws/<n>` and
  sends `SUBSCRIBE`), combined `/stream?streams=a/b` (`{"stream", "data"}`);
  live `SUBSCRIBE`/`UNSUBSCRIBE`/`LIST_SUBSCRIPTIONS`;
* the user data stream, both ways Binance offers it: the listen key
  (`POST/PUT/DELETE /api/v3/userDataStream`, `/ws/<listenKey>`, expiry 60
  minutes after the last keep-alive, then `listenKeyExpired` and a close),
  and the WebSocket API's `userDataStream.subscribe.signature` on
  `/ws-api/v3` (what ccxt.pro uses for spot), events wrapped in
  `{"subscriptionId", "event"}`. Both push `executionReport` and
  `outboundAccountPosition`;
* limits: 1024 streams per connection, 5 incoming messages a second, every
  connection closed after 24 hours, a slow consumer (its outbox full) dropped.

The REST edge (`BinanceSpotApi`) reads its depth snapshot from the same feed
(`depth_snapshot`) and reports every order it handles (`on_order`), so the
snapshot's `lastUpdateId` and the stream's ids are one sequence. Seeded stream
faults (`engine.sim.faults.StreamFaults`) disconnect, skip or repeat update
ids, stall a connection and expire listen keys. Keys and secrets never appear
in a log line or an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from engine.sim.binance_streams_depth import MIN_STREAM_DEPTH, stream_depth_for
from engine.sim.binance_wire import WireGrid, market_id, wire_decimal
from engine.sim.exchange import OrderState, OrderStatus, SimExchange, SimTrade
from engine.sim.faults import StreamFaults
from engine.sim.ladder import Count, to_levels
from engine.sim.push_loop import PushLoop
from engine.sim.stream_hub import DepthFeed, DepthUpdate, Level, ListenKeys
from engine.sim.touch_schedule import TouchSchedule
from engine.types import Side, split_symbol

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 0.1  # @depth@100ms
# a touch is looked at this long after its book's refresh is due: past the boundary
TOUCH_LAG_S = 0.000_2
MAX_STREAMS_PER_CONNECTION = 1_024
MAX_INCOMING_PER_S = 5
MAX_CONNECTION_S = 24 * 3_600.0
OUTBOX_LIMIT = 2_000
_STREAM_KINDS = ("depth@100ms", "bookTicker", "trade")


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    opened_ns: int
    combined: bool = False
    streams: set[str] = field(default_factory=set)
    account: str | None = None  # user data: whose events
    listen_key: str | None = None
    subscription_id: int | None = None  # WebSocket API subscription
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT))
    received: list[int] = field(default_factory=list)  # ns of recent incoming messages
    stalled: bool = False

    def push(self, text: str) -> bool:
        """Queue one message; False when the consumer is too slow (outbox full)."""
        if self.stalled:
            return True
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True


class BinanceStreams:
    """Market and user-data streams of one `SimExchange`, Binance spot dialect."""

    def __init__(
        self,
        exchange: SimExchange,
        *,
        credentials: Mapping[str, str],
        clock_ns: Callable[[], int] = time.time_ns,
        faults: StreamFaults | None = None,
        push_interval_s: float = PUSH_INTERVAL_S,
        max_connection_s: float = MAX_CONNECTION_S,
        phase_s: float = 0.0,
    ) -> None:
        self._exchange = exchange
        self._secrets = dict(credentials)
        self._clock_ns = clock_ns
        self._faults = faults
        self._push_interval_s = push_interval_s
        self._max_connection_ns = int(max_connection_s * 1e9)
        self._symbols = {market_id(s).lower(): s for s in exchange.symbols}
        # books as (ticks, lots) counts of each symbol's grid: diffed and printed as ints
        self._feeds = {s: DepthFeed(s, first_id=1_000) for s in exchange.symbols}
        self._grids = {
            s: WireGrid(exchange.rules(s).tick_size, exchange.rules(s).lot_size)
            for s in exchange.symbols
        }
        self._depths = dict.fromkeys(exchange.symbols, MIN_STREAM_DEPTH)  # levels published
        self._tops: dict[str, tuple[Level | None, Level | None]] = {}
        # @bookTicker is real time: each watched book's refresh wakes the touch loop
        self._touches = TouchSchedule(exchange.next_book_change_ns)
        self._ticker_symbols: set[str] = set()  # watched @bookTicker, as of the last tick
        self.listen_keys = ListenKeys()
        self._conns: set[_Conn] = set()
        self._pushed: dict[str, set[int]] = {}  # account -> trade ids already reported
        self._next_subscription = 0
        self._pushes = PushLoop(
            exchange.venue_id,
            push_interval_s,
            self.tick_steps,
            clock_ns,
            self._close_all,
            beside=self._run_touches,
            on_schedule=True,
            phase_s=phase_s,
        )
        self.stats = {"connections": 0, "disconnects": 0, "gaps": 0, "repeats": 0, "dropped": 0}

    def __repr__(self) -> str:
        return f"BinanceStreams(venue={self._exchange.venue_id!r}, conns={len(self._conns)})"

    def install(self, app: web.Application) -> None:
        """Add the stream routes and the push loop to the venue's REST app."""
        app.router.add_get("/ws", self._market_ws)
        app.router.add_get("/ws/{name}", self._market_ws)
        app.router.add_get("/stream", self._market_ws)
        app.router.add_get("/ws-api/v3", self._api_ws)
        for method in ("POST", "PUT", "DELETE"):
            app.router.add_route(method, "/api/v3/userDataStream", self._listen_key)
        self._pushes.install(app)

    # --- what the REST edge calls --------------------------------------------------------

    def depth_snapshot(
        self, symbol: str, ts_ns: int, limit: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]], int]:
        """The book as the stream publishes it at `ts_ns` and its `lastUpdateId`; a deeper
        `limit` than the stream reaches deepens it first (the new levels are published)."""
        self._depths[symbol] = stream_depth_for(limit, self._depths[symbol])
        self._sync(symbol, ts_ns)
        feed, grid = self._feeds[symbol], self._grids[symbol]
        bids, asks = cast(tuple[list[Count], list[Count]], feed.levels(limit))  # counts here
        tick, lot = grid.tick, grid.lot
        return to_levels(bids, tick, lot), to_levels(asks, tick, lot), feed.last_id

    def on_order(self, account: str, order: OrderState, ts_ns: int, *, created: bool) -> None:
        """Report what one REST order request did: NEW, each TRADE, then how it ended; a
        taker that consumed the top moves `@bookTicker` at once."""
        if order.fills and order.symbol in self._ticker_symbols:
            self._touch(order.symbol, ts_ns)
        pushed = self._pushed.setdefault(account, set())
        reports = []
        if created:
            reports.append(_execution_report(order, "NEW", "NEW", ts_ns))
        cum_qty, cum_quote = Decimal(0), Decimal(0)
        for trade in order.fills:
            cum_qty += trade.qty
            cum_quote += trade.quote_qty
            self._publish_trade(trade)
            if trade.trade_id in pushed:
                continue
            pushed.add(trade.trade_id)
            status = "FILLED" if cum_qty >= order.orig_qty else "PARTIALLY_FILLED"
            reports.append(
                _execution_report(order, "TRADE", status, ts_ns, trade, cum_qty, cum_quote)
            )
        if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            reports.append(_execution_report(order, order.status.value, order.status.value, ts_ns))
        for report in reports:
            self._to_account(account, report)
        if reports:
            self._to_account(account, self._account_position(account, order.symbol, ts_ns))

    # --- the push loop -------------------------------------------------------------------

    async def _close_all(self) -> None:
        for conn in list(self._conns):
            await conn.ws.close()

    def tick(self, now_ns: int) -> None:
        """One 100 ms step at once (tests and callers outside the push loop)."""
        for _ in self.tick_steps(now_ns):
            pass

    def tick_steps(self, now_ns: int) -> Iterator[None]:
        """One 100 ms step: books, resting fills, listen keys, connection limits, faults;
        yields after each symbol's book so its event is sent before the next is built."""
        streams = {s for c in self._conns for s in c.streams}
        watched = {s.split("@", 1)[0] for s in streams}
        self._ticker_symbols = {
            symbol for sym_id, symbol in self._symbols.items() if f"{sym_id}@bookTicker" in streams
        }
        for sym_id in sorted(watched):
            symbol = self._symbols.get(sym_id)
            if symbol is not None:
                self._sync(symbol, now_ns)
                yield
        for account in {c.account for c in self._conns if c.account is not None}:
            self._resting_fills(account, now_ns)
        for key in self.listen_keys.expired(now_ns):
            self._expire(key, now_ns)
        for conn in list(self._conns):
            age_ns = now_ns - conn.opened_ns
            if age_ns >= self._max_connection_ns:
                self._drop(conn, "24h connection limit")
            elif self._faults is not None:
                action = self._faults.connection(conn.opened_ns, now_ns)
                if action == "disconnect":
                    self._drop(conn, "fault: disconnect")
                elif action == "stall":
                    conn.stalled = True
        if self._faults is not None and self._faults.expire_listen_key(now_ns):
            for key in self.listen_keys.active():
                self.listen_keys.expire(key)
                self._expire(key, now_ns)

    def _sync(self, symbol: str, ts_ns: int) -> None:
        bids, asks = self._exchange.depth_counts(symbol, ts_ns, self._depths[symbol])
        feed, grid = self._feeds[symbol], self._grids[symbol]
        update = feed.advance(bids, asks, ts_ns)
        if update is None:
            return
        self._publish_depth(market_id(symbol).lower(), update, grid)
        self._publish_top(symbol, feed.top(), feed.last_id)

    def _touch(self, symbol: str, ts_ns: int) -> None:
        """`@bookTicker` of `symbol` between depth ticks, when its top moved: its `u` is the
        first id of the diff that will carry the change (Binance's ticker and depth ids
        are one sequence)."""
        bids, asks = self._exchange.depth_counts(symbol, ts_ns, 1)
        top = (bids[0] if bids else None), (asks[0] if asks else None)
        self._publish_top(symbol, top, self._feeds[symbol].last_id + 1)

    def _publish_top(
        self, symbol: str, top: tuple[Level | None, Level | None], update_id: int
    ) -> None:
        if top == self._tops.get(symbol):
            return
        self._tops[symbol] = top
        grid = self._grids[symbol]
        (bid, ask) = top
        b, a = bid or (0, 0), ask or (0, 0)
        self._publish(
            f"{market_id(symbol).lower()}@bookTicker",
            {
                "u": update_id,
                "s": market_id(symbol),
                "b": grid.price(int(b[0])),
                "B": grid.amount(int(b[1])),
                "a": grid.price(int(a[0])),
                "A": grid.amount(int(a[1])),
            },
        )

    def push_touches(self, now_ns: int) -> None:
        """`@bookTicker` of each watched book that refreshed by `now_ns` (the touch loop's
        step; a book first watched is looked at at once)."""
        for symbol in self._touches.due(now_ns, self._ticker_symbols):
            self._touch(symbol, now_ns)

    async def _run_touches(self) -> None:
        """Push each watched `@bookTicker` as its book refreshes, not at the next tick."""
        while True:
            try:
                self.push_touches(self._clock_ns())
            except Exception:  # one bad touch must not end the streams
                log.exception("%s: book ticker failed", self._exchange.venue_id)
            due = self._touches.next_due_ns()
            wait_s = self._push_interval_s if due is None else (due - self._clock_ns()) / 1e9
            await asyncio.sleep(max(wait_s, 0.0) + TOUCH_LAG_S)

    def _publish_depth(self, sym: str, update: DepthUpdate, grid: WireGrid) -> None:
        price, amount = grid.price, grid.amount
        event = {
            "e": "depthUpdate",
            "E": update.ts_ns // 1_000_000,
            "s": market_id(update.symbol),
            "U": update.first_id,
            "u": update.last_id,
            "b": [[price(int(p)), amount(int(a))] for p, a in update.bids],
            "a": [[price(int(p)), amount(int(a))] for p, a in update.asks],
        }
        action = self._faults.depth_event() if self._faults is not None else None
        if action == "gap":  # the event is lost: the next one's U skips ahead
            self.stats["gaps"] += 1
            return
        self._publish(f"{sym}@depth@100ms", event)
        if action == "repeat":
            self.stats["repeats"] += 1
            self._publish(f"{sym}@depth@100ms", event)

    def _publish_trade(self, trade: SimTrade) -> None:
        ms = trade.ts_ns // 1_000_000
        self._publish(
            f"{market_id(trade.symbol).lower()}@trade",
            {
                "e": "trade",
                "E": ms,
                "s": market_id(trade.symbol),
                "t": trade.trade_id,
                "p": wire_decimal(trade.price),
                "q": wire_decimal(trade.qty),
                "T": ms,
                "m": trade.side is Side.SELL,  # the buyer made the market when a taker sold
                "M": True,
            },
        )

    def _publish(self, stream: str, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload)
        wrapped: str | None = None
        for conn in list(self._conns):
            if stream not in conn.streams:
                continue
            if conn.combined:  # {"stream", "data"} around the payload already encoded
                wrapped = wrapped or f'{{"stream":{json.dumps(stream)},"data":{raw}}}'
            if not conn.push(wrapped if conn.combined and wrapped else raw):
                self._drop(conn, "slow consumer")

    # --- user data -------------------------------------------------------------------------

    def _resting_fills(self, account: str, now_ns: int) -> None:
        """Trades of resting orders matched since the last look (not reported by a request)."""
        pushed = self._pushed.setdefault(account, set())
        for symbol in self._exchange.symbols:
            for trade in self._exchange.trades(account, symbol, now_ns):
                if trade.trade_id in pushed:
                    continue
                order = self._exchange.order(account, symbol, now_ns, order_id=trade.order_id)
                self.on_order(account, order, now_ns, created=False)

    def _to_account(self, account: str, event: dict[str, Any]) -> None:
        raw = json.dumps(event)
        for conn in list(self._conns):
            if conn.account != account:
                continue
            text = raw
            if conn.subscription_id is not None:
                text = json.dumps({"subscriptionId": conn.subscription_id, "event": event})
            if not conn.push(text):
                self._drop(conn, "slow consumer")

    def _account_position(self, account: str, symbol: str, ts_ns: int) -> dict[str, Any]:
        balances = self._exchange.balances(account)
        ms = ts_ns // 1_000_000
        return {
            "e": "outboundAccountPosition",
            "E": ms,
            "u": ms,
            "B": [
                {"a": a, "f": wire_decimal(free), "l": wire_decimal(locked)}
                for a in split_symbol(symbol)
                for free, locked in [balances.get(a, (Decimal(0), Decimal(0)))]
            ],
        }

    def _watch_account(self, conn: _Conn, account: str) -> None:
        """From now on `conn` gets `account`'s events; nothing earlier is replayed."""
        conn.account = account
        pushed = self._pushed.setdefault(account, set())
        now_ns = self._clock_ns()
        for symbol in self._exchange.symbols:
            pushed.update(t.trade_id for t in self._exchange.trades(account, symbol, now_ns))

    def _expire(self, key: str, now_ns: int) -> None:
        event = {"e": "listenKeyExpired", "E": now_ns // 1_000_000, "listenKey": key}
        for conn in list(self._conns):
            if conn.listen_key == key:
                conn.push(json.dumps(event))
                conn.listen_key = None
                conn.account = None
                self._drop(conn, "listen key expired")

    async def _listen_key(self, request: web.Request) -> web.Response:
        """`POST/PUT/DELETE /api/v3/userDataStream`: API key header, no signature."""
        api_key = request.headers.get("X-MBX-APIKEY", "")
        if not api_key:
            return _error(-2014, "API-key format invalid.", 401)
        if api_key not in self._secrets:
            return _error(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        now_ns = self._clock_ns()
        if request.method == "POST":
            return web.json_response({"listenKey": self.listen_keys.create(api_key, now_ns)})
        params = dict(request.rel_url.query)
        if request.can_read_body:
            params.update(parse_qsl(await request.text()))
        key = params.get("listenKey", "")
        if not key:
            return _error(-1102, "Mandatory parameter 'listenKey' was not sent.", 400)
        done = (
            self.listen_keys.keep_alive(key, api_key, now_ns)
            if request.method == "PUT"
            else self.listen_keys.close(key, api_key)
        )
        if not done:
            return _error(-1125, "This listenKey does not exist.", 400)
        return web.json_response({})

    # --- connections -----------------------------------------------------------------------

    async def _open(self, request: web.Request) -> tuple[web.WebSocketResponse, _Conn]:
        ws = web.WebSocketResponse(heartbeat=20.0, autoping=True)
        await ws.prepare(request)
        conn = _Conn(ws, self._clock_ns())
        self._conns.add(conn)
        self.stats["connections"] += 1
        return ws, conn

    async def _serve(
        self, conn: _Conn, on_text: Callable[[_Conn, Any], dict[str, Any] | None]
    ) -> None:
        writer = asyncio.create_task(_drain(conn))
        try:
            async for msg in conn.ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                now_ns = self._clock_ns()
                conn.received = [t for t in conn.received if now_ns - t < 1_000_000_000]
                conn.received.append(now_ns)
                if len(conn.received) > MAX_INCOMING_PER_S:
                    self._drop(conn, "more than 5 incoming messages a second")
                    break
                try:
                    body = json.loads(msg.data)
                except ValueError:
                    conn.push(json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}}))
                    continue
                answer = on_text(conn, body)
                if answer is not None:
                    conn.push(json.dumps(answer))
        finally:
            self._conns.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _drop(self, conn: _Conn, why: str) -> None:
        if conn not in self._conns:
            return
        self._conns.discard(conn)
        self.stats["disconnects"] += 1
        log.info("%s: stream closed: %s", self._exchange.venue_id, why)
        conn.outbox.put_nowait("") if not conn.outbox.full() else None  # wakes the writer

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        name = request.match_info.get("name", "")
        account = self.listen_keys.account_of(name) if name else None
        ws, conn = await self._open(request)
        if request.path == "/stream":
            conn.combined = True
            names = [s for s in request.rel_url.query.get("streams", "").split("/") if s]
            conn.streams.update(s for s in names if self._valid(s))
        elif account is not None:
            conn.listen_key = name
            self._watch_account(conn, account)
        elif name and self._valid(name):
            conn.streams.add(name)
        await self._serve(conn, self._market_request)
        return ws

    def _valid(self, stream: str) -> bool:
        sym, _, kind = stream.partition("@")
        return sym in self._symbols and kind in _STREAM_KINDS

    def _market_request(self, conn: _Conn, body: Any) -> dict[str, Any] | None:
        if not isinstance(body, dict) or "method" not in body:
            return {"error": {"code": 3, "msg": "Invalid request"}, "id": None}
        rid, method, params = body.get("id"), body.get("method"), body.get("params") or []
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return {"error": {"code": 2, "msg": "Invalid request: invalid params"}, "id": rid}
            if method == "UNSUBSCRIBE":
                conn.streams.difference_update(params)
                return {"result": None, "id": rid}
            bad = [p for p in params if not self._valid(p)]
            if bad:
                return {"error": {"code": 2, "msg": f"Invalid request: {bad[0]}"}, "id": rid}
            if len(conn.streams | set(params)) > MAX_STREAMS_PER_CONNECTION:
                return {"error": {"code": 2, "msg": "Max streams per connection"}, "id": rid}
            conn.streams.update(params)
            return {"result": None, "id": rid}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(conn.streams), "id": rid}
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            return {"result": None if method == "SET_PROPERTY" else False, "id": rid}
        return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method}"}, "id": rid}

    async def _api_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws, conn = await self._open(request)
        await self._serve(conn, self._api_request)
        return ws

    def _api_request(self, conn: _Conn, body: Any) -> dict[str, Any] | None:
        """The WebSocket API requests the user data stream needs (ping, time, subscribe)."""
        if not isinstance(body, dict):
            return {"id": None, "status": 400, "error": {"code": -1100, "msg": "Bad request"}}
        rid, method = body.get("id"), body.get("method")
        params = body.get("params") or {}
        if method == "ping":
            return {"id": rid, "status": 200, "result": {}}
        if method == "time":
            return {"id": rid, "status": 200, "result": {"serverTime": self._clock_ns() // 10**6}}
        if method == "userDataStream.subscribe.signature":
            account = self._check_signature(params)
            if isinstance(account, dict):
                return {"id": rid, "status": 401, "error": account}
            self._next_subscription += 1
            conn.subscription_id = self._next_subscription - 1
            self._watch_account(conn, account)
            return {"id": rid, "status": 200, "result": {"subscriptionId": conn.subscription_id}}
        if method == "userDataStream.unsubscribe":
            conn.account, conn.subscription_id = None, None
            return {"id": rid, "status": 200, "result": {}}
        return {"id": rid, "status": 400, "error": {"code": -1100, "msg": "Unknown method."}}

    def _check_signature(self, params: dict[str, Any]) -> str | dict[str, Any]:
        """The account of a signed WebSocket API request, or Binance's error object."""
        api_key = str(params.get("apiKey") or "")
        secret = self._secrets.get(api_key)
        if secret is None:
            return {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
        signed = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
        expected = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(params.get("signature") or "").lower()):
            return {"code": -1022, "msg": "Signature for this request is not valid."}
        try:
            ts_ms = int(params.get("timestamp") or 0)
            window_ms = int(params.get("recvWindow") or 5_000)
        except (TypeError, ValueError):
            return {"code": -1100, "msg": "Illegal characters found in parameter 'timestamp'."}
        now_ms = self._clock_ns() // 1_000_000
        if ts_ms >= now_ms + 1_000 or now_ms - ts_ms > window_ms:
            return {
                "code": -1021,
                "msg": "Timestamp for this request is outside of the recvWindow.",
            }
        return api_key


async def _drain(conn: _Conn) -> None:
    """Send the outbox in order; an empty string (queued by `_drop`) closes the socket."""
    while True:
        text = await conn.outbox.get()
        if not text:
            await conn.ws.close()
            return
        if conn.ws.closed:
            return
        await conn.ws.send_str(text)


def _error(code: int, msg: str, status: int) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _execution_report(
    order: OrderState,
    execution: str,
    status: str,
    ts_ns: int,
    trade: SimTrade | None = None,
    cum_qty: Decimal | None = None,
    cum_quote: Decimal | None = None,
) -> dict[str, Any]:
    """Binance's `executionReport` of one order event (a trade when `trade` is given)."""
    ms = ts_ns // 1_000_000
    zero = Decimal(0)
    return {
        "e": "executionReport",
        "E": ms,
        "s": market_id(order.symbol),
        "c": order.client_order_id,
        "S": order.side.value.upper(),
        "o": order.order_type.value,
        "f": order.time_in_force.value,
        "q": wire_decimal(order.orig_qty),
        "p": wire_decimal(order.price),
        "P": wire_decimal(zero),
        "F": wire_decimal(zero),
        "g": -1,
        "C": "",
        "x": execution,
        "X": status,
        "r": "NONE",
        "i": order.order_id,
        "l": wire_decimal(trade.qty if trade else zero),
        "z": wire_decimal(cum_qty if cum_qty is not None else order.executed_qty),
        "L": wire_decimal(trade.price if trade else zero),
        "n": wire_decimal(trade.fee if trade else zero),
        "N": trade.fee_asset if trade else None,
        "T": (trade.ts_ns if trade else ts_ns) // 1_000_000,
        "t": trade.trade_id if trade else -1,
        "v": 0,
        "I": 0,
        "w": order.status.is_open,
        "m": trade.is_maker if trade else False,
        "M": False,
        "O": order.created_ns // 1_000_000,
        "Z": wire_decimal(cum_quote if cum_quote is not None else order.cumulative_quote_qty),
        "Y": wire_decimal(trade.quote_qty if trade else zero),
        "Q": wire_decimal(order.orig_quote_order_qty),
        "W": order.created_ns // 1_000_000,
        "V": "NONE",
    }
