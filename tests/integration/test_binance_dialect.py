"""The simulated hedge venues as the unmodified ccxt binance client sees them.

Each test starts the venue simulator in-process on free loopback ports and
talks to it through `ccxt.async_support.binance`. The venues' clock is frozen
per test (`FrozenClock`) so the generated book cannot refresh mid-test. It is
set 5 s ahead of the wall clock: ccxt stamps requests with the real time and
sends recvWindow=10000, so they pass Binance's timestamp rule (not more than
1 s ahead of the server, not more than recvWindow behind) for the next 6 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async
import pytest

from engine.config import AppConfig, FaultConfig, FaultsFileConfig, load_config
from engine.sim.server import (
    SimCredentials,
    VenueSimServer,
    ccxt_urls_for,
    serve_until_stopped,
)

CONFIG: AppConfig = load_config(Path(__file__).parents[2] / "configs" / "local.yaml")
KEY, SECRET = "test-key-0123", "test-secret-4567"
CREDENTIALS = SimCredentials(api_key=KEY, api_secret=SECRET)
VENUE = "binance-sim"
pytestmark = pytest.mark.timeout(60)


class FrozenClock:
    """The venues' clock: holds still until `sync` moves it to (just ahead of) now."""

    AHEAD_NS = 5_000_000_000

    def __init__(self) -> None:
        self.now_ns = 0
        self.sync()

    def __call__(self) -> int:
        return self.now_ns

    def sync(self) -> None:
        self.now_ns = time.time_ns() + self.AHEAD_NS


@contextlib.asynccontextmanager
async def sim_venues(**kwargs: Any) -> AsyncIterator[tuple[VenueSimServer, dict[str, str]]]:
    clock = kwargs.pop("clock", FrozenClock())
    server = VenueSimServer(
        CONFIG, start_ns=time.time_ns(), credentials=CREDENTIALS, clock_ns=clock, **kwargs
    )
    served = await server.start()
    try:
        yield server, {v.venue_id: v.url for v in served}
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def binance(url: str, api_key: str = KEY, secret: str = SECRET) -> AsyncIterator[Any]:
    ex = ccxt_async.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            "enableRateLimit": False,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }
    )
    ccxt_urls_for(url, ex)
    try:
        yield ex
    finally:
        await ex.close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def d(value: Any) -> Decimal:
    return Decimal(str(value))


def test_every_served_venue_gets_its_own_loopback_port():
    async def scenario() -> None:
        async with sim_venues() as (_, urls):
            assert sorted(urls) == sorted(
                v.id for v in CONFIG.venues if v.simulated and v.kind == "ccxt"
            )
            assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
            assert len(set(urls.values())) == len(urls)

    run(scenario)


def test_every_ccxt_url_points_at_the_simulator():
    ex = ccxt.binance()
    ccxt_urls_for("http://127.0.0.1:9/", ex)
    urls = list(ex.urls["api"].values())
    assert all(u.startswith("http://127.0.0.1:9/") for u in urls)
    assert "http://127.0.0.1:9/api/v3" in urls and "http://127.0.0.1:9/sapi/v1" in urls


def test_markets_match_the_config():
    async def scenario() -> None:
        async with sim_venues() as (_, urls):
            for venue in (v for v in CONFIG.venues if v.id in urls):
                async with binance(urls[venue.id]) as ex:
                    markets = await ex.load_markets()
                    for m in CONFIG.markets:
                        rules = venue.rules_for(m.symbol)
                        market = markets[m.symbol]
                        assert market["spot"] and market["active"]
                        assert d(market["precision"]["price"]) == rules.tick_size
                        assert d(market["precision"]["amount"]) == rules.lot_size
                        assert d(market["limits"]["amount"]["min"]) == rules.lot_size
                        assert d(market["limits"]["cost"]["min"]) == rules.min_notional

    run(scenario)


