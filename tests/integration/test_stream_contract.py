"""venue-sim's websocket streams as the unmodified ccxt.pro clients see them, both dialects.

The same assertions run against the Binance hedge venues and the HollaEx home
venue: a streamed book equals the REST book once the clock stops; an order's
fills arrive pushed with the amounts and ids REST reports; balances are pushed.
The venues' clock is a `SteppedClock` the test moves by hand (within a few
seconds of the wall, so ccxt's signed requests pass), so the book changes
only when a test says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxt_pro
import pytest
import yaml

from engine.config import AppConfig, FaultConfig, FaultsFileConfig, parse_config
from engine.sim.server import SimCredentials, VenueSimServer, ccxt_urls_for

KEY, SECRET = "stream-key-01", "stream-secret-23"
TAKER_KEY, TAKER_SECRET = "stream-key-45", "stream-secret-67"


def _config() -> AppConfig:
    """configs/loopback.yaml, the home venue also accepting the taker's key."""
    data = yaml.safe_load((Path(__file__).parents[2] / "configs" / "loopback.yaml").read_text())
    home = next(v for v in data["venues"] if v["id"] == "home")
    home.update(api_key=TAKER_KEY, api_secret=TAKER_SECRET)
    return parse_config(data, "loopback-streams")


CONFIG = _config()
HEDGE, HOME = "binance-sim", "home"
SYMBOLS = [m.symbol for m in CONFIG.markets]
pytestmark = pytest.mark.timeout(60)


class SteppedClock:
    """The venues' clock: still until `step` moves it (starts at the wall)."""

    def __init__(self) -> None:
        self.now_ns = time.time_ns()

    def __call__(self) -> int:
        return self.now_ns

    def step(self, ms: float) -> None:
        self.now_ns += int(ms * 1e6)


@contextlib.asynccontextmanager
async def served(
    clock: Any = None, faults: FaultsFileConfig | None = None
) -> AsyncIterator[tuple[VenueSimServer, dict[str, str]]]:
    server = VenueSimServer(
        CONFIG,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        clock_ns=clock or time.time_ns,
        run_takers=False,
        faults=faults,
    )
    try:
        yield server, {v.venue_id: v.url for v in await server.start()}
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def pro(exchange: str, url: str, key: str = KEY, secret: str = SECRET) -> AsyncIterator[Any]:
    options: dict[str, Any] = {"fetchCurrencies": False}
    if exchange == "binance":
        options["fetchMarkets"] = {"types": ["spot"]}
    ex = getattr(ccxt_pro, exchange)(
        {"apiKey": key, "secret": secret, "enableRateLimit": False, "options": options}
    )
    ccxt_urls_for(url, ex)
    try:
        yield ex
    finally:
        await ex.close()


DIALECTS = [("binance", HEDGE), ("hollaex", HOME)]


def levels(side: list[list[float]], n: int) -> list[tuple[float, float]]:
    return [(float(p), float(a)) for p, a, *_ in side[:n]]


@pytest.mark.parametrize(("exchange", "venue"), DIALECTS)
def test_a_streamed_book_equals_the_rest_book_once_the_clock_stops(exchange, venue):
    async def scenario() -> None:
        clock = SteppedClock()
        async with served(clock) as (server, urls), pro(exchange, urls[venue]) as ex:
            if exchange == "hollaex":  # a book to stream: resting orders of two accounts
                await ex.load_markets()
                home = server.home(HOME)
                for i, (side, price) in enumerate([("buy", 64_990), ("sell", 65_010)]):
                    await ex.create_order("BTC/USDT", "limit", side, 0.1 + i / 100, price)
                clock.step(1)
            book = await ex.watch_order_book("BTC/USDT")
            for _ in range(3):  # the book moves; every diff continues the last (ccxt checks)
                clock.step(120)
                if exchange == "hollaex":
                    await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 64_980)
                book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 5)
            await asyncio.sleep(0.3)  # the clock is still: nothing more to push
            rest = await ex.fetch_order_book("BTC/USDT", 20)
            assert levels(book["bids"], 20) == levels(rest["bids"], 20)
            assert levels(book["asks"], 20) == levels(rest["asks"], 20)
            assert book["bids"] and book["asks"]
            if exchange == "binance":  # the snapshot's id is the stream's last id
                assert book["nonce"] == rest["nonce"]
            else:
                assert home.book("BTC/USDT", 1)[0]

    asyncio.run(scenario())


@pytest.mark.parametrize(("exchange", "venue"), DIALECTS)
def test_fills_and_balances_are_pushed_as_rest_reports_them(exchange, venue):
    async def scenario() -> None:
        async with served() as (server, urls), pro(exchange, urls[venue]) as ex:
            await ex.load_markets()
            trades = asyncio.ensure_future(ex.watch_my_trades("BTC/USDT"))
            balance = asyncio.ensure_future(ex.watch_balance())
            orders = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
            await asyncio.sleep(0.3)  # subscribed
            if exchange == "binance":
                book = await ex.fetch_order_book("BTC/USDT", 5)
                sent = await ex.create_order(
                    "BTC/USDT", "limit", "buy", 0.05, book["asks"][2][0], {"timeInForce": "IOC"}
                )
                rest = await ex.fetch_my_trades("BTC/USDT")
            else:  # a resting quote, hit by another account's market order
                sent = await ex.create_order(
                    "BTC/USDT", "limit", "sell", 0.05, 65_000, {"meta": {"post_only": True}}
                )
                async with pro("hollaex", urls[venue], TAKER_KEY, TAKER_SECRET) as taker:
                    server.home(HOME).credit(TAKER_KEY, "USDT", Decimal(1_000_000))
                    await taker.create_order("BTC/USDT", "market", "buy", 0.05)
                rest = await ex.fetch_my_trades("BTC/USDT")
            pushed = await asyncio.wait_for(trades, 5)
            assert sum(t["amount"] for t in pushed) == pytest.approx(0.05)
            assert [(t["price"], t["amount"]) for t in pushed] == [
                (t["price"], t["amount"]) for t in rest if t["order"] == sent["id"]
            ]
            if exchange == "binance":  # trade ids: the same on both paths
                assert {t["id"] for t in pushed} == {t["id"] for t in rest}
            assert (await asyncio.wait_for(orders, 5))[-1]["id"] == sent["id"]
            bal = await asyncio.wait_for(balance, 5)
            assert bal["BTC"]["total"] is not None

    asyncio.run(scenario())


def test_binance_combined_stream_and_listen_key_user_stream():
    """Raw Binance wire: `/stream?streams=` wraps events; a listen key streams the account's
    `executionReport`s, is kept alive by PUT, and expires into `listenKeyExpired`."""

    async def scenario() -> None:
        async with served() as (server, urls), aiohttp.ClientSession() as http:
            base = urls[HEDGE]
            headers = {"X-MBX-APIKEY": KEY}
            async with http.post(f"{base}/api/v3/userDataStream", headers=headers) as r:
                key = (await r.json())["listenKey"]
            async with http.put(
                f"{base}/api/v3/userDataStream", params={"listenKey": key}, headers=headers
            ) as r:
                assert r.status == 200
            async with http.post(f"{base}/api/v3/userDataStream") as r:
                assert r.status == 401 and (await r.json())["code"] == -2014
            ws_url = base.replace("http", "ws")
            streams = "btcusdt@depth@100ms/btcusdt@bookTicker"
            async with (
                http.ws_connect(f"{ws_url}/stream?streams={streams}") as market,
                http.ws_connect(f"{ws_url}/ws/{key}") as user,
            ):
                seen = set()
                while len(seen) < 2:
                    msg = json.loads((await asyncio.wait_for(market.receive(), 5)).data)
                    seen.add(msg["stream"])
                    assert "data" in msg
                async with pro("binance", base) as ex:
                    await ex.create_order("BTC/USDT", "market", "buy", 0.01)
                kinds = []
                while "TRADE" not in kinds:
                    event = json.loads((await asyncio.wait_for(user.receive(), 5)).data)
                    if event["e"] == "executionReport":
                        kinds.append(event["x"])
                assert kinds[0] == "NEW"
                streams_edge = server.streams(HEDGE)
                streams_edge.listen_keys.expire(key)  # as if 60 minutes passed unrenewed
                streams_edge._expire(key, time.time_ns())
                event = json.loads((await asyncio.wait_for(user.receive(), 5)).data)
                while event.get("e") != "listenKeyExpired":
                    event = json.loads((await asyncio.wait_for(user.receive(), 5)).data)
            async with http.delete(
                f"{base}/api/v3/userDataStream", params={"listenKey": key}, headers=headers
            ) as r:
                assert (await r.json())["code"] == -1125  # gone with its expiry

    asyncio.run(scenario())


def test_update_id_gaps_and_repeats_are_resynced_by_ccxt_and_counted():
    faults = FaultsFileConfig(
        seed=3, venues={HEDGE: FaultConfig(depth_gap_rate=0.2, depth_repeat_rate=0.2)}
    )

    async def scenario() -> None:
        async with served(faults=faults) as (server, urls), pro("binance", urls[HEDGE]) as ex:
            gaps = 0
            updates = 0
            closed = 0
            while updates < 15:
                try:
                    await asyncio.wait_for(ex.watch_order_book_for_symbols(SYMBOLS, 20), 5)
                    updates += 1
                except ccxt_pro.ChecksumError:  # a gap: ccxt dropped the book
                    gaps += 1
                except ccxt_pro.NetworkError as exc:
                    # ccxt re-subscribes after every gap; a burst of gaps sends more
                    # than Binance's 5 messages a second and the venue closes the
                    # socket, as the real one does. The next watch reconnects.
                    assert "closed" in str(exc).lower(), exc
                    closed += 1
            stats = server.streams(HEDGE).stats
            assert stats["gaps"] > 0 and stats["repeats"] > 0
            assert gaps > 0  # each resynced from a fresh snapshot, then streamed on
            assert closed <= stats["disconnects"]  # every close the client saw was the venue's

    asyncio.run(scenario())
