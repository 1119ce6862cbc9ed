"""A `SimExchange` served over HTTP in the Binance spot v3 REST dialect.

Only what marketmesh's hedging path uses, but wire-exact, so the unmodified
`ccxt.binance` client talks to it as to the real venue: the same paths, the
same HMAC-SHA256 request signing (`X-MBX-APIKEY` header, hex signature of the
query string concatenated with the form body, without the trailing
`&signature=`), the same `timestamp`/`recvWindow` rule, the same JSON shapes
with decimal strings, and the same `{"code": ..., "msg": ...}` errors with
the HTTP status Binance uses. Reference:
https://developers.binance.com/docs/binance-spot-api-docs/rest-api

Rate limits as Binance enforces them: a per-minute REQUEST_WEIGHT budget per
caller (`X-MBX-USED-WEIGHT-1M` on every answer), -1003 with HTTP 429 and
`Retry-After` beyond it, and an HTTP 418 ban after repeated 429s in a minute.
A `FaultModel` adds seeded latency, timeouts, 5xx, 429 bursts, rejects, partial
fills, stale books and outages (`engine/sim/faults.py`); a `TransferDesk`
serves the wallet endpoints (`/sapi/v1/capital/...`).

This module is the I/O edge: it reads the wall clock (`clock_ns`) and passes
it into the pure exchange as `ts_ns`. Neither API keys nor secrets are ever
logged or echoed back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from engine.sim.exchange import (
    CancelRejected,
    DuplicateOrder,
    FilterFailure,
    InsufficientBalance,
    InvalidRequest,
    MalformedParameter,
    MissingParameter,
    OrderNotFound,
    OrderRefused,
    OrderRejected,
    OrderRequest,
    OrderState,
    OrderType,
    SimError,
    SimExchange,
    SimTrade,
    TimeInForce,
    UnexpectedParameter,
    UnknownSymbol,
)
from engine.sim.faults import NO_FAULT, Failure, FaultDecision, FaultModel, RequestClass
from engine.sim.transfers import Transfer, TransferDesk
from engine.types import Side, split_symbol

log = logging.getLogger(__name__)

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
DEFAULT_WEIGHT_LIMIT_1M = 6_000
# Binance: "repeatedly violating rate limits and/or failing to back off after receiving
# 429s will result in an automated IP ban (HTTP status 418)"; bans last 2 minutes to 3 days.
DEFAULT_BAN_AFTER_429S = 5
DEFAULT_BAN_S = 120
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
_DECIMAL = re.compile(r"^\d{1,20}(\.\d{1,20})?$")
_CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_INTEGER = re.compile(r"^-?\d{1,19}$")


# --- errors only the HTTP edge raises --------------------------------------------------------


class RequestRejected(SimError):
    """Refused at the HTTP edge before the exchange saw the request."""


class MissingApiKey(RequestRejected):
    def __init__(self) -> None:
        super().__init__("API-key format invalid.")


class InvalidApiKey(RequestRejected):
    def __init__(self) -> None:
        super().__init__("Invalid API-key, IP, or permissions for action.")


class InvalidSignature(RequestRejected):
    def __init__(self) -> None:
        super().__init__("Signature for this request is not valid.")


class TimestampOutsideRecvWindow(RequestRejected):
    pass


class TooMuchWeight(RequestRejected):
    def __init__(self, limit: int, retry_after_s: int, *, injected: bool = False) -> None:
        """`injected`: a fault-model 429, which does not count towards a 418 ban."""
        self.retry_after_s = retry_after_s
        self.injected = injected
        super().__init__(
            f"Too much request weight used; current limit is {limit} request weight per "
            "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
        )


class IpBanned(RequestRejected):
    def __init__(self, until_ms: int, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"Way too much request weight used; IP banned until {until_ms}. "
            "Please use WebSocket Streams for live updates to avoid bans."
        )


class InvalidSide(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("Invalid side.")


class InvalidOrderType(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("Invalid orderType.")


class InvalidTimeInForce(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("Invalid timeInForce.")


# THE table from our error types to Binance's (code, HTTP status); first match wins, so
# subclasses come before their parents. ccxt's binance `exceptions` map turns these into:
# -1003 (429) DDoSProtection, -2014/-2015/-1022 AuthenticationError, -1021 InvalidNonce,
# -2010 "Account has insufficient balance..." InsufficientFunds, other -2010 InvalidOrder,
# -1013 LOT_SIZE/PRICE_FILTER InvalidOrder (NOTIONAL: BadRequest), -1121 BadSymbol,
# -2011/-2013 OrderNotFound, -11xx BadRequest.
BINANCE_ERRORS: tuple[tuple[type[SimError], int, int], ...] = (
    (TooMuchWeight, -1003, 429),
    (IpBanned, -1003, 418),
    (MissingApiKey, -2014, 401),
    (InvalidApiKey, -2015, 401),
    (InvalidSignature, -1022, 400),
    (TimestampOutsideRecvWindow, -1021, 400),
    (InsufficientBalance, -2010, 400),
    (OrderRefused, -2010, 400),
    (DuplicateOrder, -2010, 400),
    (FilterFailure, -1013, 400),
    (OrderRejected, -2010, 400),
    (UnknownSymbol, -1121, 400),
    (OrderNotFound, -2013, 400),
    (CancelRejected, -2011, 400),
    (MalformedParameter, -1100, 400),
    (MissingParameter, -1102, 400),
    (UnexpectedParameter, -1106, 400),
    (InvalidTimeInForce, -1115, 400),
    (InvalidOrderType, -1116, 400),
    (InvalidSide, -1117, 400),
    (InvalidRequest, -1130, 400),
    (SimError, -1000, 400),
)


def binance_error(exc: SimError) -> tuple[int, int]:
    """(Binance error code, HTTP status) of one of our errors."""
    for error_type, code, status in BINANCE_ERRORS:
        if isinstance(exc, error_type):
            return code, status
    return -1000, 500


# --- wire formats -----------------------------------------------------------------------------


def wire_decimal(value: Decimal) -> str:
    """Binance's decimal strings: 8 decimals, or more when that is what it takes to be exact."""
    if value == 0:
        value = Decimal(0)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        return format(value, "f")
    return f"{value:.8f}"


