"""Binance spot dialect conformance: each test states the documented behaviour it checks.

Against `BinanceSpotApi` served by aiohttp's in-process test server (no Ray, no
ccxt), signed exactly as the docs show: HMAC-SHA256 hex of the query string,
`X-MBX-APIKEY` header. Sources, cited per test:
REST = https://developers.binance.com/docs/binance-spot-api-docs/rest-api
ERRORS = https://developers.binance.com/docs/binance-spot-api-docs/errors
FILTERS = https://developers.binance.com/docs/binance-spot-api-docs/filters
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from engine.config import AssetProcessConfig, BookProfileConfig, SymbolRulesConfig, VenueConfig
from engine.sim.binance_http import BinanceSpotApi
from engine.sim.exchange import SimExchange
from engine.sim.price import ReferencePrice

T0 = 1_700_000_000 * 10**9
KEY, SECRET = "conf-key", "conf-secret"
KEY2, SECRET2 = "conf-key-2", "conf-secret-2"
ASSETS = {
    "BTC": AssetProcessConfig(initial_price=65_000, vol_annual=0.0, jumps_per_day=0),
    "ETH": AssetProcessConfig(initial_price=3_200, vol_annual=0.0, jumps_per_day=0),
}


class Clock:
    def __init__(self, ns: int = T0) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def make_api(
    clock: Clock, balances: dict[str, str] | None = None, weight_limit_1m: int = 6_000
) -> BinanceSpotApi:
    venue = VenueConfig(
        id="bin-sim",
        kind="ccxt",
        exchange="binance",
        url="sim",
        taker_fee=0.001,
        maker_fee=0.0008,
        balances={
            k: Decimal(v)
            for k, v in (balances or {"BTC": "5", "ETH": "80", "USDT": "600000"}).items()
        },
        book=BookProfileConfig(
            offset_bps=0.0,
            noise_bps=0.5,
            half_spread_bps=1.0,
            levels=30,
            level_spacing_bps=1.0,
            level_notional_quote=20_000,
            depth_growth=1.1,
        ),
        symbol_rules={
            "BTC/USDT": SymbolRulesConfig(
                tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"), min_notional=Decimal("5")
            ),
            "ETH/USDT": SymbolRulesConfig(
                tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"), min_notional=Decimal("5")
            ),
        },
    )
    reference = ReferencePrice(ASSETS, seed=3, step_ms=100, start_ns=T0 - 3_600 * 10**9)
    exchange = SimExchange(venue, reference, 3, "USDT", ["BTC/USDT", "ETH/USDT"])
    return BinanceSpotApi(
        exchange,
        credentials={KEY: SECRET, KEY2: SECRET2},
        clock_ns=clock,
        weight_limit_1m=weight_limit_1m,
    )


class Venue:
    """A signed Binance client as the docs describe it, over aiohttp's test client."""

    def __init__(self, client: TestClient, clock: Clock) -> None:
        self.http = client
        self.clock = clock

    async def public(self, path: str, **params: Any) -> tuple[int, Any, dict[str, str]]:
        async with self.http.get(path, params=params) as resp:
            return resp.status, await resp.json(), dict(resp.headers)

    async def signed(
        self, method: str, path: str, *, key: str = KEY, secret: str = SECRET, **params: Any
    ) -> tuple[int, Any, dict[str, str]]:
        params.setdefault("timestamp", self.clock.ns // 1_000_000)
        query = urlencode(params)
        signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        url = f"{path}?{query}&signature={signature}"
        async with self.http.request(method, url, headers={"X-MBX-APIKEY": key}) as resp:
            return resp.status, await resp.json(), dict(resp.headers)

    async def order(self, **params: Any) -> tuple[int, Any, dict[str, str]]:
        return await self.signed("POST", "/api/v3/order", **params)

    async def book(self, symbol: str = "BTCUSDT", limit: int = 5) -> dict[str, Any]:
        return (await self.public("/api/v3/depth", symbol=symbol, limit=limit))[1]


def run(scenario: Callable[[Venue], Awaitable[None]], **api_kwargs: Any) -> None:
    async def go() -> None:
        clock = Clock()
        api = make_api(clock, **api_kwargs)
        async with TestClient(TestServer(api.app())) as client:
            await scenario(Venue(client, clock))

    asyncio.run(go())


# --- general ----------------------------------------------------------------------------------


def test_unknown_paths_and_methods_answer_json_not_text():
    """ERRORS: every error is a JSON payload `{"code": ..., "msg": ...}`; a client reads the
    code. -1020 UNSUPPORTED_OPERATION "This operation is not supported." (HTTP 404)."""

    async def scenario(v: Venue) -> None:
        for method, path in [("GET", "/api/v3/nothing"), ("PUT", "/api/v3/order")]:
            async with v.http.request(method, path) as resp:
                assert resp.status == 404 and resp.content_type == "application/json"
                assert (await resp.json())["code"] == -1020

    run(scenario)


def test_exchange_info_lists_every_limit_filter_and_order_type():
    """REST general endpoints, exchangeInfo: `rateLimits` lists REQUEST_WEIGHT, ORDERS (per 10
    seconds and per day) and RAW_REQUESTS; a spot symbol carries PRICE_FILTER, LOT_SIZE,
    ICEBERG_PARTS, MARKET_LOT_SIZE, TRAILING_DELTA, PERCENT_PRICE_BY_SIDE, NOTIONAL,
    MAX_NUM_ORDERS (FILTERS); `orderTypes` names every type the symbol takes."""

    async def scenario(v: Venue) -> None:
        status, info, _ = await v.public("/api/v3/exchangeInfo", symbol="BTCUSDT")
        assert status == 200
        limits = {(r["rateLimitType"], r["interval"], r["intervalNum"]) for r in info["rateLimits"]}
        assert limits == {
            ("REQUEST_WEIGHT", "MINUTE", 1),
            ("ORDERS", "SECOND", 10),
            ("ORDERS", "DAY", 1),
            ("RAW_REQUESTS", "MINUTE", 5),
        }
        [symbol] = info["symbols"]
        filters = {f["filterType"] for f in symbol["filters"]}
        assert filters >= {
            "PRICE_FILTER",
            "LOT_SIZE",
            "ICEBERG_PARTS",
            "MARKET_LOT_SIZE",
            "TRAILING_DELTA",
            "PERCENT_PRICE_BY_SIDE",
            "NOTIONAL",
            "MAX_NUM_ORDERS",
        }
        assert set(symbol["orderTypes"]) == {"LIMIT", "LIMIT_MAKER", "MARKET"}
        assert symbol["icebergAllowed"] is False and symbol["cancelReplaceAllowed"] is True

    run(scenario)


# --- market data ------------------------------------------------------------------------------


def test_depth_returns_up_to_the_limit_asked_weighted_by_limit_at_8_decimals():
    """REST market data, order book: `limit` default 100, max 5000; weight 5 (1-100),
    25 (101-500), 50 (501-1000), 250 (1001-5000). Decimal strings carry the asset's
    precision (baseAssetPrecision/quotePrecision 8)."""

    async def scenario(v: Venue) -> None:
        _, small, h1 = await v.public("/api/v3/depth", symbol="BTCUSDT", limit=100)
        _, deep, h2 = await v.public("/api/v3/depth", symbol="BTCUSDT", limit=500)
        assert len(small["bids"]) == len(small["asks"]) == 100
        assert len(deep["bids"]) == len(deep["asks"]) == 500
        assert deep["asks"][:100] == small["asks"]  # the same book, only deeper
        assert int(h2["X-MBX-USED-WEIGHT-1M"]) - int(h1["X-MBX-USED-WEIGHT-1M"]) == 25
        for price, qty in deep["bids"] + deep["asks"]:
            assert len(price.split(".")[1]) == 8 and len(qty.split(".")[1]) == 8

    run(scenario)


def test_tickers_average_price_and_candles():
    """REST market data: `ticker/price` {symbol, price}; `ticker/24hr` FULL fields
    (priceChange ... count) and with `symbols` a list; `avgPrice` {mins: 5, price,
    closeTime}; `klines` rows of 12 fields [open time, o, h, l, c, volume, close time,
    quote volume, trades, taker buy base, taker buy quote, ignore], `limit` default 500,
    `bookTicker` with `symbols` only those symbols,
    open times aligned to the interval, oldest first."""

    async def scenario(v: Venue) -> None:
        status, price, _ = await v.public("/api/v3/ticker/price", symbol="BTCUSDT")
        assert status == 200 and price["symbol"] == "BTCUSDT"
        assert Decimal(price["price"]) > 0
        _, prices, _ = await v.public("/api/v3/ticker/price")
        assert {p["symbol"] for p in prices} == {"BTCUSDT", "ETHUSDT"}
        _, day, _ = await v.public("/api/v3/ticker/24hr", symbol="BTCUSDT")
        assert {
            "priceChange",
            "priceChangePercent",
            "weightedAvgPrice",
            "lastPrice",
            "bidPrice",
            "askPrice",
            "openPrice",
            "highPrice",
            "lowPrice",
            "volume",
            "quoteVolume",
            "openTime",
            "closeTime",
            "firstId",
            "lastId",
            "count",
        } <= set(day)
        assert Decimal(day["lowPrice"]) <= Decimal(day["lastPrice"]) <= Decimal(day["highPrice"])
        _, days, _ = await v.public("/api/v3/ticker/24hr", symbols='["BTCUSDT","ETHUSDT"]')
        assert [d["symbol"] for d in days] == ["BTCUSDT", "ETHUSDT"]
        _, books, _ = await v.public("/api/v3/ticker/bookTicker", symbols='["ETHUSDT"]')
        assert [b["symbol"] for b in books] == ["ETHUSDT"]
        status, bad, _ = await v.public("/api/v3/ticker/24hr", symbols='["NOPE"]')
        assert status == 400 and bad["code"] == -1121
        _, avg, _ = await v.public("/api/v3/avgPrice", symbol="BTCUSDT")
        assert avg["mins"] == 5 and abs(Decimal(avg["price"]) / 65_000 - 1) < Decimal("0.01")
        _, klines, _ = await v.public("/api/v3/klines", symbol="BTCUSDT", interval="1m", limit=10)
        assert len(klines) == 10 and all(len(k) == 12 for k in klines)
        assert all(k[0] % 60_000 == 0 and k[6] == k[0] + 59_999 for k in klines)
        assert [k[0] for k in klines] == sorted(k[0] for k in klines)
        assert klines[-1][0] <= v.clock.ns // 1_000_000 <= klines[-1][6]
        for k in klines:
            assert Decimal(k[3]) <= min(Decimal(k[1]), Decimal(k[4])) <= Decimal(k[2])
        status, bad, _ = await v.public("/api/v3/klines", symbol="BTCUSDT", interval="7m")
        assert status == 400 and bad["code"] == -1120

    run(scenario)


def test_recent_trades_show_the_venues_fills():
    """REST market data, recent trades: [{id, price, qty, quoteQty, time, isBuyerMaker,
    isBestMatch}]; a taker buy hits a resting seller, so isBuyerMaker is false; aggregate
    trades: [{a, p, q, f, l, T, m, M}]."""

    async def scenario(v: Venue) -> None:
        _, before, _ = await v.public("/api/v3/trades", symbol="BTCUSDT")
        assert before == []
        await v.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
        status, trades, _ = await v.public("/api/v3/trades", symbol="BTCUSDT")
        assert status == 200 and trades
        assert set(trades[0]) == {
            "id",
            "price",
            "qty",
            "quoteQty",
            "time",
            "isBuyerMaker",
            "isBestMatch",
        }
        assert all(t["isBuyerMaker"] is False for t in trades)
        assert sum(Decimal(t["qty"]) for t in trades) == Decimal("0.01")
        _, agg, _ = await v.public("/api/v3/aggTrades", symbol="BTCUSDT")
        assert [(a["a"], a["p"], a["q"], a["m"]) for a in agg] == [
            (t["id"], t["price"], t["qty"], False) for t in trades
        ]

    run(scenario)


# --- orders -----------------------------------------------------------------------------------


def test_limit_maker_rests_or_is_refused_when_it_would_take():
    """REST trading, new order: LIMIT_MAKER "are LIMIT orders that will be rejected if they
    would immediately match and trade as a taker" (-2010 "Order would immediately match and
    take."); default newOrderRespType is ACK for types other than MARKET and LIMIT."""

    async def scenario(v: Venue) -> None:
        book = await v.book()
        best_bid, best_ask = book["bids"][0][0], book["asks"][0][0]
        status, ack, _ = await v.order(
            symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity="0.01", price=best_bid
        )
        assert status == 200 and set(ack) == {
            "symbol",
            "orderId",
            "orderListId",
            "clientOrderId",
            "transactTime",
        }
        _, placed, _ = await v.signed(
            "GET", "/api/v3/order", symbol="BTCUSDT", orderId=ack["orderId"]
        )
        assert placed["status"] == "NEW" and placed["type"] == "LIMIT_MAKER"
        status, err, _ = await v.order(
            symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity="0.01", price=best_ask
        )
        assert (status, err["code"]) == (400, -2010)
        assert err["msg"] == "Order would immediately match and take."

    run(scenario)


def test_order_types_the_symbol_does_not_list_are_refused_with_binances_codes():
    """ERRORS: a type the symbol does not allow -2010 "Order type not supported for this
    symbol."; an iceberg on a symbol with icebergAllowed false -2010; a type that does not
    exist -1116 "Invalid orderType."; a MARKET order sent with timeInForce -1106."""

    async def scenario(v: Venue) -> None:
        base = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01"}
        status, err, _ = await v.order(
            **base, type="STOP_LOSS_LIMIT", price="60000", stopPrice="61000", timeInForce="GTC"
        )
        assert (status, err["code"], err["msg"]) == (
            400,
            -2010,
            "Order type not supported for this symbol.",
        )
        _, err, _ = await v.order(
            **base, type="LIMIT", price="60000", timeInForce="GTC", icebergQty="0.001"
        )
        assert err["code"] == -2010
        _, err, _ = await v.order(**base, type="FANCY")
        assert err["code"] == -1116
        _, err, _ = await v.order(**base, type="MARKET", timeInForce="IOC")
        assert err["code"] == -1106

    run(scenario)


def test_market_order_answer_and_commission_in_the_received_asset():
    """REST trading, new order (FULL response example): a MARKET order answers
    "timeInForce": "GTC"; each fill's commission is charged in the asset received (a buy
    pays base: https://www.binance.com/en/support/faq/how-are-trading-fees-calculated)."""

    async def scenario(v: Venue) -> None:
        _, buy, _ = await v.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
        assert buy["status"] == "FILLED" and buy["timeInForce"] == "GTC"
        assert {f["commissionAsset"] for f in buy["fills"]} == {"BTC"}
        fee = sum(Decimal(f["commission"]) for f in buy["fills"])
        assert fee == Decimal("0.01") * Decimal("0.001")
        _, sell, _ = await v.order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.01")
        assert {f["commissionAsset"] for f in sell["fills"]} == {"USDT"}
        _, account, _ = await v.signed("GET", "/api/v3/account")
        btc = next(b for b in account["balances"] if b["asset"] == "BTC")
        assert Decimal(btc["free"]) == Decimal(5) - fee

    run(scenario)


def test_a_buy_may_spend_the_whole_free_quote_balance():
    """Binance takes a buy's fee from the base received, so a LIMIT buy needs exactly
    price x quantity of free quote; it is not refused with -2010 for the fee on top."""

    async def scenario(v: Venue) -> None:
        price, qty = Decimal("65000.00"), Decimal("0.01")
        assert Decimal((await v.book())["asks"][0][0]) > price  # it rests: locks its cost
        status, order, _ = await v.order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity=str(qty),
            price=str(price),
        )
        assert status == 200 and order["status"] == "NEW", order
        _, account, _ = await v.signed("GET", "/api/v3/account")
        usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
        assert Decimal(usdt["free"]) == 0 and Decimal(usdt["locked"]) == price * qty

    run(scenario, balances={"BTC": "0", "USDT": str(Decimal("65000.00") * Decimal("0.01"))})