def test_trading_round_trip_reconciles_to_the_unit():
    async def scenario() -> None:
        clock = FrozenClock()
        async with sim_venues(clock=clock) as (server, urls), binance(urls[VENUE]) as ex:
            await ex.load_markets()
            book = await ex.fetch_order_book("BTC/USDT", 100)
            bids, asks, _ = server.exchange(VENUE).depth("BTC/USDT", clock(), 100)
            assert book["asks"] == [[float(lv.price), float(lv.amount)] for lv in asks]
            assert book["bids"][0][0] < book["asks"][0][0]
            assert len(book["bids"]) == len(bids) <= 100

            best_ask = book["asks"][0][0]
            ioc = await ex.create_order(
                "BTC/USDT",
                "limit",
                "buy",
                0.01,
                best_ask + 50,
                {"timeInForce": "IOC", "newClientOrderId": "mmabc-0"},
            )
            assert ioc["status"] == "closed" and ioc["clientOrderId"] == "mmabc-0"
            assert d(ioc["info"]["executedQty"]) == Decimal("0.01")
            fills = ioc["info"]["fills"]
            # Binance charges the received asset: a buy pays its commission in BTC
            assert fills and all(f["commissionAsset"] == "BTC" for f in fills)

            sold = await ex.create_order("BTC/USDT", "market", "sell", 0.01)
            assert sold["status"] == "closed" and sold["filled"] == pytest.approx(0.01)

            found = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "mmabc-0"})
            assert found["id"] == ioc["id"] and found["status"] == "closed"
            assert d(found["info"]["cummulativeQuoteQty"]) == sum(
                d(f["price"]) * d(f["qty"]) for f in fills
            )

            resting = await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.02, round(best_ask * 0.97, 2)
            )
            assert resting["status"] == "open"
            assert [o["id"] for o in await ex.fetch_open_orders("BTC/USDT")] == [resting["id"]]
            balance = await ex.fetch_balance()
            assert balance["USDT"]["used"] > 0
            canceled = await ex.cancel_order(resting["id"], "BTC/USDT")
            assert canceled["status"] == "canceled"
            assert await ex.fetch_open_orders("BTC/USDT") == []

            trades = await ex.fetch_my_trades("BTC/USDT")
            assert {t["order"] for t in trades} == {ioc["id"], sold["id"]}
            assert all(t["takerOrMaker"] == "taker" for t in trades)
            by_order = await ex.fetch_my_trades("BTC/USDT", params={"orderId": sold["id"]})
            assert {t["order"] for t in by_order} == {sold["id"]}

            expected = {a: Decimal(v) for a, v in _venue(VENUE).balances.items()}
            for t in trades:
                info = t["info"]
                qty, cost, fee = d(info["qty"]), d(info["quoteQty"]), d(info["commission"])
                assert cost == d(info["price"]) * qty
                sign = 1 if info["isBuyer"] else -1
                expected["BTC"] += sign * qty
                expected["USDT"] += -sign * cost
                expected[info["commissionAsset"]] -= fee
            final = await ex.fetch_balance()
            got = {b["asset"]: d(b["free"]) + d(b["locked"]) for b in final["info"]["balances"]}
            assert got == expected
            assert all(d(b["locked"]) == 0 for b in final["info"]["balances"])

    run(scenario)


def test_ioc_against_thin_liquidity_expires_partially_filled():
    async def scenario() -> None:
        async with sim_venues() as (_, urls), binance(urls[VENUE]) as ex:
            await ex.load_markets()
            asks = (await ex.fetch_order_book("BTC/USDT", 5))["asks"]
            available = d(asks[0][1]) + d(asks[1][1])
            order = await ex.create_order(
                "BTC/USDT", "limit", "buy", float(available + 1), asks[1][0], {"timeInForce": "IOC"}
            )
            assert order["status"] == "expired"
            assert d(order["info"]["executedQty"]) == available < d(order["info"]["origQty"])
            after = (await ex.fetch_order_book("BTC/USDT", 5))["asks"]
            assert after[0][0] > asks[1][0]  # what the IOC took stays taken

    run(scenario)


def _venue(venue_id: str):
    return next(v for v in CONFIG.venues if v.id == venue_id)


