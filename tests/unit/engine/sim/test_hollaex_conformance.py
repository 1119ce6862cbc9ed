"""HollaEx Kit v2 dialect conformance: each test states the documented behaviour it checks.

Against `HollaExApi` served by aiohttp's in-process test server (no Ray, no
ccxt), signed as the docs' Authentication section shows. Source for every test:
DOCS = https://apidocs.hollaex.com (sections cited per test); the Kit's own
check is `checkHmacSignature` in hollaex-kit server/utils/toolsLib/tools/security.js,
which signs `JSON.stringify(req.body)`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer

from engine.config import (
    AssetProcessConfig,
    MarketConfig,
    SymbolRulesConfig,
    TakerFlowConfig,
    VenueConfig,
)
from engine.sim.hollaex_http import HollaExApi
from engine.sim.hollaex_wire import js_json
from engine.sim.home_exchange import HomeExchange
from engine.sim.price import ReferencePrice
from engine.sim.transfers import TransferDesk

T0 = 1_700_000_000 * 10**9
KEY, SECRET = "hx-key", "hx-secret"
LP_KEY, LP_SECRET = "hx-lp", "hx-lp-secret"


def make_api(clock: list[int]) -> tuple[HollaExApi, HomeExchange]:
    venue = VenueConfig(
        id="home",
        kind="ccxt",
        exchange="hollaex",
        url="sim",
        role="home",
        maker_fee=0.0002,
        taker_fee=0.0005,
        balances={"BTC": Decimal(2), "USDT": Decimal(200_000)},
        symbol_rules={
            "BTC/USDT": SymbolRulesConfig(tick_size=Decimal("0.1"), lot_size=Decimal("0.001"))
        },
    )
    market = MarketConfig(
        symbol="BTC/USDT", taker_flow=TakerFlowConfig(rate_per_s=5.0, mean_notional_quote=500)
    )
    assets = {"BTC": AssetProcessConfig(initial_price=65_000, vol_annual=0.0, jumps_per_day=0)}
    reference = ReferencePrice(assets, seed=7, step_ms=100, start_ns=T0 - 86_400 * 10**9)
    home = HomeExchange(venue, [market], reference, seed=7)
    desk = TransferDesk({"home": home}, {"home": 0.0})
    api = HollaExApi(
        home,
        credentials={KEY: SECRET, LP_KEY: LP_SECRET},
        clock_ns=lambda: clock[0],
        transfers=desk,
    )
    return api, home


class Venue:
    def __init__(self, client: TestClient, clock: list[int], home: HomeExchange) -> None:
        self.http = client
        self.clock = clock
        self.home = home

    async def public(self, path: str, **params: Any) -> tuple[int, Any]:
        async with self.http.get(path, params=params) as resp:
            assert resp.content_type == "application/json"
            return resp.status, await resp.json()

    async def private(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str = KEY,
        secret: str = SECRET,
        sent: str | None = None,
        signed: str | None = None,
        **params: Any,
    ) -> tuple[int, Any]:
        """Sign `METHOD + path?query + expires + compact JSON body` as the docs show;
        `sent`/`signed` override the body bytes sent / the body string signed."""
        path_qs = f"{path}?{urlencode(params)}" if params else path
        expires = str(self.clock[0] // 10**9 + 60)
        compact = json.dumps(body, separators=(",", ":")) if body is not None else ""
        message = method + path_qs + expires + (signed if signed is not None else compact)
        signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        headers = {"api-key": key, "api-expires": expires, "api-signature": signature}
        data = sent if sent is not None else compact or None
        if data:
            headers["Content-Type"] = "application/json"
        async with self.http.request(method, path_qs, data=data, headers=headers) as resp:
            return resp.status, await resp.json()


def run(scenario: Callable[[Venue], Awaitable[None]]) -> None:
    async def go() -> None:
        clock = [T0]
        api, home = make_api(clock)
        async with TestClient(TestServer(api.app())) as client:
            await scenario(Venue(client, clock, home))

    asyncio.run(go())


async def _two_sided_book(v: Venue) -> None:
    """A second account quotes around 65000 so there is something to trade against."""
    for side, price in (("buy", 64_990), ("sell", 65_010)):
        status, _ = await v.private(
            "POST",
            "/v2/order",
            {"symbol": "btc-usdt", "side": side, "size": 1, "type": "limit", "price": price},
            key=LP_KEY,
            secret=LP_SECRET,
        )
        assert status == 200


def test_signature_covers_the_reserialised_json_body():
    """DOCS #authentication: the string signed is `${METHOD}${PATH}${api-expires}` with
    "the JSON body object" appended, e.g. `POST/v2/order1583284849{"symbol":"btc-usdt",...}`;
    the Kit re-serialises the parsed body, so a compact-signed body sent with spaces
    passes and a signature over the spaced bytes does not (403)."""

    async def scenario(v: Venue) -> None:
        await _two_sided_book(v)
        body = {"symbol": "btc-usdt", "side": "buy", "size": 0.001, "type": "market"}
        spaced = json.dumps(body, indent=2)
        status, order = await v.private("POST", "/v2/order", body, sent=spaced)
        assert status == 200 and order["status"] == "filled"
        status, err = await v.private("POST", "/v2/order", body, sent=spaced, signed=spaced)
        assert status == 403 and "Invalid API signature" in err["message"]

    run(scenario)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"size": 0.00001, "price": 1e21}, '{"size":0.00001,"price":1e+21}'),
        ({"size": 1e-7, "note": "é"}, '{"size":1e-7,"note":"é"}'),
        ({"a": [1, 2.5, True, None]}, '{"a":[1,2.5,true,null]}'),
        ({"size": 10.0}, '{"size":10}'),
    ],
)
def test_the_signed_body_is_written_as_javascripts_json_stringify(value, expected):
    """The Kit (Node.js) signs `JSON.stringify(body)`: ECMAScript Number::toString writes
    fixed notation from 1e-6 up to 1e21 and `1e+21`/`1e-7` outside, integral floats bare."""
    assert js_json(value) == expected


def test_fee_coin_is_the_coin_received():
    """DOCS #cancel-order: a buy on xht-usdt shows "fee_coin": "xht"; #get-trades: a sell
    shows "fee_coin": "usdt": the fee is taken from the coin the trade brings in."""

    async def scenario(v: Venue) -> None:
        await _two_sided_book(v)
        _, buy = await v.private(
            "POST",
            "/v2/order",
            {"symbol": "btc-usdt", "side": "buy", "size": 0.01, "type": "market"},
        )
        _, sell = await v.private(
            "POST",
            "/v2/order",
            {"symbol": "btc-usdt", "side": "sell", "size": 0.01, "type": "market"},
        )
        assert (buy["fee_coin"], sell["fee_coin"]) == ("btc", "usdt")
        assert Decimal(str(buy["fee"])) == Decimal("0.01") * Decimal("0.0005")
        status, trades = await v.private("GET", "/v2/user/trades", symbol="btc-usdt")
        assert status == 200
        assert {(t["side"], t["fee_coin"]) for t in trades["data"]} == {
            ("buy", "btc"),
            ("sell", "usdt"),
        }
        _, balance = await v.private("GET", "/v2/user/balance")
        assert Decimal(str(balance["btc_balance"])) == Decimal(2) - Decimal(str(buy["fee"]))

    run(scenario)


def test_ticker_tickers_and_public_trades():
    """DOCS #ticker: {open, close, high, low, last, volume}; #tickers: the same per pair;
    #trades: {pair: [{size, price, side, timestamp}]}, the last 30 trades, newest first."""

    async def scenario(v: Venue) -> None:
        await _two_sided_book(v)
        await v.private(
            "POST",
            "/v2/order",
            {"symbol": "btc-usdt", "side": "buy", "size": 0.2, "type": "market"},
        )
        v.clock[0] += 10**9
        await v.private(
            "POST",
            "/v2/order",
            {"symbol": "btc-usdt", "side": "sell", "size": 0.1, "type": "market"},
        )
        status, ticker = await v.public("/v2/ticker", symbol="btc-usdt")
        assert status == 200
        assert {"open", "close", "high", "low", "last", "volume"} <= set(ticker)
        assert ticker["last"] == 64_990 and ticker["volume"] == pytest.approx(0.3)
        assert ticker["low"] <= ticker["last"] <= ticker["high"]
        _, tickers = await v.public("/v2/tickers")
        assert tickers["btc-usdt"]["last"] == ticker["last"]
        _, trades = await v.public("/v2/trades", symbol="btc-usdt")
        assert [(t["side"], t["price"]) for t in trades["btc-usdt"]] == [
            ("sell", 64_990),
            ("buy", 65_010),
        ]
        assert set(trades["btc-usdt"][0]) == {"size", "price", "side", "timestamp"}

    run(scenario)


