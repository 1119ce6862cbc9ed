"""A `SimExchange` served over HTTP in the Binance spot v3 REST dialect.

Wire-exact, so an unmodified client (`ccxt.binance`, Binance's own
`binance-connector`) talks to it as to the real venue: the same paths, the
same HMAC-SHA256 request signing (`X-MBX-APIKEY` header, hex signature of the
query string concatenated with the form body, without the trailing
`&signature=`), the same `timestamp`/`recvWindow` rule, the same JSON shapes
with decimal strings, and the same `{"code": ..., "msg": ...}` errors with
the HTTP status Binance uses. Reference:
https://developers.binance.com/docs/binance-spot-api-docs/rest-api

This module holds the request plumbing (weights, faults, JSON for unknown paths)
and the general, market and account endpoints; request signing and recvWindow are
in `binance_auth.py`, the error table in `binance_errors.py`, the wallet endpoints in
`binance_wallet.py`, the order endpoints in `binance_orders.py`, tickers, candles and
trades in `binance_market_data.py`, pre-trade checks in `binance_filters.py`,
rate limits (REQUEST_WEIGHT per IP, ORDERS per account, 429/418) in
`binance_limits.py`, shared wire formats in `binance_wire.py`.
A `FaultModel` adds seeded latency, timeouts, 5xx, 429 bursts, rejects, partial
fills, stale books and outages (`engine/sim/faults.py`); a `TransferDesk`
serves the wallet endpoints (`/sapi/v1/capital/...`).

This module is the I/O edge: it reads the wall clock (`clock_ns`) and passes
it into the pure exchange as `ts_ns`. Neither API keys nor secrets are ever
logged or echoed back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from engine.sim.binance_auth import authenticate, split_signature
from engine.sim.binance_errors import binance_error
from engine.sim.binance_filters import read_only, symbol_filters
from engine.sim.binance_limits import (
    DEFAULT_WEIGHT_LIMIT_1M,
    BinanceRateLimits,
    IpBanned,
    TooMuchWeight,
)
from engine.sim.binance_market_data import BinanceMarketData
from engine.sim.binance_orders import (
    BinanceOrders,
    CancelReplaceFailed,
)
from engine.sim.binance_streams_depth import STREAM_DEPTH
from engine.sim.binance_wallet import BinanceWallet
from engine.sim.binance_wire import (
    BinanceRequest,
    Handler,
    TooManyOrders,
    UnknownEndpoint,
    WeightRule,
    fixed,
    int_param,
    is_integer,
    market_id,
    ms,
    symbol_weight,
    wire_decimal,
)
from engine.sim.exchange import (
    MalformedParameter,
    MissingParameter,
    OrderRefused,
    OrderState,
    OrderType,
    SimError,
    SimExchange,
    UnknownSymbol,
)
from engine.sim.faults import NO_FAULT, Failure, FaultDecision, FaultModel, RequestClass
from engine.sim.transfers import TransferDesk
from engine.types import split_symbol

__all__ = [
    "DEFAULT_WEIGHT_LIMIT_1M",
    "BinanceSpotApi",
    "binance_error",
    "market_id",
    "wire_decimal",
]

log = logging.getLogger(__name__)

# Binance: "repeatedly violating rate limits and/or failing to back off after receiving
# 429s will result in an automated IP ban (HTTP status 418)"; bans last 2 minutes to 3 days.
DEFAULT_BAN_AFTER_429S = 5
DEFAULT_BAN_S = 120
_DEPTH_CACHE = 64  # encoded depth answers kept (symbol, book version, limit)


# Answers of the fault kinds that replace the venue's own: a gateway's HTML page for
# 500/502/503 (what Binance's edge sends when the engine behind it is down), and for 504
# Binance's documented -1007 "execution status unknown".
_GATEWAY_PAGES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
}
_TIMEOUT_BODY = {
    "code": -1007,
    "msg": "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown.",
}
# Paths that place an order: counted against the account's ORDERS limits.
_ORDER_PATHS = frozenset({("POST", "/api/v3/order"), ("POST", "/api/v3/order/cancelReplace")})


class _Encoded(bytes):
    """A handler's answer already encoded as JSON (the depth cache)."""


class StreamsEdge(Protocol):
    """What the REST edge asks of the venue's websocket streams (binance_ws.BinanceStreams)."""

    def depth_snapshot(
        self, symbol: str, ts_ns: int, limit: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]], int]: ...

    def on_order(self, account: str, order: OrderState, ts_ns: int, *, created: bool) -> None: ...