async def _bad_secret(url: str) -> None:
    async with binance(url, secret="not-the-secret") as ex:
        await ex.fetch_balance()


async def _bad_key(url: str) -> None:
    async with binance(url, api_key="nobody") as ex:
        await ex.fetch_balance()


async def _stale_timestamp(url: str) -> None:
    async with binance(url) as ex:
        ex.options["timeDifference"] = 60_000  # the client's clock a minute behind
        await ex.fetch_balance()


async def _insufficient_funds(url: str) -> None:
    async with binance(url) as ex:
        await ex.create_order("BTC/USDT", "market", "buy", 100)


async def _lot_size(url: str) -> None:
    async with binance(url) as ex:  # ccxt would round the amount: send the raw request
        await ex.private_post_order(
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.000015"}
        )


async def _price_filter(url: str) -> None:
    async with binance(url) as ex:
        await ex.private_post_order(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.01",
                "price": "60000.005",
            }
        )


async def _min_notional(url: str) -> None:
    async with binance(url) as ex:
        await ex.create_order("BTC/USDT", "limit", "buy", 0.00001, 60000)


async def _bad_symbol(url: str) -> None:
    async with binance(url) as ex:
        await ex.public_get_depth({"symbol": "XRPUSDT"})


async def _unknown_order(url: str) -> None:
    async with binance(url) as ex:
        await ex.fetch_order("987654", "BTC/USDT")


async def _cancel_unknown(url: str) -> None:
    async with binance(url) as ex:
        await ex.cancel_order("987654", "BTC/USDT")


async def _duplicate_id(url: str) -> None:
    """Binance refuses a newClientOrderId only while an order carrying it is open."""
    async with binance(url) as ex:
        params = {"newClientOrderId": "mm-dup-1"}
        bid = (await ex.fetch_order_book("BTC/USDT", 5))["bids"][0][0]
        await ex.create_order("BTC/USDT", "limit", "buy", 0.001, round(bid * 0.97, 2), params)
        await ex.create_order("BTC/USDT", "market", "buy", 0.001, None, params)


async def _missing_param(url: str) -> None:
    async with binance(url) as ex:
        await ex.private_post_order({"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01"})


