"""The simulated home venue as the unmodified ccxt hollaex client sees it.

The config is configs/local.yaml with the home venue declared `kind: ccxt,
exchange: hollaex, url: sim`, so venue-sim serves it in the HollaEx v2
dialect over a real matching engine. The synthetic takers are run by hand
(`run_takers=False`, `server.run_takers()`) and the venues' clock is frozen, so
every test sees exactly the book its own orders made.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest
import yaml

from engine.config import AppConfig, FaultConfig, FaultsFileConfig, parse_config
from engine.sim.server import SimCredentials, VenueSimServer, ccxt_urls_for

LOCAL = Path(__file__).parents[2] / "configs" / "local.yaml"
KEY, SECRET = "home-key-0123", "home-secret-4567"
KEY2, SECRET2 = "other-key-89", "other-secret-01"
HOME = "home"
pytestmark = pytest.mark.timeout(60)


def hollaex_config() -> AppConfig:
    data = yaml.safe_load(LOCAL.read_text())
    home = next(v for v in data["venues"] if v["id"] == HOME)
    home.update(kind="ccxt", exchange="hollaex", url="sim", api_key=KEY2, api_secret=SECRET2)
    return parse_config(data, "hollaex-home")


CONFIG = hollaex_config()
START = {a: Decimal(str(v)) for a, v in CONFIG.home_venue.balances.items()}


class FrozenClock:
    """The venues' clock, `ahead_s` ahead of the wall.

    ccxt signs with api-expires = wall + 10 s, which passes while the venue's clock
    is before that and no more than 300 s behind it.
    """

    def __init__(self, ahead_s: float = 5.0) -> None:
        self.now_ns = time.time_ns() + int(ahead_s * 1e9)

    def __call__(self) -> int:
        return self.now_ns


@contextlib.asynccontextmanager
async def home_venue(**kwargs: Any) -> AsyncIterator[tuple[VenueSimServer, str]]:
    server = VenueSimServer(
        CONFIG,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        clock_ns=kwargs.pop("clock", FrozenClock()),
        run_takers=False,
        **kwargs,
    )
    served = {v.venue_id: v for v in await server.start()}
    try:
        assert served[HOME].dialect == "hollaex"
        yield server, served[HOME].url
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def hollaex(url: str, api_key: str = KEY, secret: str = SECRET) -> AsyncIterator[Any]:
    ex = ccxt_async.hollaex({"apiKey": api_key, "secret": secret, "enableRateLimit": False})
    ccxt_urls_for(url, ex)
    try:
        yield ex
    finally:
        await ex.close()


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def d(value: Any) -> Decimal:
    return Decimal(str(value))


def test_markets_and_currencies_match_the_config():
    async def scenario() -> None:
        async with home_venue() as (_, url), hollaex(url) as ex:
            markets = await ex.load_markets()
            for m in CONFIG.markets:
                rules = CONFIG.home_venue.rules_for(m.symbol)
                market = markets[m.symbol]
                assert (
                    market["spot"]
                    and market["active"]
                    and market["id"] == m.symbol.replace("/", "-").lower()
                )
                assert d(market["precision"]["price"]) == rules.tick_size
                assert d(market["precision"]["amount"]) == rules.lot_size
                assert d(market["limits"]["amount"]["min"]) == rules.lot_size
            assert {"BTC", "ETH", "SOL", "USDT"} <= set(ex.currencies)

    run(scenario)


def test_quotes_rest_on_a_real_book_and_trade_between_accounts_to_the_unit():
    async def scenario() -> None:
        async with (
            home_venue() as (_, url),
            hollaex(url) as bot,
            hollaex(url, KEY2, SECRET2) as user,
        ):
            bid = await bot.create_order(
                "BTC/USDT", "limit", "buy", 0.5, 64_000, {"postOnly": True}
            )
            ask = await bot.create_order(
                "BTC/USDT", "limit", "sell", 0.4, 66_000, {"meta": {"note": "mm-q-2"}}
            )
            assert bid["status"] == "open" and bid["postOnly"]
            book = await user.fetch_order_book("BTC/USDT")
            assert book["bids"] == [[64_000.0, 0.5]] and book["asks"] == [[66_000.0, 0.4]]
            assert {o["id"] for o in await bot.fetch_open_orders("BTC/USDT")} == {
                bid["id"],
                ask["id"],
            }
            balance = await bot.fetch_balance()
            assert d(balance["BTC"]["used"]) == Decimal("0.4")

            bought = await user.create_order("BTC/USDT", "market", "buy", 0.1)
            assert bought["status"] == "closed" and d(bought["filled"]) == Decimal("0.1")
            crossed = await user.create_order("BTC/USDT", "limit", "sell", 0.2, 63_000)
            assert crossed["status"] == "closed" and crossed["price"] == 63_000
            assert (await bot.fetch_order(ask["id"]))["status"] == "open"
            assert d((await bot.fetch_order(ask["id"]))["filled"]) == Decimal("0.1")
            canceled = await bot.cancel_order(bid["id"])
            assert canceled["status"] == "canceled" and d(canceled["filled"]) == Decimal("0.2")

            trades = await bot.fetch_my_trades("BTC/USDT")
            assert sorted(t["order"] for t in trades) == sorted([ask["id"], bid["id"]])
            expected = dict(START)
            for t in trades:
                sign = 1 if t["side"] == "buy" else -1
                expected["BTC"] += sign * d(t["amount"])
                expected["USDT"] -= sign * d(t["price"]) * d(t["amount"]) + d(t["fee"]["cost"])
            final = (await bot.fetch_balance())["total"]
            assert d(final["BTC"]) == expected["BTC"]  # total: the ask's locked rest included
            assert d(final["USDT"]) == expected["USDT"]

    run(scenario)


def test_an_order_is_found_again_by_its_note_after_a_lost_answer():
    async def scenario() -> None:
        async with home_venue() as (_, url), hollaex(url) as ex:
            await ex.create_order(
                "ETH/USDT", "limit", "buy", 1, 3_000, {"meta": {"note": "mm-child-42"}}
            )
            orders = await ex.fetch_orders("ETH/USDT")
            [found] = [o for o in orders if o["info"]["meta"].get("note") == "mm-child-42"]
            assert found["status"] == "open" and found["amount"] == 1

    run(scenario)


def test_synthetic_takers_fill_the_resting_quotes():
    async def scenario() -> None:
        clock = FrozenClock(ahead_s=-55)  # a minute of takers later, still 5 s ahead
        async with home_venue(clock=clock) as (server, url), hollaex(url) as ex:
            await ex.create_order("SOL/USDT", "limit", "buy", 50, 140)
            await ex.create_order("SOL/USDT", "limit", "sell", 50, 160)
            server.run_takers()
            clock.now_ns += 60 * 10**9
            assert server.run_takers() > 0
            trades = await ex.fetch_my_trades("SOL/USDT")
            assert trades and {t["side"] for t in trades} <= {"buy", "sell"}
            filled = sum(d(o["filled"]) for o in await ex.fetch_orders("SOL/USDT"))
            assert filled == sum(d(t["amount"]) for t in trades)

    run(scenario)


async def _bad_secret(ex: Any, url: str) -> None:
    async with hollaex(url, secret="not-the-secret") as bad:
        await bad.fetch_balance()


async def _bad_key(ex: Any, url: str) -> None:
    async with hollaex(url, api_key="nobody") as bad:
        await bad.fetch_balance()


async def _expired(ex: Any, url: str) -> None:
    ex.options["api-expires"] = -60
    await ex.fetch_balance()


async def _insufficient(ex: Any, url: str) -> None:
    await ex.create_order("BTC/USDT", "limit", "buy", 100, 65_000)


async def _unknown_order(ex: Any, url: str) -> None:
    await ex.fetch_order("00000000-0000-0000-0000-000000000000")


async def _cancel_unknown(ex: Any, url: str) -> None:
    await ex.cancel_order("00000000-0000-0000-0000-000000000000")


async def _bad_symbol(ex: Any, url: str) -> None:
    await ex.public_get_orderbook({"symbol": "xrp-usdt"})


async def _off_lot(ex: Any, url: str) -> None:  # ccxt would round: send the raw request
    await ex.private_post_order(
        {"symbol": "btc-usdt", "side": "buy", "size": "0.000015", "type": "limit", "price": "1"}
    )


async def _post_only_cross(ex: Any, url: str) -> None:
    await ex.create_order("BTC/USDT", "limit", "sell", 0.1, 66_000)
    await ex.create_order("BTC/USDT", "limit", "buy", 0.1, 66_000, {"postOnly": True})


@pytest.mark.parametrize(
    ("scenario", "error", "message"),
    [
        (_bad_secret, ccxt.AuthenticationError, "Invalid API signature"),
        (_bad_key, ccxt.AuthenticationError, "Invalid API key"),
        (_expired, ccxt.InvalidNonce, "API request is expired"),
        (_insufficient, ccxt.InsufficientFunds, "Insufficient balance"),
        (_unknown_order, ccxt.OrderNotFound, "Order not found"),
        (_cancel_unknown, ccxt.OrderNotFound, "Order not found"),
        (_bad_symbol, ccxt.BadRequest, "Invalid symbol"),
        (_off_lot, ccxt.BadRequest, "Filter failure"),
        # HollaEx's own text; ccxt's broad key for it says "self order" and never matches
        (_post_only_cross, ccxt.BadRequest, "post only order"),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_venue_errors_reach_ccxt_as_its_own_exception_classes(scenario, error, message):
    async def go() -> None:
        async with home_venue() as (_, url), hollaex(url) as ex:
            await ex.load_markets()
            with pytest.raises(error, match=message) as caught:
                await scenario(ex, url)
            assert KEY not in str(caught.value) and SECRET not in str(caught.value)

    run(go)


async def _public(ex: Any) -> None:
    await ex.public_get_constants()


async def _market_order(ex: Any) -> None:
    await ex.private_post_order(
        {"symbol": "btc-usdt", "side": "buy", "size": "1", "type": "market"}
    )


@pytest.mark.parametrize(
    ("fault", "call", "error"),
    [
        ({"error_5xx_rate": 1.0}, _public, ccxt.NetworkError),
        ({"rate_limit_rate": 1.0}, _public, ccxt.BadRequest),  # ccxt.hollaex: 429 is BadRequest
        ({"reject_rate": 1.0}, _market_order, ccxt.BadRequest),
    ],
    ids=["5xx", "429", "reject"],
)
def test_injected_faults_reach_ccxt_hollaex(fault, call, error):
    async def go() -> None:
        faults = FaultsFileConfig(seed=5, venues={HOME: FaultConfig(**fault)})
        async with home_venue(faults=faults) as (_, url), hollaex(url) as ex:
            with pytest.raises(error):
                await call(ex)

    run(go)


def test_a_home_venue_is_served_only_in_the_hollaex_dialect():
    data = yaml.safe_load(LOCAL.read_text())
    home = next(v for v in data["venues"] if v["id"] == HOME)
    home.update(kind="ccxt", exchange="binance", url="sim")
    # judged when the config is read (issue 15), before any simulator starts
    with pytest.raises(ValueError, match="serves a home venue as 'hollaex' only"):
        VenueSimServer(
            parse_config(data, "binance-home"),
            start_ns=0,
            credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        )