def test_client_order_id_is_refused_only_while_its_order_is_open():
    """REST trading, new order: newClientOrderId "A unique id among open orders"; -2010
    "Duplicate order sent." while one is open, accepted again once it is closed."""

    async def scenario(v: Venue) -> None:
        bid = Decimal((await v.book())["bids"][0][0])
        rest = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01",
            "price": str(bid - 100),
            "newClientOrderId": "bot-1",
        }
        assert (await v.order(**rest))[0] == 200
        status, err, _ = await v.order(**rest)
        assert (status, err["code"], err["msg"]) == (400, -2010, "Duplicate order sent.")
        await v.signed("DELETE", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="bot-1")
        status, again, _ = await v.order(**rest)
        assert status == 200 and again["clientOrderId"] == "bot-1"

    run(scenario)


def test_pre_trade_checks_answer_binances_codes():
    """FILTERS: PERCENT_PRICE_BY_SIDE bounds a LIMIT price to [avgPrice x multiplierDown,
    avgPrice x multiplierUp] per side, PRICE_FILTER maxPrice caps it (-1013 "Filter
    failure: ..."); ERRORS: a parameter the endpoint does not read -1104 "Not all sent
    parameters were read"; more decimals than the asset precision -1111; recvWindow above
    60000 -1131."""

    async def scenario(v: Venue) -> None:
        base = {"symbol": "BTCUSDT", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}
        status, err, _ = await v.order(**base, side="BUY", price="400000.00")
        assert (status, err["code"]) == (400, -1013)
        assert err["msg"] == "Filter failure: PERCENT_PRICE_BY_SIDE"
        _, err, _ = await v.order(**base, side="SELL", price="10000.00")
        assert err["msg"] == "Filter failure: PERCENT_PRICE_BY_SIDE"
        _, err, _ = await v.order(**base, side="SELL", price="2000000000.00")
        assert err["msg"] == "Filter failure: PRICE_FILTER"
        _, err, _ = await v.order(**base, side="BUY", price="60000", colour="red")
        assert err["code"] == -1104 and "read '7' parameter(s) but was sent '8'" in err["msg"]
        _, err, _ = await v.order(**{**base, "quantity": "0.000000001"}, side="BUY", price="60000")
        assert err["code"] == -1111
        status, err, _ = await v.signed("GET", "/api/v3/account", recvWindow=60_001)
        assert (status, err["code"]) == (400, -1131)
        status, err, _ = await v.public("/api/v3/depth", symbol="BTCUSDT", limitt=5)
        assert (status, err["code"]) == (400, -1104)

    run(scenario)