def market_id(symbol: str) -> str:
    """`BTC/USDT` -> `BTCUSDT`, the Binance symbol."""
    base, quote = split_symbol(symbol)
    return base + quote


def _ms(ts_ns: int) -> int:
    return ts_ns // 1_000_000


@dataclass(frozen=True, slots=True)
class _Request:
    params: dict[str, str]
    account: str  # the API key for signed requests, "" otherwise
    ts_ns: int
    fault: FaultDecision = NO_FAULT


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


class StreamsEdge(Protocol):
    """What the REST edge asks of the venue's websocket streams (binance_ws.BinanceStreams)."""

    def depth_snapshot(
        self, symbol: str, ts_ns: int, limit: int
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]], int]: ...

    def on_order(self, account: str, order: OrderState, ts_ns: int, *, created: bool) -> None: ...


Handler = Callable[[_Request], Awaitable[Any]]
WeightRule = Callable[[dict[str, str]], int]
_Enum = TypeVar("_Enum")


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
        self._ban_after_429s = ban_after_429s
        self._ban_ns = ban_s * 1_000_000_000
        self._rejections: dict[str, int] = {}  # caller -> 429s answered this minute
        self._banned_until_ns: dict[str, int] = {}
        self._transfers = transfers
        self._secrets = dict(credentials)  # api key -> secret
        self._clock_ns = clock_ns
        self._weight_limit = weight_limit_1m
        self._weight_window = -1
        self._weight_used: dict[str, int] = {}
        self._symbols = {market_id(s): s for s in exchange.symbols}

    def __repr__(self) -> str:  # never show the key table
        return f"BinanceSpotApi(venue={self._exchange.venue_id!r})"

    def app(self) -> web.Application:
        app = web.Application()
        routes: list[tuple[str, str, Handler, WeightRule, bool]] = [
            ("GET", "/api/v3/ping", self._ping, _fixed(1), False),
            ("GET", "/api/v3/time", self._time, _fixed(1), False),
            ("GET", "/api/v3/exchangeInfo", self._exchange_info, _fixed(20), False),
            ("GET", "/api/v3/depth", self._depth, _depth_weight, False),
            ("GET", "/api/v3/ticker/bookTicker", self._book_ticker, _symbol_weight(2, 4), False),
            ("GET", "/api/v3/account", self._account, _fixed(20), True),
            ("POST", "/api/v3/order", self._new_order, _fixed(1), True),
            ("GET", "/api/v3/order", self._query_order, _fixed(4), True),
            ("DELETE", "/api/v3/order", self._cancel_order, _fixed(1), True),
            ("GET", "/api/v3/openOrders", self._open_orders, _symbol_weight(6, 80), True),
            ("GET", "/api/v3/myTrades", self._my_trades, _fixed(20), True),
            # ccxt's load_markets asks for margin pairs when it holds a key: none here
            ("GET", "/sapi/v1/margin/allPairs", self._no_margin, _fixed(1), True),
            ("GET", "/sapi/v1/margin/isolated/allPairs", self._no_margin, _fixed(10), True),
        ]
        if self._transfers is not None:  # the wallet: transfers between simulated venues
            routes += [
                (
                    "GET",
                    "/sapi/v1/capital/deposit/address",
                    self._deposit_address,
                    _fixed(10),
                    True,
                ),
                ("POST", "/sapi/v1/capital/withdraw/apply", self._withdraw, _fixed(10), True),
                ("GET", "/sapi/v1/capital/withdraw/history", self._withdrawals, _fixed(10), True),
                ("GET", "/sapi/v1/capital/deposit/hisrec", self._deposits, _fixed(10), True),
            ]
        for method, path, handler, weight, signed in routes:
            request_class = _request_class(method, path)
            app.router.add_route(
                method, path, self._endpoint(handler, weight, signed, request_class)
            )
        return app

    # --- request plumbing -------------------------------------------------------------------

    def _endpoint(
        self, handler: Handler, weight: WeightRule, signed: bool, request_class: RequestClass
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            now_ns = self._clock_ns()
            raw_query = request.rel_url.raw_query_string
            raw_body = (await request.text()) if request.can_read_body else ""
            headers: dict[str, str] = {}
            api_key = request.headers.get("X-MBX-APIKEY", "")
            who = api_key or (request.remote or "")
            try:
                if self._transfers is not None:
                    self._transfers.settle(now_ns)
                self._check_ban(who, now_ns)
                query, query_sig = _split_signature(raw_query)
                body, body_sig = _split_signature(raw_body)
                params = dict(parse_qsl(query, keep_blank_values=True))
                params.update(parse_qsl(body, keep_blank_values=True))
                used = self._charge(who, weight(params), now_ns)
                headers[WEIGHT_HEADER] = str(used)
                fault = self._faults.decide(request_class, now_ns) if self._faults else NO_FAULT
                if fault.latency_s > 0:
                    await asyncio.sleep(fault.latency_s)
                failed = await self._fail_before(fault, headers, now_ns)
                if failed is not None:
                    return failed
                account = ""
                if signed:
                    signature = query_sig if query_sig is not None else body_sig
                    account = self._authenticate(api_key, query + body, signature, params, now_ns)
                payload = await handler(_Request(params, account, now_ns, fault))
                if fault.failure is Failure.TIMEOUT_AFTER:  # executed; the answer never comes
                    await asyncio.sleep(fault.hang_s)
                    return _fault_response(504, headers)
                return web.json_response(payload, headers=headers)
            except SimError as exc:
                code, status = binance_error(exc)
                if isinstance(exc, TooMuchWeight | IpBanned):
                    headers["Retry-After"] = str(exc.retry_after_s)
                if isinstance(exc, TooMuchWeight) and not exc.injected:
                    self._count_429(who, now_ns)
                return web.json_response(
                    {"code": code, "msg": str(exc)}, status=status, headers=headers
                )
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
            retry_after_s = max(1, -(-(60_000_000_000 - now_ns % 60_000_000_000) // 10**9))
            raise TooMuchWeight(self._weight_limit, min(retry_after_s, 5), injected=True)
        if fault.failure is Failure.TIMEOUT_BEFORE:
            await asyncio.sleep(fault.hang_s)
            return _fault_response(504, headers)
        if fault.failure is Failure.REJECT:
            raise OrderRefused()
        return None

    def _check_ban(self, who: str, now_ns: int) -> None:
        until_ns = self._banned_until_ns.get(who)
        if until_ns is None:
            return
        if now_ns >= until_ns:
            del self._banned_until_ns[who]
            return
        raise IpBanned(_ms(until_ns), max(1, -(-(until_ns - now_ns) // 1_000_000_000)))

    def _count_429(self, who: str, now_ns: int) -> None:
        """One more 429 for `who` this minute; past the allowance, ban it (HTTP 418)."""
        count = self._rejections.get(who, 0) + 1
        self._rejections[who] = count
        if count >= self._ban_after_429s:
            self._banned_until_ns[who] = now_ns + self._ban_ns
            self._rejections[who] = 0

    def _charge(self, who: str, weight: int, now_ns: int) -> int:
        """Add `weight` to the caller's use in this minute; 429 once over the limit."""
        window = now_ns // 60_000_000_000
        if window != self._weight_window:
            self._weight_window = window
            self._weight_used.clear()
            self._rejections.clear()
        used = self._weight_used.get(who, 0) + weight
        self._weight_used[who] = used
        if used > self._weight_limit:
            retry_after_s = -(-((window + 1) * 60_000_000_000 - now_ns) // 1_000_000_000)
            raise TooMuchWeight(self._weight_limit, max(1, retry_after_s))
        return used

    def _authenticate(
        self,
        api_key: str,
        payload: str,
        signature: str | None,
        params: dict[str, str],
        now_ns: int,
    ) -> str:
        """Check key, signature and timestamp of a signed request; return the account."""
        if not api_key:
            raise MissingApiKey()
        secret = self._secrets.get(api_key)
        if secret is None:
            raise InvalidApiKey()
        if "timestamp" not in params:
            raise MissingParameter("timestamp")
        if not signature:
            raise MissingParameter("signature")
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise InvalidSignature()
        timestamp_ms = _int_param(params, "timestamp")
        recv_window_ms = _int_param(params, "recvWindow", DEFAULT_RECV_WINDOW_MS)
        if recv_window_ms > MAX_RECV_WINDOW_MS or recv_window_ms <= 0:
            raise InvalidRequest(f"recvWindow must be less than {MAX_RECV_WINDOW_MS}")
        server_ms = _ms(now_ns)
        if timestamp_ms >= server_ms + 1_000:
            raise TimestampOutsideRecvWindow(
                "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if server_ms - timestamp_ms > recv_window_ms:
            raise TimestampOutsideRecvWindow(
                "Timestamp for this request is outside of the recvWindow."
            )
        return api_key

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

    async def _ping(self, req: _Request) -> dict[str, Any]:
        return {}

    async def _time(self, req: _Request) -> dict[str, Any]:
        return {"serverTime": _ms(req.ts_ns)}

    async def _exchange_info(self, req: _Request) -> dict[str, Any]:
        symbols = list(self._symbols.values())
        if "symbol" in req.params:
            symbols = [self._symbol(req.params) or ""]
        return {
            "timezone": "UTC",
            "serverTime": _ms(req.ts_ns),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self._weight_limit,
                }
            ],
            "exchangeFilters": [],
            "symbols": [self._symbol_info(s) for s in symbols],
        }

    def _symbol_info(self, symbol: str) -> dict[str, Any]:
        base, quote = split_symbol(symbol)
        rules = self._exchange.rules(symbol)
        tick, lot = rules.tick_size, rules.lot_size
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
            "cancelReplaceAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": wire_decimal(tick),
                    "maxPrice": wire_decimal(Decimal(1_000_000_000)),
                    "tickSize": wire_decimal(tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": wire_decimal(lot),
                    "maxQty": wire_decimal(Decimal(9_000_000_000)),
                    "stepSize": wire_decimal(lot),
                },
                {
                    "filterType": "MIN_NOTIONAL",
                    "minNotional": wire_decimal(rules.min_notional),
                    "applyToMarket": True,
                    "avgPriceMins": 5,
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": wire_decimal(rules.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": wire_decimal(Decimal(9_000_000_000)),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ],
            "permissions": ["SPOT"],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }

    async def _depth(self, req: _Request) -> dict[str, Any]:
        symbol = self._symbol(req.params)
        assert symbol is not None
        limit = _int_param(req.params, "limit", 100)
        if limit <= 0:
            raise MalformedParameter("limit", "legal range is '1' to '5000'.")
        if self._streams is not None and not req.fault.book_age_ms:  # one id sequence
            levels = self._streams.depth_snapshot(symbol, req.ts_ns, min(limit, 5_000))
            return {
                "lastUpdateId": levels[2],
                "bids": [[wire_decimal(p), wire_decimal(a)] for p, a in levels[0]],
                "asks": [[wire_decimal(p), wire_decimal(a)] for p, a in levels[1]],
            }
        book_ns = req.ts_ns - req.fault.book_age_ms * 1_000_000
        bids, asks, update_id = self._exchange.depth(symbol, book_ns, min(limit, 5_000))
        return {
            "lastUpdateId": update_id,
            "bids": [[wire_decimal(lv.price), wire_decimal(lv.amount)] for lv in bids],
            "asks": [[wire_decimal(lv.price), wire_decimal(lv.amount)] for lv in asks],
        }

    async def _book_ticker(self, req: _Request) -> Any:
        symbol = self._symbol(req.params, required=False)
        tickers = []
        for s in [symbol] if symbol else list(self._symbols.values()):
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
        return tickers[0] if symbol else tickers

    # --- signed endpoints -------------------------------------------------------------------

    async def _account(self, req: _Request) -> dict[str, Any]:
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
            "updateTime": _ms(req.ts_ns),
            "accountType": "SPOT",
            "balances": [
                {"asset": asset, "free": wire_decimal(free), "locked": wire_decimal(locked)}
                for asset, (free, locked) in balances.items()
                if not (omit_zero and free == 0 and locked == 0)
            ],
            "permissions": ["SPOT"],
            "uid": 0,
        }

    async def _new_order(self, req: _Request) -> dict[str, Any]:
        p = req.params
        symbol = self._symbol(p)
        assert symbol is not None
        side = _enum_param(p, "side", {"BUY": Side.BUY, "SELL": Side.SELL}, InvalidSide)
        order_type = _enum_param(p, "type", {t.value: t for t in OrderType}, InvalidOrderType)
        tif = None
        if p.get("timeInForce"):
            tif = _enum_param(
                p, "timeInForce", {t.value: t for t in TimeInForce}, InvalidTimeInForce
            )
        client_id = p.get("newClientOrderId")
        if client_id is not None and not _CLIENT_ORDER_ID.match(client_id):
            raise MalformedParameter(
                "newClientOrderId", "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."
            )
        resp_type = p.get("newOrderRespType", "FULL").upper()
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise InvalidRequest("Invalid newOrderRespType.")
        order = self._exchange.place_order(
            req.account,
            OrderRequest(
                symbol=symbol,
                side=side,
                order_type=order_type,
                quantity=_decimal_param(p, "quantity"),
                quote_order_qty=_decimal_param(p, "quoteOrderQty"),
                price=_decimal_param(p, "price"),
                time_in_force=tif,
                client_order_id=client_id,
            ),
            req.ts_ns,
            fill_share=req.fault.fill_share,
        )
        if self._streams is not None:
            self._streams.on_order(req.account, order, req.ts_ns, created=True)
        ack = {
            "symbol": market_id(order.symbol),
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": _ms(req.ts_ns),
        }
        if resp_type == "ACK":
            return ack
        result = {
            **ack,
            **_order_fields(order),
            "workingTime": _ms(order.created_ns),
            "selfTradePreventionMode": "NONE",
        }
        if resp_type == "FULL":
            result["fills"] = [
                {
                    "price": wire_decimal(t.price),
                    "qty": wire_decimal(t.qty),
                    "commission": wire_decimal(t.fee),
                    "commissionAsset": t.fee_asset,
                    "tradeId": t.trade_id,
                }
                for t in order.fills
            ]
        return result

    def _order_ref(self, p: dict[str, str], name: str) -> tuple[int | None, str | None]:
        order_id = _int_param(p, "orderId") if p.get("orderId") else None
        client_id = p.get(name) or None
        if order_id is None and client_id is None:
            raise MissingParameter("orderId")
        return order_id, client_id

    async def _query_order(self, req: _Request) -> dict[str, Any]:
        symbol = self._symbol(req.params)
        assert symbol is not None
        order_id, client_id = self._order_ref(req.params, "origClientOrderId")
        order = self._exchange.order(
            req.account, symbol, req.ts_ns, order_id=order_id, client_order_id=client_id
        )
        return _order_json(order)

    async def _cancel_order(self, req: _Request) -> dict[str, Any]:
        symbol = self._symbol(req.params)
        assert symbol is not None
        order_id, client_id = self._order_ref(req.params, "origClientOrderId")
        order = self._exchange.cancel_order(
            req.account, symbol, req.ts_ns, order_id=order_id, client_order_id=client_id
        )
        if self._streams is not None:
            self._streams.on_order(req.account, order, req.ts_ns, created=False)
        return {
            "symbol": market_id(order.symbol),
            "origClientOrderId": order.client_order_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": req.params.get("newClientOrderId") or f"cancel-{order.order_id}",
            "transactTime": _ms(req.ts_ns),
            **_order_fields(order),
            "selfTradePreventionMode": "NONE",
        }

    async def _open_orders(self, req: _Request) -> list[dict[str, Any]]:
        symbol = self._symbol(req.params, required=False)
        orders = self._exchange.open_orders(req.account, symbol, req.ts_ns)
        return [_order_json(o) for o in orders]

    async def _my_trades(self, req: _Request) -> list[dict[str, Any]]:
        p = req.params
        symbol = self._symbol(p)
        assert symbol is not None
        trades = self._exchange.trades(req.account, symbol, req.ts_ns)
        if p.get("orderId"):
            order_id = _int_param(p, "orderId")
            trades = [t for t in trades if t.order_id == order_id]
        if p.get("startTime"):
            start_ms = _int_param(p, "startTime")
            trades = [t for t in trades if _ms(t.ts_ns) >= start_ms]
        if p.get("endTime"):
            end_ms = _int_param(p, "endTime")
            trades = [t for t in trades if _ms(t.ts_ns) <= end_ms]
        if p.get("fromId"):
            from_id = _int_param(p, "fromId")
            trades = [t for t in trades if t.trade_id >= from_id]
        limit = max(1, min(_int_param(p, "limit", 500), 1_000))
        oldest_first = bool(p.get("fromId") or p.get("startTime"))
        trades = trades[:limit] if oldest_first else trades[-limit:]
        return [_trade_json(t) for t in trades]

    async def _no_margin(self, req: _Request) -> list[Any]:
        return []

    # --- wallet (transfers between simulated venues) ----------------------------------------

    def _desk(self) -> TransferDesk:
        assert self._transfers is not None  # the routes exist only with a desk
        return self._transfers

    async def _deposit_address(self, req: _Request) -> dict[str, Any]:
        coin = req.params.get("coin") or ""
        if not coin:
            raise MissingParameter("coin")
        address = self._desk().deposit_address(self._exchange.venue_id, req.account, coin)
        return {"address": address, "coin": coin.upper(), "tag": "", "url": ""}

    async def _withdraw(self, req: _Request) -> dict[str, Any]:
        p = req.params
        for name in ("coin", "address", "amount"):
            if not p.get(name):
                raise MissingParameter(name)
        amount = _decimal_param(p, "amount")
        assert amount is not None
        transfer = self._desk().withdraw(
            self._exchange.venue_id,
            req.account,
            p["coin"],
            amount,
            p["address"],
            req.ts_ns,
            withdraw_order_id=p.get("withdrawOrderId") or None,
        )
        return {"id": transfer.transfer_id}

    async def _withdrawals(self, req: _Request) -> list[dict[str, Any]]:
        p = req.params
        transfers = _in_window(
            self._desk().withdrawals(self._exchange.venue_id, req.account), p, req.ts_ns
        )
        if p.get("withdrawOrderId"):
            transfers = [t for t in transfers if t.withdraw_order_id == p["withdrawOrderId"]]
        return [_withdrawal_json(t, req.ts_ns) for t in transfers]

    async def _deposits(self, req: _Request) -> list[dict[str, Any]]:
        transfers = _in_window(
            self._desk().deposits(self._exchange.venue_id, req.account), req.params, req.ts_ns
        )
        return [_deposit_json(t, req.ts_ns) for t in transfers]


# --- helpers of this dialect ------------------------------------------------------------------


# Binance's wallet status codes: withdrawals 4 PROCESSING / 6 COMPLETED, deposits 0 PENDING /
# 1 SUCCESS (https://developers.binance.com/docs/wallet/capital/withdraw-history).
_WITHDRAW_PROCESSING, _WITHDRAW_COMPLETED = 4, 6
_DEPOSIT_PENDING, _DEPOSIT_SUCCESS = 0, 1


def _in_window(transfers: list[Transfer], p: dict[str, str], now_ns: int) -> list[Transfer]:
    """Binance's history filters: coin, startTime/endTime (ms), status, limit."""
    if p.get("coin"):
        transfers = [t for t in transfers if t.coin == p["coin"].upper()]
    start_ms = _int_param(p, "startTime", 0)
    end_ms = _int_param(p, "endTime", _ms(now_ns))
    transfers = [t for t in transfers if start_ms <= _ms(t.created_ns) <= end_ms]
    return transfers[-max(1, min(_int_param(p, "limit", 1_000), 1_000)) :]


def _utc(ts_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts_ns // 1_000_000_000))


def _withdrawal_json(t: Transfer, now_ns: int) -> dict[str, Any]:
    done = t.completed_ns is not None and t.completed_ns <= now_ns
    out: dict[str, Any] = {
        "id": t.transfer_id,
        "amount": wire_decimal(t.amount),
        "transactionFee": wire_decimal(Decimal(0)),
        "coin": t.coin,
        "status": _WITHDRAW_COMPLETED if done else _WITHDRAW_PROCESSING,
        "address": t.address,
        "txId": t.tx_id,
        "applyTime": _utc(t.created_ns),
        "network": t.coin,
        "transferType": 0,
        "info": "",
        "confirmNo": 1 if done else 0,
        "walletType": 0,
        "txKey": "",
    }
    if t.withdraw_order_id:
        out["withdrawOrderId"] = t.withdraw_order_id
    if done and t.completed_ns is not None:
        out["completeTime"] = _utc(t.completed_ns)
    return out


def _deposit_json(t: Transfer, now_ns: int) -> dict[str, Any]:
    done = t.completed_ns is not None and t.completed_ns <= now_ns
    return {
        "id": t.transfer_id,
        "amount": wire_decimal(t.amount),
        "coin": t.coin,
        "network": t.coin,
        "status": _DEPOSIT_SUCCESS if done else _DEPOSIT_PENDING,
        "address": t.address,
        "addressTag": "",
        "txId": t.tx_id,
        "insertTime": _ms(t.created_ns),
        "completeTime": _ms(t.completed_ns) if done and t.completed_ns is not None else None,
        "transferType": 0,
        "confirmTimes": "1/1" if done else "0/1",
        "unlockConfirm": 0,
        "walletType": 0,
    }


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


def _fixed(weight: int) -> WeightRule:
    return lambda params: weight


def _symbol_weight(with_symbol: int, without_symbol: int) -> WeightRule:
    return lambda params: with_symbol if params.get("symbol") else without_symbol


def _depth_weight(params: dict[str, str]) -> int:
    raw = params.get("limit", "100")
    limit = int(raw) if _INTEGER.match(raw) else 100
    for bound, weight in ((100, 5), (500, 25), (1_000, 50)):
        if limit <= bound:
            return weight
    return 250


def _split_signature(raw: str) -> tuple[str, str | None]:
    """Split `a=1&b=2&signature=ff` into the signed part and the signature."""
    kept: list[str] = []
    signature = None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = unquote(part.removeprefix("signature="))
        else:
            kept.append(part)
    return "&".join(kept), signature


def _int_param(params: dict[str, str], name: str, default: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise MissingParameter(name)
        return default
    if not _INTEGER.match(raw):
        raise MalformedParameter(name, "legal range is '^-?[0-9]{1,19}$'.")
    return int(raw)


def _decimal_param(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not _DECIMAL.match(raw):
        raise MalformedParameter(name, "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
    return Decimal(raw)


def _enum_param(
    params: dict[str, str], name: str, values: dict[str, _Enum], error: type[InvalidRequest]
) -> _Enum:
    raw = params.get(name)
    if not raw:
        raise MissingParameter(name)
    value = values.get(raw.upper())
    if value is None:
        raise error()
    return value


def _order_fields(order: OrderState) -> dict[str, Any]:
    return {
        "price": wire_decimal(order.price),
        "origQty": wire_decimal(order.orig_qty),
        "executedQty": wire_decimal(order.executed_qty),
        "origQuoteOrderQty": wire_decimal(order.orig_quote_order_qty),
        "cummulativeQuoteQty": wire_decimal(order.cumulative_quote_qty),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.order_type.value,
        "side": order.side.value.upper(),
    }


def _order_json(order: OrderState) -> dict[str, Any]:
    return {
        "symbol": market_id(order.symbol),
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        **_order_fields(order),
        "stopPrice": wire_decimal(Decimal(0)),
        "icebergQty": wire_decimal(Decimal(0)),
        "time": _ms(order.created_ns),
        "updateTime": _ms(order.updated_ns),
        "isWorking": True,
        "workingTime": _ms(order.created_ns),
        "selfTradePreventionMode": "NONE",
    }


def _trade_json(trade: SimTrade) -> dict[str, Any]:
    return {
        "symbol": market_id(trade.symbol),
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": wire_decimal(trade.price),
        "qty": wire_decimal(trade.qty),
        "quoteQty": wire_decimal(trade.quote_qty),
        "commission": wire_decimal(trade.fee),
        "commissionAsset": trade.fee_asset,
        "time": _ms(trade.ts_ns),
        "isBuyer": trade.side is Side.BUY,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }
