"""The home venue (`HomeExchange`) served over HTTP in the HollaEx Kit v2 REST dialect.

Wire-exact, so an unmodified client (`ccxt.hollaex`, a bot signing as the
docs show) runs against it: `/v2/constants` (markets and coins),
`/v2/orderbook(s)`, `/v2/order` (POST, GET, DELETE), `/v2/order/all` (DELETE),
`/v2/orders`, `/v2/user/balance`, `/v2/user/trades` here; tickers, public
trades, charts, the TradingView UDF, kit and tiers in `hollaex_public.py`;
`/v2/user`, deposits and withdrawals in `hollaex_user.py`; any other path a
JSON 404. Private requests carry `api-key`, `api-expires` (unix seconds) and
`api-signature` = hex HMAC-SHA256(secret, METHOD + path?query + expires +
body), where body is the JSON body RE-SERIALISED as the Kit's
`JSON.stringify(req.body)` writes it (compact), not the bytes received: a
client signing compact JSON may send it with any spacing, as on HollaEx.
Errors are `{"message": ...}` with the
HTTP status HollaEx uses; ccxt maps them by message ("Order not found",
"Insufficient balance", "API request is expired", ...) and else by status.
Reference: https://apidocs.hollaex.com

HollaEx has no client order id; an order's `meta.note` (a HollaEx field) is
kept and echoed, which is how a client can find its own order again after a
timeout (list `/v2/orders` and match `meta.note`).

This module is the I/O edge: it reads the wall clock and passes it in as
`ts_ns`. Keys and secrets are never logged or echoed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from aiohttp import web

from engine.sim.exchange import (
    CancelRejected,
    InsufficientBalance,
    OrderNotFound,
    OrderRefused,
    OrderRejected,
    SimError,
    UnknownSymbol,
)
from engine.sim.faults import NO_FAULT, Failure, FaultModel, RequestClass
from engine.sim.hollaex_public import HollaExPublic
from engine.sim.hollaex_user import HollaExUser
from engine.sim.hollaex_wire import (
    BadParameter,
    Handler,
    HollaExRequest,
    iso,
    js_json,
    num,
    page,
    pair_id,
    since,
)
from engine.sim.home_exchange import HomeExchange, HomeOrder, HomeOrderType, HomeTrade
from engine.sim.transfers import TransferDesk
from engine.types import Side, split_symbol

log = logging.getLogger(__name__)

MAX_EXPIRES_AHEAD_S = 300
_T = TypeVar("_T")


class AuthRejected(SimError):
    """A private request whose key, signature or expiry does not pass (HTTP 403 or 401)."""


class ExpiredRequest(SimError):
    def __init__(self) -> None:
        super().__init__("API request is expired")


class EndpointNotFound(SimError):
    def __init__(self) -> None:
        super().__init__("Not Found")


class TooManyRequests(SimError):
    def __init__(self) -> None:
        super().__init__("Too many requests")


# THE table from our errors to HollaEx's HTTP status; the message is the error's text.
# ccxt.hollaex maps: "Order not found" OrderNotFound, "Insufficient balance"
# InsufficientFunds, "API request is expired" InvalidNonce, 403 AuthenticationError,
# 400/404 BadRequest, 429 BadRequest (sic, ccxt's own table), 500/503 NetworkError.
HOLLAEX_ERRORS: tuple[tuple[type[SimError], int], ...] = (
    (ExpiredRequest, 403),
    (AuthRejected, 403),
    (TooManyRequests, 429),
    (EndpointNotFound, 404),
    (OrderNotFound, 404),
    (CancelRejected, 404),
    (InsufficientBalance, 400),
    (UnknownSymbol, 400),
    (OrderRejected, 400),
    (BadParameter, 400),
    (SimError, 400),
)

_MESSAGES: dict[type[SimError], str] = {
    OrderNotFound: "Order not found",
    CancelRejected: "Order not found",
    InsufficientBalance: "Insufficient balance",
    UnknownSymbol: "Invalid symbol",
}

_FAULT_MESSAGES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def hollaex_error(exc: SimError) -> tuple[int, str]:
    """(HTTP status, message) of one of our errors."""
    for error_type, status in HOLLAEX_ERRORS:
        if isinstance(exc, error_type):
            for message_type, message in _MESSAGES.items():
                if isinstance(exc, message_type):
                    return status, message
            return status, str(exc)
    return 500, "Internal server error"


class OrderListener(Protocol):
    def __call__(self, account: str, order: HomeOrder, ts_ns: int, *, action: str) -> None: ...


class HollaExApi:
    """The HollaEx v2 REST endpoints of the simulated home venue."""

    def __init__(
        self,
        exchange: HomeExchange,
        *,
        credentials: Mapping[str, str],
        clock_ns: Callable[[], int] = time.time_ns,
        faults: FaultModel | None = None,
        transfers: TransferDesk | None = None,
        on_order: OrderListener | None = None,
    ) -> None:
        """`faults` injects seeded faults; `transfers` settles arriving deposits first;
        `on_order(account, order, ts_ns, action=...)` hears of every order placed
        ("insert") or cancelled ("update"): the `/stream` websocket pushes them."""
        self._exchange = exchange
        self._on_order = on_order
        self._transfers = transfers
        self._secrets = dict(credentials)
        self._clock_ns = clock_ns
        self._faults = faults
        self._pairs = {pair_id(s): s for s in exchange.symbols}
        self._public = HollaExPublic(exchange, self._symbol)
        self._user = HollaExUser(exchange, transfers, self._balance_json)

    def __repr__(self) -> str:  # never show the key table
        return f"HollaExApi(venue={self._exchange.venue_id!r})"

    def app(self) -> web.Application:
        app = web.Application()
        routes: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/v2/health", self._health, False),
            ("GET", "/v2/constants", self._constants, False),
            ("GET", "/v2/orderbook", self._orderbook, False),
            ("GET", "/v2/orderbooks", self._orderbooks, False),
            ("GET", "/v2/user/balance", self._balance, True),
            ("POST", "/v2/order", self._new_order, True),
            ("GET", "/v2/order", self._get_order, True),
            ("DELETE", "/v2/order", self._cancel_order, True),
            ("DELETE", "/v2/order/all", self._cancel_all, True),
            ("GET", "/v2/orders", self._orders, True),
            ("GET", "/v2/user/trades", self._trades, True),
            *self._public.routes(),
            *self._user.routes(),
        ]
        for method, path, handler, signed in routes:
            request_class = (
                RequestClass.ORDER
                if (method, path) == ("POST", "/v2/order")
                else RequestClass.BOOK
                if path.startswith("/v2/orderbook")
                else RequestClass.OTHER
            )
            app.router.add_route(method, path, self._endpoint(handler, signed, request_class))
        # any other path or method: a JSON 404 like the Kit's, never aiohttp's text/plain
        app.router.add_route(
            "*", "/{tail:.*}", self._endpoint(self._unknown, False, RequestClass.OTHER)
        )
        return app

    async def _unknown(self, req: HollaExRequest) -> Any:
        raise EndpointNotFound()

    # --- request plumbing -------------------------------------------------------------------

    def _endpoint(
        self, handler: Handler, signed: bool, request_class: RequestClass
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            now_ns = self._clock_ns()
            raw_body = (await request.text()) if request.can_read_body else ""
            try:
                if self._transfers is not None:
                    self._transfers.settle(now_ns)
                fault = self._faults.decide(request_class, now_ns) if self._faults else NO_FAULT
                if fault.latency_s > 0:
                    await asyncio.sleep(fault.latency_s)
                if fault.failure in (Failure.OUTAGE, Failure.ERROR_5XX):
                    return _message(fault.http_status, _FAULT_MESSAGES[fault.http_status])
                if fault.failure is Failure.RATE_LIMITED:
                    raise TooManyRequests()
                if fault.failure is Failure.TIMEOUT_BEFORE:
                    await asyncio.sleep(fault.hang_s)
                    return _message(504, _FAULT_MESSAGES[504])
                if fault.failure is Failure.REJECT:
                    raise OrderRefused()
                params: dict[str, Any] = dict(request.rel_url.query)
                signed_body = ""
                if raw_body.strip():
                    try:
                        body = json.loads(raw_body)
                    except ValueError:
                        raise BadParameter("Request body is not valid JSON") from None
                    if not isinstance(body, dict):
                        raise BadParameter("Request body must be a JSON object")
                    params.update(body)
                    # the Kit signs JSON.stringify(req.body), not the bytes received
                    signed_body = js_json(body) if body else ""
                account = ""
                if signed:
                    account = self._authenticate(request, signed_body, now_ns)
                payload = await handler(HollaExRequest(params, account, now_ns, fault))
                if fault.failure is Failure.TIMEOUT_AFTER:
                    await asyncio.sleep(fault.hang_s)
                    return _message(504, _FAULT_MESSAGES[504])
                return web.json_response(payload)
            except SimError as exc:
                status, message = hollaex_error(exc)
                return _message(status, message)
            except Exception:
                log.exception("%s %s failed", request.method, request.path)
                return _message(500, _FAULT_MESSAGES[500])

        return serve

    def _authenticate(self, request: web.Request, body: str, now_ns: int) -> str:
        api_key = request.headers.get("api-key", "")
        expires = request.headers.get("api-expires", "")
        signature = request.headers.get("api-signature", "")
        if not api_key or not expires or not signature:
            raise AuthRejected("Missing api-key, api-expires or api-signature")
        secret = self._secrets.get(api_key)
        if secret is None:
            raise AuthRejected("Access denied: Invalid API key")
        payload = request.method + request.rel_url.raw_path_qs + expires + body
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise AuthRejected("Access denied: Invalid API signature")
        if not expires.isdigit():
            raise AuthRejected("Access denied: Invalid api-expires")
        now_s = now_ns // 1_000_000_000
        if int(expires) < now_s:
            raise ExpiredRequest()
        if int(expires) > now_s + MAX_EXPIRES_AHEAD_S:
            raise AuthRejected("Access denied: api-expires is too far in the future")
        return api_key

    def _symbol(self, params: dict[str, Any], *, required: bool = True) -> str | None:
        raw = params.get("symbol")
        if not raw:
            if required:
                raise BadParameter("Missing required property: symbol")
            return None
        symbol = self._pairs.get(str(raw).lower())
        if symbol is None:
            raise UnknownSymbol(str(raw))
        return symbol

    # --- public endpoints -------------------------------------------------------------------

    async def _health(self, req: HollaExRequest) -> dict[str, Any]:
        return {"name": self._exchange.venue_id, "version": "2.x-sim", "status": True}

    async def _constants(self, req: HollaExRequest) -> dict[str, Any]:
        coins: dict[str, Any] = {}
        pairs: dict[str, Any] = {}
        for n, symbol in enumerate(self._exchange.symbols, start=1):
            spec = self._exchange.spec(symbol)
            base, quote = split_symbol(symbol)
            for asset in (base, quote):
                coins.setdefault(asset.lower(), _coin(asset, len(coins) + 1))
            pairs[pair_id(symbol)] = {
                "id": n,
                "name": pair_id(symbol),
                "pair_base": base.lower(),
                "pair_2": quote.lower(),
                "active": True,
                "increment_size": num(spec.lot_size),
                "increment_price": num(spec.tick_size),
                "min_size": num(spec.min_amount),
                "max_size": 1_000_000_000,
                "min_price": num(spec.tick_size),
                "max_price": 1_000_000_000,
                "estimated_price": None,
                "is_public": True,
                "created_at": iso(0),
            }
        return {"coins": coins, "pairs": pairs, "info": {"name": self._exchange.venue_id}}

    def _book_json(self, symbol: str, req: HollaExRequest) -> dict[str, Any]:
        bids, asks = self._exchange.book(symbol, 50)
        return {
            "bids": [[num(p), num(s)] for p, s in bids],
            "asks": [[num(p), num(s)] for p, s in asks],
            "timestamp": iso(req.ts_ns),
        }

    async def _orderbook(self, req: HollaExRequest) -> dict[str, Any]:
        symbol = self._symbol(req.params)
        assert symbol is not None
        return {pair_id(symbol): self._book_json(symbol, req)}

    async def _orderbooks(self, req: HollaExRequest) -> dict[str, Any]:
        return {pair_id(s): self._book_json(s, req) for s in self._exchange.symbols}

    # --- private endpoints ------------------------------------------------------------------

    async def _balance(self, req: HollaExRequest) -> dict[str, Any]:
        return self._balance_json(req.account, req.ts_ns)

    def _balance_json(self, account: str, ts_ns: int) -> dict[str, Any]:
        out: dict[str, Any] = {"updated_at": iso(ts_ns)}
        for asset, (free, locked) in self._exchange.balances(account).items():
            out[f"{asset.lower()}_balance"] = num(free + locked)
            out[f"{asset.lower()}_available"] = num(free)
            out[f"{asset.lower()}_pending"] = 0
        return out

    async def _new_order(self, req: HollaExRequest) -> dict[str, Any]:
        p = req.params
        symbol = self._symbol(p)
        assert symbol is not None
        side = {"buy": Side.BUY, "sell": Side.SELL}.get(str(p.get("side", "")).lower())
        if side is None:
            raise BadParameter("Invalid side")
        try:
            order_type = HomeOrderType(str(p.get("type", "")).lower())
        except ValueError:
            raise BadParameter("Invalid order type") from None
        if p.get("stop") is not None:
            raise BadParameter("Stop orders are not supported by venue-sim")
        meta = p.get("meta") or {}
        if not isinstance(meta, dict):
            raise BadParameter("meta must be an object")
        note = meta.get("note")
        order = self._exchange.place_order(
            req.account,
            symbol,
            side,
            order_type,
            _decimal(p, "size"),
            _decimal(p, "price") if order_type is HomeOrderType.LIMIT else None,
            req.ts_ns,
            post_only=bool(meta.get("post_only", False)),
            note=str(note) if note is not None else None,
        )
        if self._on_order is not None:
            self._on_order(req.account, order, req.ts_ns, action="insert")
        return self._order_json(order)

    def _order_id(self, params: dict[str, Any]) -> str:
        order_id = params.get("order_id")
        if not order_id:
            raise BadParameter("Missing required property: order_id")
        return str(order_id)

    async def _get_order(self, req: HollaExRequest) -> dict[str, Any]:
        return self._order_json(self._exchange.order(req.account, self._order_id(req.params)))

    async def _cancel_order(self, req: HollaExRequest) -> dict[str, Any]:
        order = self._exchange.cancel_order(req.account, self._order_id(req.params), req.ts_ns)
        if self._on_order is not None:
            self._on_order(req.account, order, req.ts_ns, action="update")
        return self._order_json(order)

    async def _cancel_all(self, req: HollaExRequest) -> list[dict[str, Any]]:
        symbol = self._symbol(req.params)
        cancelled = [
            self._exchange.cancel_order(req.account, o.order_id, req.ts_ns)
            for o in self._exchange.orders(req.account, symbol, open_only=True)
        ]
        if self._on_order is not None:
            for order in cancelled:
                self._on_order(req.account, order, req.ts_ns, action="update")
        return [self._order_json(o) for o in cancelled]

    async def _orders(self, req: HollaExRequest) -> dict[str, Any]:
        p = req.params
        symbol = self._symbol(p, required=False)
        open_raw = str(p.get("open", "")).lower()
        open_only = True if open_raw == "true" else False if open_raw == "false" else None
        orders = self._exchange.orders(req.account, symbol, open_only=open_only)
        if p.get("side"):
            orders = [o for o in orders if o.side.value == str(p["side"]).lower()]
        if p.get("status"):
            orders = [o for o in orders if o.status.value == str(p["status"]).lower()]
        orders = since(orders, p.get("start_date"), lambda o: o.created_ns)
        data = page(orders, p)
        return {"count": len(orders), "data": [self._order_json(o) for o in data]}

    async def _trades(self, req: HollaExRequest) -> dict[str, Any]:
        p = req.params
        symbol = self._symbol(p, required=False)
        trades = since(self._exchange.trades(req.account, symbol), p.get("start_date"), _ts)
        data = page(trades, p)
        return {"count": len(trades), "data": [_trade_json(t) for t in data]}

    def order_json(self, order: HomeOrder) -> dict[str, Any]:
        """An order as HollaEx sends it (REST answers and the `order` stream topic)."""
        return self._order_json(order)

    def _order_json(self, order: HomeOrder) -> dict[str, Any]:
        base, quote = split_symbol(order.symbol)
        meta: dict[str, Any] = {}
        if order.post_only:
            meta["post_only"] = True
        if order.note is not None:
            meta["note"] = order.note
        return {
            "id": order.order_id,
            "side": order.side.value,
            "symbol": pair_id(order.symbol),
            "size": num(order.size),
            "filled": num(order.filled),
            "stop": None,
            "fee": num(order.fee),
            "fee_coin": (base if order.side is Side.BUY else quote).lower(),  # coin received
            "type": order.order_type.value,
            "price": num(order.price) if order.order_type is HomeOrderType.LIMIT else None,
            "status": order.status.value,
            "created_by": order.account_number,
            "meta": meta,
            "fee_structure": {
                "maker": num(self._exchange.maker_fee * 100),
                "taker": num(self._exchange.taker_fee * 100),
            },
            "created_at": iso(order.created_ns),
            "updated_at": iso(order.updated_ns),
        }


# --- helpers of this dialect ------------------------------------------------------------------


def _coin(asset: str, number: int) -> dict[str, Any]:
    return {
        "id": number,
        "fullname": asset,
        "symbol": asset.lower(),
        "active": True,
        "allow_deposit": True,
        "allow_withdrawal": True,
        "withdrawal_fee": 0,
        "min": 0.00000001,
        "max": 10_000_000_000,
        "increment_unit": 0.00000001,
        "type": "blockchain",
        "withdrawal_limits": {},
    }


def _message(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def _decimal(params: dict[str, Any], name: str) -> Decimal:
    raw = params.get(name)
    if raw is None or raw == "":
        raise BadParameter(f"Missing required property: {name}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise BadParameter(f"Invalid {name}: {raw!r} is not a number") from None
    if not value.is_finite():
        raise BadParameter(f"Invalid {name}: {raw!r} is not a number")
    return value


def _ts(trade: HomeTrade) -> int:
    return trade.ts_ns


def _trade_json(trade: HomeTrade) -> dict[str, Any]:
    return {
        "side": trade.side.value,
        "symbol": pair_id(trade.symbol),
        "size": num(trade.size),
        "price": num(trade.price),
        "timestamp": iso(trade.ts_ns),
        "order_id": trade.order_id,
        "fee": num(trade.fee),
        "fee_coin": trade.fee_asset.lower(),
    }