@pytest.mark.parametrize(
    ("scenario", "error", "message"),
    [
        (_bad_secret, ccxt.AuthenticationError, "-1022"),
        (_bad_key, ccxt.AuthenticationError, "-2015"),
        (_stale_timestamp, ccxt.InvalidNonce, "-1021"),
        (_insufficient_funds, ccxt.InsufficientFunds, "insufficient balance"),
        (_lot_size, ccxt.InvalidOrder, "LOT_SIZE"),
        (_price_filter, ccxt.InvalidOrder, "PRICE_FILTER"),
        # Binance sends NOTIONAL as -1013 and ccxt maps that code to BadRequest
        (_min_notional, ccxt.BadRequest, "Filter failure: NOTIONAL"),
        (_bad_symbol, ccxt.BadSymbol, "-1121"),
        (_unknown_order, ccxt.OrderNotFound, "-2013"),
        (_cancel_unknown, ccxt.OrderNotFound, "-2011"),
        (_duplicate_id, ccxt.InvalidOrder, "Duplicate order sent."),
        (_missing_param, ccxt.BadRequest, "-1102"),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_venue_errors_reach_ccxt_as_its_own_exception_classes(scenario, error, message):
    async def go() -> None:
        async with sim_venues() as (_, urls):
            with pytest.raises(error) as caught:
                await scenario(urls[VENUE])
            assert message in str(caught.value)
            assert KEY not in str(caught.value) and SECRET not in str(caught.value)

    run(go)


def test_rate_limit_answers_429_with_retry_after_and_counts_weight():
    async def scenario() -> None:
        async with sim_venues(weight_limit_1m=40) as (_, urls):
            url = urls[VENUE]
            async with aiohttp.ClientSession() as http:
                async with http.get(url + "/api/v3/exchangeInfo") as resp:
                    assert resp.status == 200
                    assert resp.headers["X-MBX-USED-WEIGHT-1M"] == "20"
                async with http.get(url + "/api/v3/depth?symbol=BTCUSDT&limit=5") as resp:
                    assert resp.headers["X-MBX-USED-WEIGHT-1M"] == "25"
                async with http.get(url + "/api/v3/exchangeInfo") as resp:
                    assert resp.status == 429
                    assert (await resp.json())["code"] == -1003
                    assert 1 <= int(resp.headers["Retry-After"]) <= 60
                async with http.get(url + "/api/v3/nothing-here") as resp:
                    assert resp.status == 404
            async with binance(url) as ex:
                with pytest.raises(ccxt.DDoSProtection):  # ccxt's class for HTTP 429
                    await ex.public_get_exchangeinfo()

    run(scenario)


def test_signature_covers_query_and_form_body_as_binance_defines_it():
    async def scenario() -> None:
        clock = FrozenClock()
        async with sim_venues(clock=clock) as (_, urls):
            url = urls[VENUE] + "/api/v3/order"
            query = "symbol=BTCUSDT&side=BUY&type=MARKET"
            body = urlencode(
                {"quantity": "0.001", "timestamp": clock() // 1_000_000, "recvWindow": 5000}
            )
            signature = hmac.new(SECRET.encode(), (query + body).encode(), hashlib.sha256)
            headers = {
                "X-MBX-APIKEY": KEY,
                "Content-Type": "application/x-www-form-urlencoded",
            }
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    f"{url}?{query}",
                    data=f"{body}&signature={signature.hexdigest()}",
                    headers=headers,
                ) as resp:
                    assert resp.status == 200, await resp.text()
                    order = await resp.json()
                    assert order["status"] == "FILLED" and order["executedQty"] == "0.00100000"
                async with http.post(
                    f"{url}?{query}", data=f"{body}&signature={'0' * 64}", headers=headers
                ) as resp:
                    assert resp.status == 400 and (await resp.json())["code"] == -1022
                async with http.get(url + "?symbol=BTCUSDT&orderId=1") as resp:
                    assert resp.status == 401 and (await resp.json())["code"] == -2014

    run(scenario)


def test_serve_until_stopped_announces_each_venue_then_ready_and_stops_on_sigterm(capsys):
    async def scenario() -> None:
        task = asyncio.create_task(
            serve_until_stopped(
                CONFIG, host="127.0.0.1", port=0, start_ns=time.time_ns(), credentials=CREDENTIALS
            )
        )
        lines: list[str] = []
        for _ in range(200):
            await asyncio.sleep(0.01)
            lines += capsys.readouterr().out.splitlines()
            if "ready" in lines:
                break
        assert lines[-1] == "ready"
        venues = [line.split() for line in lines[:-1]]
        assert [v[0] for v in venues] == ["binance-sim", "okx-sim", "kraken-sim"]
        for _, url, dialect in venues:
            assert url.startswith("http://127.0.0.1:") and dialect == "dialect=binance"
            async with binance(url) as ex:
                assert (await ex.fetch_balance())["total"]["BTC"] == 5
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, timeout=10)

    run(scenario)


def test_serve_until_stopped_refuses_a_non_loopback_host():
    with pytest.raises(ValueError, match="allow-remote"):
        run(
            lambda: serve_until_stopped(
                CONFIG, host="0.0.0.0", port=0, start_ns=0, credentials=CREDENTIALS
            )
        )


def test_credentials_never_show_in_a_repr():
    assert KEY not in repr(CREDENTIALS) and SECRET not in repr(CREDENTIALS)
    server = VenueSimServer(CONFIG, start_ns=0, credentials=CREDENTIALS)
    assert KEY not in repr(server) and SECRET not in repr(server)


# --- 418 bans, seeded faults, wallet ----------------------------------------------------------


def faults_file(**fault: Any) -> FaultsFileConfig:
    return FaultsFileConfig(seed=11, venues={VENUE: FaultConfig(**fault)})


def test_repeated_429s_earn_an_ip_ban_answered_418_with_retry_after():
    async def scenario() -> None:
        async with sim_venues(weight_limit_1m=1) as (_, urls):
            url = urls[VENUE] + "/api/v3/time"
            async with aiohttp.ClientSession() as http:
                statuses = []
                for _ in range(8):
                    async with http.get(url) as resp:
                        statuses.append(resp.status)
                        last = resp
                        body = await resp.json()
                assert statuses == [200, 429, 429, 429, 429, 429, 418, 418]
                assert body["code"] == -1003 and "banned until" in body["msg"]
                assert int(last.headers["Retry-After"]) > 60
            async with binance(urls[VENUE]) as ex:
                with pytest.raises(ccxt.DDoSProtection, match="418"):
                    await ex.public_get_time()

    run(scenario)


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        ({"reject_rate": 1.0}, ccxt.InvalidOrder, "-2010"),
        ({"error_5xx_rate": 1.0}, ccxt.ExchangeNotAvailable, "50[023]"),
        ({"outages": [{"start_s": 0, "duration_s": 60}]}, ccxt.ExchangeNotAvailable, "503"),
        ({"rate_limit_rate": 1.0}, ccxt.DDoSProtection, "-1003"),
    ],
    ids=["reject", "5xx", "outage", "429"],
)
def test_injected_faults_reach_ccxt_as_its_own_exception_classes(fault, error, message):
    async def scenario() -> None:
        async with sim_venues(faults=faults_file(**fault)) as (_, urls), binance(urls[VENUE]) as ex:
            with pytest.raises(error, match=message):
                await ex.create_order("BTC/USDT", "market", "buy", 0.001)

    run(scenario)