def test_chart_and_tradingview_udf():
    """DOCS #chart: [{time, close, high, low, open, symbol, volume}] for `resolution`, `from`,
    `to` (unix seconds); #charts: the same per pair; #tradingview: `udf/config`
    {supported_resolutions, ...}, `udf/history` {s: "ok", t, o, h, l, c, v}, `udf/symbols`
    {name, ticker, exchange, session, ...}."""

    async def scenario(v: Venue) -> None:
        now_s = v.clock[0] // 10**9
        window = {"symbol": "btc-usdt", "resolution": "60", "from": now_s - 5 * 3600, "to": now_s}
        status, chart = await v.public("/v2/chart", **window)
        assert status == 200 and len(chart) == 6
        assert set(chart[0]) == {"time", "close", "high", "low", "open", "symbol", "volume"}
        assert all(c["low"] <= min(c["open"], c["close"]) for c in chart)
        _, charts = await v.public(
            "/v2/charts", resolution="1D", **{"from": now_s - 86_400, "to": now_s}
        )
        assert list(charts) == ["btc-usdt"] and charts["btc-usdt"]
        _, config = await v.public("/v2/udf/config")
        assert "60" in config["supported_resolutions"] and "1D" in config["supported_resolutions"]
        _, history = await v.public("/v2/udf/history", **window)
        assert history["s"] == "ok" and len(history["t"]) == len(history["c"]) == 6
        _, symbol = await v.public("/v2/udf/symbols", symbol="btc-usdt")
        assert symbol["ticker"] == "btc-usdt" and symbol["session"] == "24x7"
        status, err = await v.public("/v2/chart", **{**window, "resolution": "7"})
        assert status == 400 and "resolution" in err["message"]

    run(scenario)