class BinanceSpotApi:
    """The Binance spot v3 REST endpoints of one simulated venue."""

    def __init__(
        self,
        exchange: SimExchange,
        *,
        credentials: Mapping[str, str],
        clock_ns: Callable[[], int] = time.time_ns,
        weight_limit_1m: int = DEFAULT_WEIGHT_LIMIT_1M,
        faults: FaultModel | None = None,
        ban_after_429s: int = DEFAULT_BAN_AFTER_429S,
        ban_s: int = DEFAULT_BAN_S,
        transfers: TransferDesk | None = None,
        streams: StreamsEdge | None = None,
    ) -> None:
        """`faults` injects seeded faults; `transfers` (a `TransferDesk`) serves the wallet;
        `streams` (`engine.sim.binance_ws.BinanceStreams`) gives the depth snapshot its
        update id and hears of every order, so REST and the streams tell one story."""
        self._exchange = exchange
        self._streams = streams
        self._faults = faults
        self._limits = BinanceRateLimits(
            weight_limit_1m, ban_after_429s=ban_after_429s, ban_s=ban_s
        )
        self._transfers = transfers
        self._secrets = dict(credentials)  # api key -> secret
        self._clock_ns = clock_ns
        self._symbols = {market_id(s): s for s in exchange.symbols}
        self._market_data = BinanceMarketData(exchange, self._symbol)
        self._orders = BinanceOrders(
            exchange,
            self._symbol,
            self._market_data.avg_price,
            self._limits,
            binance_error,
            on_order=streams.on_order if streams is not None else None,
        )
        self._depth_cache: dict[tuple[str, int, int], _Encoded] = {}

    def __repr__(self) -> str:  # never show the key table
        return f"BinanceSpotApi(venue={self._exchange.venue_id!r})"

    def app(self) -> web.Application:
        app = web.Application()
        routes: list[tuple[str, str, Handler, WeightRule, bool]] = [
            ("GET", "/api/v3/ping", self._ping, fixed(1), False),
            ("GET", "/api/v3/time", self._time, fixed(1), False),
            ("GET", "/api/v3/exchangeInfo", self._exchange_info, fixed(20), False),
            ("GET", "/api/v3/depth", self._depth, _depth_weight, False),
            ("GET", "/api/v3/ticker/bookTicker", self._book_ticker, symbol_weight(2, 4), False),
            ("GET", "/api/v3/account", self._account, fixed(20), True),
            *self._market_data.routes(),
            *self._orders.routes(),
            # ccxt's load_markets asks for margin pairs when it holds a key: none here
            ("GET", "/sapi/v1/margin/allPairs", self._no_margin, fixed(1), True),
            ("GET", "/sapi/v1/margin/isolated/allPairs", self._no_margin, fixed(10), True),
        ]
        if self._transfers is not None:  # the wallet: transfers between simulated venues
            routes += BinanceWallet(self._exchange.venue_id, self._transfers).routes()
        for method, path, handler, weight, signed in routes:
            request_class = _request_class(method, path)
            app.router.add_route(
                method, path, self._endpoint(handler, weight, signed, request_class, method, path)
            )
        # any other path or method: Binance's JSON error, never aiohttp's text/plain page
        app.router.add_route(
            "*",
            "/{tail:.*}",
            self._endpoint(self._unknown, fixed(0), False, RequestClass.OTHER, "", ""),
        )
        return app

    async def _unknown(self, req: BinanceRequest) -> Any:
        raise UnknownEndpoint()

    # --- request plumbing -------------------------------------------------------------------

    def _endpoint(
        self,
        handler: Handler,
        weight: WeightRule,
        signed: bool,
        request_class: RequestClass,
        method: str,
        path: str,
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        counts_orders = (method, path) in _ORDER_PATHS

        async def serve(request: web.Request) -> web.Response:
            now_ns = self._clock_ns()
            raw_query = request.rel_url.raw_query_string
            raw_body = (await request.text()) if request.can_read_body else ""
            headers: dict[str, str] = {}
            api_key = request.headers.get("X-MBX-APIKEY", "")
            ip = request.remote or ""  # REQUEST_WEIGHT is counted per IP
            try:
                if self._transfers is not None:
                    self._transfers.settle(now_ns)
                self._limits.check_ban(ip, now_ns)
                query, query_sig = split_signature(raw_query)
                body, body_sig = split_signature(raw_body)
                params = dict(parse_qsl(query, keep_blank_values=True))
                params.update(parse_qsl(body, keep_blank_values=True))
                self._limits.charge(ip, weight(params), now_ns, headers)
                fault = self._faults.decide(request_class, now_ns) if self._faults else NO_FAULT
                if fault.latency_s > 0:
                    await asyncio.sleep(fault.latency_s)
                failed = await self._fail_before(fault, headers, now_ns)
                if failed is not None:
                    return failed
                account = ""
                if signed:
                    signature = query_sig if query_sig is not None else body_sig
                    account = authenticate(
                        self._secrets, api_key, query + body, signature, params, now_ns
                    )
                if counts_orders:  # ORDERS are counted per account
                    self._limits.count_order(account, now_ns, headers)
                read_only(method, path, params)
                payload = await handler(BinanceRequest(params, account, now_ns, fault))
                if fault.failure is Failure.TIMEOUT_AFTER:  # executed; the answer never comes
                    await asyncio.sleep(fault.hang_s)
                    return _fault_response(504, headers)
                if isinstance(payload, _Encoded):
                    return web.Response(
                        body=payload, content_type="application/json", headers=headers
                    )
                return web.json_response(payload, headers=headers)
            except SimError as exc:
                code, status = binance_error(exc)
                if isinstance(exc, TooMuchWeight | IpBanned | TooManyOrders):
                    headers["Retry-After"] = str(exc.retry_after_s)
                if isinstance(exc, TooMuchWeight) and not exc.injected:
                    self._limits.count_429(ip, now_ns)
                answer: dict[str, Any] = {"code": code, "msg": str(exc)}
                if isinstance(exc, CancelReplaceFailed):
                    answer["data"] = exc.data
                return web.json_response(answer, status=status, headers=headers)
            except Exception:
                log.exception("%s %s failed", request.method, request.path)
                return web.json_response(
                    {
                        "code": -1000,
                        "msg": "An unknown error occurred while processing the request.",
                    },
                    status=500,
                    headers=headers,
                )

        return serve

    async def _fail_before(
        self, fault: FaultDecision, headers: dict[str, str], now_ns: int
    ) -> web.Response | None:
        """The answer of a fault that stops the request before it executes, if any."""
        if fault.failure in (Failure.OUTAGE, Failure.ERROR_5XX):
            return _fault_response(fault.http_status, headers)
        if fault.failure is Failure.RATE_LIMITED:
            raise self._limits.injected_429(now_ns)
        if fault.failure is Failure.TIMEOUT_BEFORE:
            await asyncio.sleep(fault.hang_s)
            return _fault_response(504, headers)
        if fault.failure is Failure.REJECT:
            raise OrderRefused()
        return None

    def _symbol(self, params: dict[str, str], *, required: bool = True) -> str | None:
        raw = params.get("symbol")
        if not raw:
            if required:
                raise MissingParameter("symbol")
            return None
        symbol = self._symbols.get(raw)
        if symbol is None:
            raise UnknownSymbol(raw)
        return symbol

    # --- public endpoints -------------------------------------------------------------------

    async def _ping(self, req: BinanceRequest) -> dict[str, Any]:
        return {}

    async def _time(self, req: BinanceRequest) -> dict[str, Any]:
        return {"serverTime": ms(req.ts_ns)}

    async def _exchange_info(self, req: BinanceRequest) -> dict[str, Any]:
        symbols = list(self._symbols.values())
        if "symbol" in req.params:
            symbols = [self._symbol(req.params) or ""]
        return {
            "timezone": "UTC",
            "serverTime": ms(req.ts_ns),
            "rateLimits": self._limits.exchange_info(),
            "exchangeFilters": [],
            "symbols": [self._symbol_info(s) for s in symbols],
        }

    def _symbol_info(self, symbol: str) -> dict[str, Any]:
        base, quote = split_symbol(symbol)
        return {
            "symbol": market_id(symbol),
            "status": "TRADING",
            "baseAsset": base,
            "baseAssetPrecision": 8,
            "quoteAsset": quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [t.value for t in OrderType],
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": symbol_filters(self._exchange.rules(symbol)),
            "permissions": ["SPOT"],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }

    async def _depth(self, req: BinanceRequest) -> _Encoded:
        """Up to `limit` levels a side ("If limit > 5000, the response will truncate to
        5000"); the encoded answer is kept per book version, as the book only changes
        with a refresh or a fill."""
        symbol = self._symbol(req.params)
        assert symbol is not None
        limit = int_param(req.params, "limit", 100)
        if limit <= 0:
            raise MalformedParameter("limit", "legal range is '1' to '5000'.")
        limit = min(limit, 5_000)
        if self._streams is not None and not req.fault.book_age_ms:  # one id sequence
            return self._streamed_depth(symbol, req.ts_ns, limit)
        book_ns = req.ts_ns - req.fault.book_age_ms * 1_000_000
        bids, asks, update_id = self._exchange.depth(symbol, book_ns, limit)
        key = (symbol, update_id, limit)
        cached = self._depth_cache.get(key)
        if cached is not None:
            return cached
        encoded = _Encoded(
            json.dumps(
                {
                    "lastUpdateId": update_id,
                    "bids": [[wire_decimal(lv.price), wire_decimal(lv.amount)] for lv in bids],
                    "asks": [[wire_decimal(lv.price), wire_decimal(lv.amount)] for lv in asks],
                },
                separators=(",", ":"),
            ).encode()
        )
        if len(self._depth_cache) >= _DEPTH_CACHE:
            del self._depth_cache[next(iter(self._depth_cache))]
        self._depth_cache[key] = encoded
        return encoded

    def _streamed_depth(self, symbol: str, ts_ns: int, limit: int) -> _Encoded:
        """A snapshot on the diff stream's id sequence: the levels the stream keeps come
        from it; a deeper request gets the book's further levels beside them (the same
        book at `ts_ns`), which no diff event will update."""
        assert self._streams is not None
        bids, asks, last_id = self._streams.depth_snapshot(symbol, ts_ns, limit)
        if limit > STREAM_DEPTH:
            deep_bids, deep_asks, _ = self._exchange.depth(symbol, ts_ns, limit)
            bids = [(lv.price, lv.amount) for lv in deep_bids]
            asks = [(lv.price, lv.amount) for lv in deep_asks]
        return _Encoded(
            json.dumps(
                {
                    "lastUpdateId": last_id,
                    "bids": [[wire_decimal(p), wire_decimal(a)] for p, a in bids],
                    "asks": [[wire_decimal(p), wire_decimal(a)] for p, a in asks],
                },
                separators=(",", ":"),
            ).encode()
        )

    async def _book_ticker(self, req: BinanceRequest) -> Any:
        symbols, single = self._market_data.requested_symbols(req)
        tickers = []
        for s in symbols:
            bids, asks, _ = self._exchange.depth(
                s, req.ts_ns - req.fault.book_age_ms * 1_000_000, 1
            )
            tickers.append(
                {
                    "symbol": market_id(s),
                    "bidPrice": wire_decimal(bids[0].price if bids else Decimal(0)),
                    "bidQty": wire_decimal(bids[0].amount if bids else Decimal(0)),
                    "askPrice": wire_decimal(asks[0].price if asks else Decimal(0)),
                    "askQty": wire_decimal(asks[0].amount if asks else Decimal(0)),
                }
            )
        return tickers[0] if single else tickers

    # --- signed endpoints -------------------------------------------------------------------

    async def _account(self, req: BinanceRequest) -> dict[str, Any]:
        balances = self._exchange.balances(req.account, req.ts_ns)
        omit_zero = req.params.get("omitZeroBalances", "false").lower() == "true"
        taker, maker = self._exchange.taker_fee, self._exchange.maker_fee
        return {
            "makerCommission": int(maker * 10_000),
            "takerCommission": int(taker * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": wire_decimal(maker),
                "taker": wire_decimal(taker),
                "buyer": wire_decimal(Decimal(0)),
                "seller": wire_decimal(Decimal(0)),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": ms(req.ts_ns),
            "accountType": "SPOT",
            "balances": [
                {"asset": asset, "free": wire_decimal(free), "locked": wire_decimal(locked)}
                for asset, (free, locked) in balances.items()
                if not (omit_zero and free == 0 and locked == 0)
            ],
            "permissions": ["SPOT"],
            "uid": 0,
        }

    async def _no_margin(self, req: BinanceRequest) -> list[Any]:
        return []


# --- helpers of this dialect ------------------------------------------------------------------


def _request_class(method: str, path: str) -> RequestClass:
    if path in ("/api/v3/depth", "/api/v3/ticker/bookTicker"):
        return RequestClass.BOOK
    if method == "POST" and path == "/api/v3/order":
        return RequestClass.ORDER
    return RequestClass.OTHER


def _fault_response(status: int, headers: dict[str, str]) -> web.Response:
    if status == 504:
        return web.json_response(_TIMEOUT_BODY, status=status, headers=headers)
    title = _GATEWAY_PAGES.get(status, _GATEWAY_PAGES[500])
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return web.Response(text=page, status=status, content_type="text/html", headers=headers)


def _depth_weight(params: dict[str, str]) -> int:
    raw = params.get("limit", "100")
    limit = int(raw) if is_integer(raw) else 100
    for bound, weight in ((100, 5), (500, 25), (1_000, 50)):
        if limit <= bound:
            return weight
    return 250