def test_a_timeout_after_execution_leaves_an_order_the_client_never_heard_of():
    async def scenario() -> None:
        fault = faults_file(timeout_rate=1.0, timeout_after_execution_share=1.0, timeout_hang_s=1)
        clock = FrozenClock()
        async with sim_venues(faults=fault, clock=clock) as (server, urls):
            async with binance(urls[VENUE]) as ex:
                ex.timeout = 500  # ms
                with pytest.raises(ccxt.RequestTimeout):
                    await ex.private_post_order(
                        {
                            "symbol": "BTCUSDT",
                            "side": "BUY",
                            "type": "MARKET",
                            "quantity": "0.001",
                            "newClientOrderId": "mm-child-7",
                        }
                    )
            order = server.exchange(VENUE).order(
                KEY, "BTC/USDT", clock(), client_order_id="mm-child-7"
            )
            assert order.status.value == "FILLED" and order.executed_qty == Decimal("0.001")

    run(scenario)


def test_partial_fills_and_stale_books_as_injected():
    async def scenario() -> None:
        clock = FrozenClock()
        fault = faults_file(partial_fill_rate=1.0, stale_book_rate=1.0, stale_book_age_ms=3_000)
        async with (
            sim_venues(faults=fault, clock=clock) as (server, urls),
            binance(urls[VENUE]) as ex,
        ):
            await ex.load_markets()
            book = await ex.fetch_order_book("BTC/USDT", 5)
            _, old_asks, _ = server.exchange(VENUE).depth("BTC/USDT", clock() - 3 * 10**9, 5)
            _, now_asks, _ = server.exchange(VENUE).depth("BTC/USDT", clock(), 5)
            assert book["asks"] == [[float(lv.price), float(lv.amount)] for lv in old_asks]
            assert book["asks"] != [[float(lv.price), float(lv.amount)] for lv in now_asks]
            order = await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.01, now_asks[0].price * 2, {"timeInForce": "IOC"}
            )
            assert order["status"] == "expired"
            assert 0 < d(order["info"]["executedQty"]) < Decimal("0.01")

    run(scenario)