def test_kit_tiers_user_deposits_and_withdrawals():
    """DOCS #kit: the exchange's configuration {info, api_name, native_currency, ...};
    #tiers: {level: {fees: {maker: {pair: pct}, taker: {...}}}}; #get-user: the user with
    its `balance`; #get-deposits / #get-withdrawals: {count, data: [{id, amount, fee,
    address, transaction_id, status, ..., type, currency, created_at}]}."""

    async def scenario(v: Venue) -> None:
        _, kit = await v.public("/v2/kit")
        assert kit["info"]["active"] is True and kit["api_name"] == "home"
        _, tiers = await v.public("/v2/tiers")
        assert tiers["1"]["fees"]["taker"]["btc-usdt"] == pytest.approx(0.05)  # percent
        status, user = await v.private("GET", "/v2/user")
        assert status == 200 and user["balance"]["btc_balance"] == 2
        for path in ("/v2/user/deposits", "/v2/user/withdrawals"):
            status, listing = await v.private("GET", path, currency="btc")
            assert status == 200 and listing == {"count": 0, "data": []}

    run(scenario)


def test_unknown_paths_answer_json():
    """DOCS: errors are JSON `{"message": ...}` with the HTTP status; an unknown path is
    a 404 a client can parse, never a text/plain page."""

    async def scenario(v: Venue) -> None:
        for method in ("GET", "POST"):
            async with v.http.request(method, "/v2/nothing") as resp:
                assert resp.status == 404 and resp.content_type == "application/json"
                assert (await resp.json()) == {"message": "Not Found"}

    run(scenario)