def test_order_history_cancel_all_test_orders_and_commission():
    """REST trading/account: `allOrders` lists open and closed orders oldest first;
    `DELETE openOrders` cancels every open order of the symbol (and -2011 when none is
    open); `order/test` validates without placing (`{}`, or the commission rates with
    computeCommissionRates); `account/commission` {symbol, standardCommission,
    taxCommission, discount}."""

    async def scenario(v: Venue) -> None:
        bid = Decimal((await v.book())["bids"][0][0])
        for i in range(2):
            await v.order(
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.01",
                price=str(bid - 50 - i),
            )
        await v.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
        status, tested, _ = await v.signed(
            "POST",
            "/api/v3/order/test",
            symbol="BTCUSDT",
            side="BUY",
            type="MARKET",
            quantity="0.01",
        )
        assert (status, tested) == (200, {})
        _, rates, _ = await v.signed(
            "POST",
            "/api/v3/order/test",
            symbol="BTCUSDT",
            side="BUY",
            type="MARKET",
            quantity="0.01",
            computeCommissionRates="true",
        )
        assert rates["standardCommissionForOrder"] == {"maker": "0.00080000", "taker": "0.00100000"}
        _, everything, _ = await v.signed("GET", "/api/v3/allOrders", symbol="BTCUSDT")
        assert [o["status"] for o in everything] == ["NEW", "NEW", "FILLED"]
        status, canceled, _ = await v.signed("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")
        assert status == 200 and [o["status"] for o in canceled] == ["CANCELED", "CANCELED"]
        status, err, _ = await v.signed("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")
        assert (status, err["code"]) == (400, -2011)
        _, commission, _ = await v.signed("GET", "/api/v3/account/commission", symbol="BTCUSDT")
        assert commission["standardCommission"]["taker"] == "0.00100000"
        assert {"symbol", "standardCommission", "taxCommission", "discount"} == set(commission)

    run(scenario)


