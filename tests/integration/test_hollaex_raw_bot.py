"""A bot written against the HollaEx docs, signing by hand, runs on venue-sim's home venue.

No maintained Python client for HollaEx Kit exists on PyPI (`hollaex-py-lib`
0.2 ships no code), so the bot is plain aiohttp that signs exactly as
https://apidocs.hollaex.com/#authentication shows: hex HMAC-SHA256 of
`${METHOD}${PATH}${api-expires}${JSON_BODY}` in `api-signature`, with
`api-key` and `api-expires`; it sends its bodies pretty-printed, which the Kit
accepts because it checks the re-serialised body. The session: health,
constants, kit, tiers, ticker, order book, user and balance; a post-only maker
quote, a market taker order, the fills with their `fee_coin`, cancel-all,
order history and trade history.

Its numbers are written as JavaScript writes them (integral values bare, no
exponent above 1e-4), because the Kit checks the body re-serialised by
`JSON.stringify`: a Python client signing `64935.0` or `5e-05` where Node
writes `64935` or `0.00005` is refused, on the real venue as on venue-sim.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from engine.config import parse_config
from engine.sim.server import SimCredentials, VenueSimServer

LOCAL = Path(__file__).parents[2] / "configs" / "local.yaml"
KEY, SECRET = "raw-bot-key", "raw-bot-secret"
LP_KEY, LP_SECRET = "raw-lp-key", "raw-lp-secret"  # another account quoting the book
pytestmark = pytest.mark.timeout(60)


def _n(value: Decimal) -> int | float:
    """A JSON number as Node.js will print it back: integral values as integers."""
    return int(value) if value == value.to_integral_value() else float(value)


class HollaExBot:
    """What a developer writes from the docs' Authentication section."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, key: str = KEY, secret: str = SECRET
    ) -> None:
        self.http = http
        self.url = url
        self.key = key
        self.secret = secret

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def private(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        expires = str(int(time.time()) + 60)
        signed = json.dumps(body, separators=(",", ":")) if body is not None else ""
        message = method + path + expires + signed
        headers = {
            "api-key": self.key,
            "api-expires": expires,
            "api-signature": hmac.new(
                self.secret.encode(), message.encode(), hashlib.sha256
            ).hexdigest(),
        }
        data = None
        if body is not None:
            data = json.dumps(body, indent=2)  # sent readable; the signature is over the JSON
            headers["Content-Type"] = "application/json"
        async with self.http.request(method, self.url + path, data=data, headers=headers) as resp:
            answer = await resp.json()
            assert resp.status == 200, answer
            return answer


def test_a_bot_signing_as_the_hollaex_docs_show_runs_a_full_session():
    async def session() -> None:
        data = yaml.safe_load(LOCAL.read_text())
        home = next(v for v in data["venues"] if v["id"] == "home")
        home.update(
            kind="ccxt", exchange="hollaex", url="sim", api_key=LP_KEY, api_secret=LP_SECRET
        )
        server = VenueSimServer(
            parse_config(data, "raw-bot"),
            start_ns=time.time_ns(),
            credentials=SimCredentials(KEY, SECRET),
        )
        served = {v.venue_id: v for v in await server.start()}
        try:
            async with aiohttp.ClientSession() as http:
                url = served["home"].url
                await _run(HollaExBot(http, url), HollaExBot(http, url, LP_KEY, LP_SECRET))
        finally:
            await server.stop()

    asyncio.run(session())


async def _run(bot: HollaExBot, lp: HollaExBot) -> None:
    # start-up
    assert (await bot.get("/v2/health"))["name"] == "home"
    constants = await bot.get("/v2/constants")
    pair = constants["pairs"]["btc-usdt"]
    tick, lot = Decimal(str(pair["increment_price"])), Decimal(str(pair["increment_size"]))
    assert (await bot.get("/v2/kit"))["info"]["active"] is True
    assert "btc-usdt" in (await bot.get("/v2/tiers"))["1"]["fees"]["maker"]
    assert {"open", "close", "high", "low", "last", "volume"} <= set(
        await bot.get("/v2/ticker?symbol=btc-usdt")
    )
    user = await bot.private("GET", "/v2/user")
    start = await bot.private("GET", "/v2/user/balance")
    assert user["balance"]["btc_available"] == start["btc_available"]

    # another account quotes around the last price; the bot reads the book
    mid = Decimal(str((await bot.get("/v2/ticker?symbol=btc-usdt"))["last"]))
    for side, price in (("buy", mid * Decimal("0.999")), ("sell", mid * Decimal("1.001"))):
        await lp.private(
            "POST",
            "/v2/order",
            {
                "symbol": "btc-usdt",
                "side": side,
                "size": _n(lot * 1000),
                "type": "limit",
                "price": _n((price / tick).to_integral_value() * tick),
            },
        )
    book = (await bot.get("/v2/orderbook?symbol=btc-usdt"))["btc-usdt"]
    assert book["bids"] and book["asks"]
    bid = Decimal(str(book["bids"][0][0]))
    quote_price = (bid * Decimal("0.99") / tick).to_integral_value() * tick
    maker = await bot.private(
        "POST",
        "/v2/order",
        {
            "symbol": "btc-usdt",
            "side": "buy",
            "size": _n(lot * 1000),
            "type": "limit",
            "price": _n(quote_price),
            "meta": {"post_only": True, "note": "bot-quote-1"},
        },
    )
    assert maker["status"] == "new" and maker["meta"]["note"] == "bot-quote-1"
    taker = await bot.private(
        "POST",
        "/v2/order",
        {"symbol": "btc-usdt", "side": "buy", "size": _n(lot * 500), "type": "market"},
    )
    assert taker["status"] == "filled" and taker["fee_coin"] == "btc"

    # cancel-all, history
    canceled = await bot.private("DELETE", "/v2/order/all?symbol=btc-usdt")
    assert [o["id"] for o in canceled] == [maker["id"]]
    assert (await bot.private("GET", "/v2/orders?symbol=btc-usdt&open=true"))["count"] == 0
    history = await bot.private("GET", "/v2/orders?symbol=btc-usdt")
    assert {o["id"]: o["status"] for o in history["data"]} == {
        maker["id"]: "canceled",
        taker["id"]: "filled",
    }
    trades = await bot.private("GET", "/v2/user/trades?symbol=btc-usdt")
    assert trades["count"] >= 1 and all(t["fee_coin"] == "btc" for t in trades["data"])
    assert {t["order_id"] for t in trades["data"]} == {taker["id"]}