def test_the_same_fault_seed_gives_the_same_outcomes_over_http():
    async def outcomes() -> list[str]:
        fault = faults_file(reject_rate=0.3, partial_fill_rate=0.3, error_5xx_rate=0.1)
        out = []
        async with sim_venues(faults=fault) as (_, urls), binance(urls[VENUE]) as ex:
            for _ in range(10):  # market data has its own fault stream: retry its 5xx
                with contextlib.suppress(ccxt.ExchangeNotAvailable):
                    await ex.load_markets()
                    break
            for _ in range(30):
                try:
                    o = await ex.create_order("BTC/USDT", "market", "buy", 0.001)
                    out.append(f"{o['status']}:{o['info']['executedQty']}")
                except ccxt.BaseError as exc:
                    out.append(type(exc).__name__)
        return out

    async def scenario() -> None:
        first = await outcomes()
        assert await outcomes() == first
        assert {"InvalidOrder", "ExchangeNotAvailable", "closed:0.00100000"} <= set(first)
        assert any(o.startswith("expired:") for o in first)

    run(scenario)


def test_withdrawals_travel_between_venues_and_arrive_after_the_delay():
    async def scenario() -> None:
        clock = FrozenClock()
        config = CONFIG.model_copy(
            update={
                "venues": [v.model_copy(update={"transfer_delay_s": 2.0}) for v in CONFIG.venues]
            }
        )
        server = VenueSimServer(
            config, start_ns=time.time_ns(), credentials=CREDENTIALS, clock_ns=clock
        )
        urls = {v.venue_id: v.url for v in await server.start()}
        try:
            async with binance(urls[VENUE]) as src, binance(urls["okx-sim"]) as dst:
                await src.load_markets()
                await dst.load_markets()
                address = (await dst.fetch_deposit_address("BTC"))["address"]
                sent = await src.withdraw("BTC", 0.12345678, address)
                assert (await src.fetch_balance())["total"]["BTC"] == pytest.approx(4.87654322)
                [pending] = await dst.fetch_deposits("BTC")
                assert pending["status"] == "pending" and pending["amount"] == 0.12345678
                [leaving] = await src.fetch_withdrawals("BTC")
                assert leaving["id"] == sent["id"] and leaving["status"] == "pending"
                assert server.transfers.in_transit("okx-sim") == {"BTC": Decimal("0.12345678")}
                assert (await dst.fetch_balance())["total"]["BTC"] == 5

                clock.now_ns += 2 * 10**9
                assert (await dst.fetch_balance())["total"]["BTC"] == pytest.approx(5.12345678)
                assert (await dst.fetch_deposits("BTC"))[0]["status"] == "ok"
                assert (await src.fetch_withdrawals("BTC"))[0]["status"] == "ok"
            totals = [server.exchange(v).balances(KEY)["BTC"][0] for v in (VENUE, "okx-sim")]
            assert sum(totals) == Decimal(10)  # exact: nothing created, nothing lost
        finally:
            await server.stop()

    run(scenario)


def test_ccxts_market_data_history_and_cancel_all_calls_are_served():
    """The unified calls a ccxt bot makes beyond the hedging path (issue 16): ticker,
    candles, public trades (ccxt reads aggTrades), all orders, cancel-all."""

    async def scenario() -> None:
        async with sim_venues() as (_, urls), binance(urls[VENUE]) as ex:
            await ex.load_markets()
            ticker = await ex.fetch_ticker("BTC/USDT")
            assert ticker["bid"] < ticker["ask"] and ticker["last"] > 0
            candles = await ex.fetch_ohlcv("BTC/USDT", "1m", limit=5)
            assert len(candles) == 5 and all(c[3] <= c[1] <= c[2] for c in candles)
            bought = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
            trades = await ex.fetch_trades("BTC/USDT")
            assert trades and sum(t["amount"] for t in trades) == pytest.approx(0.01)
            bid = (await ex.fetch_order_book("BTC/USDT", 5))["bids"][0][0]
            resting = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, round(bid * 0.97, 2))
            await ex.cancel_all_orders("BTC/USDT")
            orders = {o["id"]: o["status"] for o in await ex.fetch_orders("BTC/USDT")}
            assert orders == {bought["id"]: "closed", resting["id"]: "canceled"}

    run(scenario)