def test_cancel_replace_reports_both_legs():
    """REST trading, cancel an existing order and send a new order: success answers
    {cancelResult, newOrderResult, cancelResponse, newOrderResponse}; STOP_ON_FAILURE with
    a cancel that fails answers -2022 "Order cancel-replace failed." with the same report
    in `data` (cancelResult FAILURE, newOrderResult NOT_ATTEMPTED)."""

    async def scenario(v: Venue) -> None:
        bid = Decimal((await v.book())["bids"][0][0])
        _, old, _ = await v.order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.01",
            price=str(bid - 50),
        )
        replace = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.02",
            "price": str(bid - 60),
            "cancelReplaceMode": "STOP_ON_FAILURE",
        }
        status, both, _ = await v.signed(
            "POST", "/api/v3/order/cancelReplace", **replace, cancelOrderId=old["orderId"]
        )
        assert status == 200
        assert (both["cancelResult"], both["newOrderResult"]) == ("SUCCESS", "SUCCESS")
        assert both["cancelResponse"]["status"] == "CANCELED"
        assert both["newOrderResponse"]["origQty"] == "0.02000000"
        status, err, _ = await v.signed(
            "POST", "/api/v3/order/cancelReplace", **replace, cancelOrderId=old["orderId"]
        )
        assert (status, err["code"]) == (400, -2022)
        assert err["data"]["cancelResult"] == "FAILURE"
        assert err["data"]["newOrderResult"] == "NOT_ATTEMPTED"
        assert err["data"]["cancelResponse"]["code"] == -2011

    run(scenario)


