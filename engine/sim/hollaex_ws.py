"""The HollaEx `/stream` websocket of the simulated home venue, on its REST port.

What the unmodified `ccxt.pro.hollaex` client speaks
(https://apidocs.hollaex.com/#websocket): connect to `/stream`, for private
topics with `api-key`, `api-expires` (unix seconds) and `api-signature` =
hex HMAC-SHA256(secret, "CONNECT/stream" + expires) in the query string; then
`{"op": "subscribe", "args": ["orderbook:btc-usdt", "usertrade", ...]}` and
`{"op": "ping"}` (answered `{"message": "pong"}`). Topics, optionally
`:<pair>`:

* `orderbook`: the book as a `partial` (HollaEx sends whole books), at
  subscribe and whenever it changed, checked every push tick;
* `usertrade`: a `partial` (empty) at subscribe, then each new fill of the
  account as an `insert`, pushed right after the matching that made it;
* `order`: the open orders as a `partial`, then every order placed,
  cancelled or filled as an `insert`/`update`;
* `wallet`: the balances as a `partial`, again after each change.

Shares the fault config's stream faults with the Binance edge
(`engine.sim.faults.StreamFaults`: disconnects and stalls). Keys and secrets
never appear in a log line or an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from engine.sim.faults import StreamFaults
from engine.sim.hollaex_http import _trade_json
from engine.sim.hollaex_wire import iso, pair_id
from engine.sim.hollaex_wire import num as _num
from engine.sim.home_exchange import HomeExchange, HomeOrder
from engine.sim.push_loop import PushLoop

log = logging.getLogger(__name__)

PUSH_INTERVAL_S = 0.05
BOOK_DEPTH = 50
OUTBOX_LIMIT = 2_000
_PRIVATE = ("usertrade", "order", "wallet")
_TOPICS = ("orderbook", *_PRIVATE)


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    opened_ns: int
    account: str | None
    topics: set[tuple[str, str | None]] = field(default_factory=set)  # (topic, pair or None)
    outbox: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(OUTBOX_LIMIT))
    stalled: bool = False
    trades_sent: int = 0  # the account's trades up to here are not this connection's to send

    def wants(self, topic: str, pair: str) -> bool:
        return (topic, None) in self.topics or (topic, pair) in self.topics


class HollaExStreams:
    """Book, order, fill and wallet pushes of one `HomeExchange`, HollaEx dialect."""

    def __init__(
        self,
        exchange: HomeExchange,
        *,
        credentials: Mapping[str, str],
        order_json: Callable[[HomeOrder], dict[str, Any]],
        clock_ns: Callable[[], int] = time.time_ns,
        faults: StreamFaults | None = None,
        push_interval_s: float = PUSH_INTERVAL_S,
    ) -> None:
        """`order_json` is the REST edge's order shape (the stream sends the same)."""
        self._exchange = exchange
        self._secrets = dict(credentials)
        self._order_json = order_json
        self._clock_ns = clock_ns
        self._faults = faults
        self._push_interval_s = push_interval_s
        self._pairs = {pair_id(s): s for s in exchange.symbols}
        self._conns: set[_Conn] = set()
        self._books: dict[str, Any] = {}  # pair -> last book sent
        self._pushes = PushLoop(
            exchange.venue_id, push_interval_s, self.tick, clock_ns, self._close_all
        )
        self.stats = {"connections": 0, "disconnects": 0}

    def __repr__(self) -> str:
        return f"HollaExStreams(venue={self._exchange.venue_id!r}, conns={len(self._conns)})"

    def install(self, app: web.Application) -> None:
        app.router.add_get("/stream", self._serve)
        self._pushes.install(app)

    # --- what the REST edge and the takers' loop call ----------------------------------

    def on_order(self, account: str, order: HomeOrder, ts_ns: int, *, action: str) -> None:
        """An order placed ("insert") or cancelled ("update") over REST."""
        self._to_account(account, "order", order.symbol, action, self._order_json(order), ts_ns)
        self._wallet(account, ts_ns)

    def tick(self, now_ns: int) -> None:
        """Push new fills (right after matching), changed books, connection faults."""
        for account in {c.account for c in self._conns if c.account is not None}:
            self._new_trades(account, now_ns)
        for pair, symbol in self._pairs.items():
            if any(c.wants("orderbook", pair) for c in self._conns):
                book = self._book(symbol, now_ns)
                if book["bids"] != self._books.get(pair, {}).get("bids") or book[
                    "asks"
                ] != self._books.get(pair, {}).get("asks"):
                    self._books[pair] = book
                    self._publish("orderbook", pair, book, now_ns)
        if self._faults is not None:
            for conn in list(self._conns):
                action = self._faults.connection(conn.opened_ns, now_ns)
                if action == "disconnect":
                    self._drop(conn, "fault: disconnect")
                elif action == "stall":
                    conn.stalled = True

    # --- pushes ------------------------------------------------------------------------

    def _new_trades(self, account: str, now_ns: int) -> None:
        """Each connection gets the account's trades since it subscribed, never earlier
        ones: a client that was disconnected reads what it missed over REST."""
        trades = self._exchange.trades(account)
        conns = [c for c in self._conns if c.account == account and c.trades_sent < len(trades)]
        if not conns:
            return
        touched: dict[str, None] = {}
        for conn in conns:
            fresh = trades[conn.trades_sent :]
            conn.trades_sent = len(trades)
            by_pair: dict[str, list[dict[str, Any]]] = {}
            for t in fresh:
                by_pair.setdefault(pair_id(t.symbol), []).append(_trade_json(t))
                touched[t.order_id] = None
            for pair, rows in by_pair.items():
                if conn.wants("usertrade", pair):
                    self._push(
                        conn, self._message("usertrade", pair, "insert", rows, now_ns, account)
                    )
        for order_id in touched:
            order = self._exchange.order(account, order_id)
            self._to_account(
                account, "order", order.symbol, "update", self._order_json(order), now_ns
            )
        self._wallet(account, now_ns)

    def _wallet(self, account: str, ts_ns: int) -> None:
        data: dict[str, Any] = {}
        for asset, (free, locked) in self._exchange.balances(account).items():
            data[f"{asset.lower()}_balance"] = _num(free + locked)
            data[f"{asset.lower()}_available"] = _num(free)
        self._to_account(account, "wallet", None, "partial", data, ts_ns)

    def _book(self, symbol: str, ts_ns: int) -> dict[str, Any]:
        bids, asks = self._exchange.book(symbol, BOOK_DEPTH)
        return {
            "bids": [[_num(p), _num(s)] for p, s in bids],
            "asks": [[_num(p), _num(s)] for p, s in asks],
            "timestamp": iso(ts_ns),
        }

    def _message(
        self, topic: str, pair: str | None, action: str, data: Any, ts_ns: int, account: str | None
    ) -> str:
        msg: dict[str, Any] = {"topic": topic, "action": action}
        if account is not None:
            msg["user_id"] = 1
        if pair is not None:
            msg["symbol"] = pair
        msg["data"] = data
        msg["time"] = ts_ns // 1_000_000_000
        return json.dumps(msg)

    def _publish(self, topic: str, pair: str, data: Any, ts_ns: int) -> None:
        text = self._message(topic, pair, "partial", data, ts_ns, None)
        for conn in list(self._conns):
            if conn.wants(topic, pair):
                self._push(conn, text)

    def _to_account(
        self, account: str, topic: str, symbol: str | None, action: str, data: Any, ts_ns: int
    ) -> None:
        pair = pair_id(symbol) if symbol is not None else None
        text = self._message(topic, pair, action, data, ts_ns, account)
        for conn in list(self._conns):
            if conn.account == account and (
                (topic, None) in conn.topics or (pair is not None and conn.wants(topic, pair))
            ):
                self._push(conn, text)

    def _push(self, conn: _Conn, text: str) -> None:
        if conn.stalled:
            return
        try:
            conn.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self._drop(conn, "slow consumer")

    def _drop(self, conn: _Conn, why: str) -> None:
        if conn not in self._conns:
            return
        self._conns.discard(conn)
        self.stats["disconnects"] += 1
        log.info("%s: stream closed: %s", self._exchange.venue_id, why)
        if not conn.outbox.full():
            conn.outbox.put_nowait("")

    # --- connections -------------------------------------------------------------------

    async def _close_all(self) -> None:
        for conn in list(self._conns):
            await conn.ws.close()

    def _account_of(self, query: Mapping[str, str]) -> str | dict[str, str] | None:
        """The account of a signed connection, None for a public one, else an error."""
        api_key = query.get("api-key", "")
        if not api_key:
            return None
        secret = self._secrets.get(api_key)
        expires = query.get("api-expires", "")
        if secret is None or not expires.isdigit():
            return {"error": "Access denied: Invalid API key"}
        expected = hmac.new(
            secret.encode(), f"CONNECT/stream{expires}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, query.get("api-signature", "").lower()):
            return {"error": "Access denied: Invalid API signature"}
        if int(expires) < self._clock_ns() // 1_000_000_000:
            return {"error": "Access denied: API request is expired"}
        return api_key

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        account = self._account_of(request.rel_url.query)
        if isinstance(account, dict):
            await ws.send_str(json.dumps(account))
            await ws.close()
            return ws
        conn = _Conn(ws, self._clock_ns(), account)
        if account is not None:
            conn.trades_sent = len(self._exchange.trades(account))
        self._conns.add(conn)
        self.stats["connections"] += 1
        writer = asyncio.create_task(_drain(conn))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    body = json.loads(msg.data)
                except ValueError:
                    self._push(conn, json.dumps({"error": "Error: wrong input"}))
                    continue
                self._request(conn, body)
        finally:
            self._conns.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def _request(self, conn: _Conn, body: Any) -> None:
        op = body.get("op") if isinstance(body, dict) else None
        if op == "ping":
            self._push(conn, json.dumps({"message": "pong"}))
            return
        args = body.get("args") if isinstance(body, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            self._push(conn, json.dumps({"error": "Error: wrong input"}))
            return
        now_ns = self._clock_ns()
        for arg in args:
            topic, _, pair = str(arg).partition(":")
            key = (topic, pair or None)
            if topic not in _TOPICS or (pair and pair not in self._pairs):
                self._push(conn, json.dumps({"error": "Error: wrong input"}))
                continue
            if topic in _PRIVATE and conn.account is None:
                self._push(conn, json.dumps({"error": "Bearer or HMAC authentication required"}))
                continue
            if op == "unsubscribe":
                conn.topics.discard(key)
                continue
            conn.topics.add(key)
            self._snapshot(conn, topic, pair or None, now_ns)

    def _snapshot(self, conn: _Conn, topic: str, pair: str | None, now_ns: int) -> None:
        """The `partial` a new subscription starts with."""
        account = conn.account
        if topic == "orderbook":
            for p in [pair] if pair else list(self._pairs):
                book = self._book(self._pairs[p], now_ns)
                self._push(conn, self._message("orderbook", p, "partial", book, now_ns, None))
            return
        assert account is not None
        if topic == "usertrade":
            conn.trades_sent = len(self._exchange.trades(account))
            self._push(conn, self._message("usertrade", pair, "partial", [], now_ns, account))
        elif topic == "order":
            symbol = self._pairs[pair] if pair else None
            orders = self._exchange.orders(account, symbol, open_only=True)
            data = [self._order_json(o) for o in orders]
            self._push(conn, self._message("order", pair, "partial", data, now_ns, account))
        elif topic == "wallet":
            self._wallet(account, now_ns)


async def _drain(conn: _Conn) -> None:
    while True:
        text = await conn.outbox.get()
        if not text:
            await conn.ws.close()
            return
        if conn.ws.closed:
            return
        await conn.ws.send_str(text)