# --- limits -----------------------------------------------------------------------------------


def test_weight_is_counted_per_ip_and_a_429_carries_the_weight_header():
    """REST limits: "REQUEST_WEIGHT ... limits are based on IPs, not API keys"; every
    response carries X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter), including a 429
    (-1003) with Retry-After."""

    async def scenario(v: Venue) -> None:
        _, _, h1 = await v.signed("GET", "/api/v3/account", key=KEY, secret=SECRET)
        _, _, h2 = await v.signed("GET", "/api/v3/account", key=KEY2, secret=SECRET2)
        assert (h1["X-MBX-USED-WEIGHT-1M"], h2["X-MBX-USED-WEIGHT-1M"]) == ("20", "40")
        status, err, h3 = await v.public("/api/v3/exchangeInfo")
        assert (status, err["code"]) == (429, -1003)
        assert h3["X-MBX-USED-WEIGHT-1M"] == "60" and int(h3["Retry-After"]) >= 1

    run(scenario, weight_limit_1m=50)


def test_orders_are_counted_per_account_with_order_count_headers():
    """REST limits: ORDERS limits are counted per account; "Every successful order response
    will contain a X-MBX-ORDER-COUNT-(intervalNum)(intervalLetter) header"; past 100 orders
    in 10 s: -1015 "Too many new orders; current limit is 100 orders per 10 SECOND." (429);
    `rateLimit/order` shows the account's counts."""

    async def scenario(v: Venue) -> None:
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0001"}
        for n in range(1, 101):
            status, _, headers = await v.order(**order)
            assert status == 200
            assert headers["X-MBX-ORDER-COUNT-10S"] == str(n)
            assert headers["X-MBX-ORDER-COUNT-1D"] == str(n)
        status, err, headers = await v.order(**order)
        assert (status, err["code"]) == (429, -1015)
        assert err["msg"] == "Too many new orders; current limit is 100 orders per 10 SECOND."
        _, _, other = await v.order(**order, key=KEY2, secret=SECRET2)
        assert other["X-MBX-ORDER-COUNT-10S"] == "1"  # another account counts afresh
        _, counts, _ = await v.signed("GET", "/api/v3/rateLimit/order")
        assert [(c["interval"], c["limit"], c["count"]) for c in counts] == [
            ("SECOND", 100, 101),
            ("DAY", 200_000, 101),
        ]
        v.clock.ns += 10 * 10**9
        status, _, headers = await v.order(**order)
        assert status == 200 and headers["X-MBX-ORDER-COUNT-10S"] == "1"

    run(scenario, weight_limit_1m=6_000)


@pytest.mark.parametrize("interval", ["1s", "1h", "1d", "1w", "1M"])
def test_klines_open_on_the_intervals_boundaries(interval):
    """REST market data, klines: intervals 1s ... 1M; "klines are uniquely identified by
    their open time"; weeks open on Monday 00:00 UTC, months on the 1st."""

    async def scenario(v: Venue) -> None:
        status, klines, _ = await v.public(
            "/api/v3/klines", symbol="BTCUSDT", interval=interval, limit=3
        )
        assert status == 200 and len(klines) == 3
        opens = [k[0] for k in klines]
        assert all(b == a[6] + 1 for a, b in zip(klines, opens[1:], strict=False))
        if interval == "1w":
            assert all((o // 86_400_000 + 3) % 7 == 0 for o in opens)  # Mondays

    run(scenario)
