"""One venue contract, run against both simulated dialects through unmodified ccxt.

The same parametrized tests run against the Binance spot v3 hedge venue
(`binance-sim`) and the HollaEx home venue (`home`, `kind: ccxt, exchange:
hollaex, url: sim`), both served in-process by `VenueSimServer` on free loopback
ports. Each test talks through the unmodified ccxt async client AND through
`CcxtVenue`, so what the router relies on (markets, books, orders, balances,
the error tree) is pinned for both. Where a dialect lacks a capability
(HollaEx: no client order id, no time in force) the test is skipped with the
reason; the adapter's answer to it (no resend after an unknown outcome, IOC
emulated by cancelling the rest) is tested instead.

Every listed Binance error code is checked twice: the ccxt exception class the
unmodified client raises, and the `engine.venues.errors` class it maps to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async
import pytest
import yaml
from pydantic import SecretStr

from engine.config import AppConfig, FaultConfig, FaultsFileConfig, VenueConfig, parse_config
from engine.sim.server import SimCredentials, VenueSimServer, ccxt_urls_for
from engine.types import ChildOrder, MarketSpec, Side
from engine.venues import errors as ours
from engine.venues.ccxt_venue import CcxtVenue
from engine.venues.errors import classify, parse_retry_after
from engine.venues.paper import PaperVenue

LOCAL = Path(__file__).parents[2] / "configs" / "local.yaml"
KEY, SECRET = "contract-key-01", "contract-secret-23"
LP_KEY, LP_SECRET = "lp-key-45", "lp-secret-67"  # a second account that makes the home book
SYMBOL = "BTC/USDT"
pytestmark = pytest.mark.timeout(60)


def contract_config() -> AppConfig:
    data = yaml.safe_load(LOCAL.read_text())
    home = next(v for v in data["venues"] if v["id"] == "home")
    home.update(kind="ccxt", exchange="hollaex", url="sim", api_key=LP_KEY, api_secret=LP_SECRET)
    return parse_config(data, "contract")


CONFIG = contract_config()


@dataclass(frozen=True)
class Dialect:
    venue_id: str
    exchange: str
    client_order_id: bool  # the venue finds an order by our client id
    time_in_force: bool  # the venue honours IOC itself

    @property
    def venue(self) -> VenueConfig:
        return next(v for v in CONFIG.venues if v.id == self.venue_id)


BINANCE = Dialect("binance-sim", "binance", client_order_id=True, time_in_force=True)
HOLLAEX = Dialect("home", "hollaex", client_order_id=False, time_in_force=False)


@pytest.fixture(params=[BINANCE, HOLLAEX], ids=["binance", "hollaex"])
def dialect(request: pytest.FixtureRequest) -> Dialect:
    return request.param


@dataclass
class Harness:
    dialect: Dialect
    server: VenueSimServer
    url: str
    ex: Any  # the unmodified ccxt client, our account
    venue: CcxtVenue  # the adapter, same account

    def start_balance(self, asset: str) -> Decimal:
        return Decimal(str(self.dialect.venue.balances[asset]))


def client(dialect: Dialect, url: str, key: str = KEY, secret: str = SECRET) -> Any:
    options: dict[str, Any] = {"fetchCurrencies": False}
    if dialect.exchange == "binance":
        options["fetchMarkets"] = {"types": ["spot"]}
    ex = getattr(ccxt_async, dialect.exchange)(
        {"apiKey": key, "secret": secret, "enableRateLimit": False, "options": options}
    )
    ccxt_urls_for(url, ex)
    return ex


@contextlib.asynccontextmanager
async def harness(
    dialect: Dialect, *, seed_book: bool = True, **server_kwargs: Any
) -> AsyncIterator[Harness]:
    server = VenueSimServer(
        CONFIG,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        run_takers=False,
        **server_kwargs,
    )
    url = {v.venue_id: v.url for v in await server.start()}[dialect.venue_id]
    ex = client(dialect, url)
    venue = CcxtVenue(
        dialect.venue_id,
        dialect.exchange,
        [SYMBOL],
        api_key=KEY,
        api_secret=SECRET,
        base_url=url,
    )
    try:
        if dialect is HOLLAEX and seed_book:  # the home book is made by its users: make one
            async with contextlib.AsyncExitStack() as stack:
                lp = client(dialect, url, LP_KEY, LP_SECRET)
                stack.push_async_callback(lp.close)
                for i in range(1, 4):
                    await lp.create_order(SYMBOL, "limit", "buy", 0.5, 64_900 - 100 * i)
                    await lp.create_order(SYMBOL, "limit", "sell", 0.5, 65_000 + 100 * i)
        yield Harness(dialect, server, url, ex, venue)
    finally:
        await ex.close()
        await venue.close()
        await server.stop()


@contextlib.asynccontextmanager
async def harness_markets(dialect: Dialect) -> AsyncIterator[dict[str, Any]]:
    """The markets a healthy instance of the dialect serves (for a venue that always hangs)."""
    async with harness(dialect, seed_book=False) as h:
        yield await h.ex.load_markets()


def run(dialect: Dialect, scenario: Callable[[Harness], Awaitable[None]], **kw: Any) -> None:
    async def go() -> None:
        async with harness(dialect, **kw) as h:
            await scenario(h)

    asyncio.run(go())


def d(value: Any) -> Decimal:
    return Decimal(str(value))


# --- the contract: the same tests for both dialects ------------------------------------------


def test_load_markets_gives_the_configured_grid(dialect):
    async def scenario(h: Harness) -> None:
        markets = await h.ex.load_markets()
        rules = dialect.venue.rules_for(SYMBOL)
        market = markets[SYMBOL]
        assert market["spot"] and market["active"]
        assert d(market["precision"]["price"]) == rules.tick_size
        assert d(market["precision"]["amount"]) == rules.lot_size
        spec = (await h.venue.start())[SYMBOL]
        assert (spec.tick_size, spec.lot_size) == (rules.tick_size, rules.lot_size)
        assert spec.min_amount == rules.lot_size

    run(dialect, scenario)


def test_order_book_is_sorted_and_uncrossed(dialect):
    async def scenario(h: Harness) -> None:
        book = await h.ex.fetch_order_book(SYMBOL)
        bids, asks = [p for p, *_ in book["bids"]], [p for p, *_ in book["asks"]]
        assert bids and asks and bids[0] < asks[0]
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        await h.venue.start()
        snap = await h.venue.fetch_book(SYMBOL, 20, now_ns=123)
        assert snap.ts_ns == 123 and snap.bids[0][0] < snap.asks[0][0]

    run(dialect, scenario)


def test_market_order_fills_and_moves_the_balance_exactly(dialect):
    async def scenario(h: Harness) -> None:
        await h.ex.load_markets()
        order = await h.ex.create_order(SYMBOL, "market", "buy", 0.01)
        assert order["status"] == "closed" and d(order["filled"]) == Decimal("0.01")
        # the venue charges its fee in the asset a fill receives (Binance, HollaEx): BTC
        fee_btc = sum(
            (d(f["cost"]) for f in order.get("fees") or [] if f and f.get("currency") == "BTC"),
            Decimal(0),
        )
        info = order["info"]
        if not order.get("fees") and str(info.get("fee_coin", "")).upper() == "BTC":
            fee_btc = d(info["fee"])  # ccxt's hollaex leaves an order's fee in `info`
        balance = await h.ex.fetch_balance()
        assert d(balance["total"]["BTC"]) == h.start_balance("BTC") + Decimal("0.01") - fee_btc
        assert d(balance["total"]["USDT"]) < h.start_balance("USDT")

    run(dialect, scenario)


def test_ioc_limit_order_executes_what_crosses_and_never_rests(dialect):
    if not dialect.time_in_force:
        pytest.skip("HollaEx has no time in force: limit orders rest (CcxtVenue emulates IOC)")

    async def scenario(h: Harness) -> None:
        await h.ex.load_markets()
        asks = (await h.ex.fetch_order_book(SYMBOL, 5))["asks"]
        # 20 bps of room: the venue's book refreshes every 100 ms, and a refresh between
        # the read and the order had left an IOC at the touch read nothing to cross
        order = await h.ex.create_order(
            SYMBOL, "limit", "buy", 0.01, asks[0][0] * 1.002, {"timeInForce": "IOC"}
        )
        assert order["status"] in ("closed", "expired") and d(order["filled"]) > 0
        assert await h.ex.fetch_open_orders(SYMBOL) == []

    run(dialect, scenario)


def test_a_child_order_through_ccxt_venue_is_ioc_on_every_dialect(dialect):
    async def scenario(h: Harness) -> None:
        await h.venue.start()
        book = await h.venue.fetch_book(SYMBOL, 5, 0)
        best_ask, ask_size = book.asks[0]
        child = ChildOrder(
            "h1", "mm-h1-0", dialect.venue_id, SYMBOL, Side.BUY, ask_size + 0.2, best_ask
        )
        result = await h.venue.execute(child)
        assert result.status == "partial", result.reason
        assert result.filled == d(ask_size)  # the best level only: the limit stops it
        assert await h.ex.fetch_open_orders(SYMBOL) == []  # nothing left live
        balances = await h.venue.fetch_balances()
        fee_usdt = sum((e.fee for e in result.executions if e.fee_currency == "USDT"), Decimal(0))
        fee_btc = sum((e.fee for e in result.executions if e.fee_currency == "BTC"), Decimal(0))
        cost = sum((e.cost for e in result.executions), Decimal(0))
        assert balances["BTC"] == h.start_balance("BTC") + result.filled - fee_btc
        assert balances["USDT"] == h.start_balance("USDT") - cost - fee_usdt

    frozen = time.time_ns() + 3_000_000_000  # the book must not refresh between read and order
    run(dialect, scenario, clock_ns=lambda: frozen)


def test_cancel_removes_a_resting_order(dialect):
    async def scenario(h: Harness) -> None:
        await h.ex.load_markets()
        bid = (await h.ex.fetch_order_book(SYMBOL, 5))["bids"][0][0]
        resting = await h.ex.create_order(SYMBOL, "limit", "buy", 0.01, round(bid * 0.95, 1))
        assert resting["status"] == "open"
        assert [o["id"] for o in await h.ex.fetch_open_orders(SYMBOL)] == [resting["id"]]
        canceled = await h.ex.cancel_order(resting["id"], SYMBOL)
        assert canceled["status"] == "canceled"
        assert await h.ex.fetch_open_orders(SYMBOL) == []
        balance = await h.ex.fetch_balance()
        assert d(balance["total"]["USDT"]) == h.start_balance("USDT")

    run(dialect, scenario)


def test_fetch_order_by_client_order_id(dialect):
    if not dialect.client_order_id:
        pytest.skip("HollaEx has no client order id: an unknown outcome is never resent")

    async def scenario(h: Harness) -> None:
        await h.ex.load_markets()
        sent = await h.ex.create_order(
            SYMBOL, "market", "buy", 0.01, None, {"newClientOrderId": "mm-find-me"}
        )
        found = await h.ex.fetch_order(None, SYMBOL, {"origClientOrderId": "mm-find-me"})
        assert found["id"] == sent["id"] and found["clientOrderId"] == "mm-find-me"

    run(dialect, scenario)


def test_without_client_ids_an_unknown_outcome_is_reported_not_resent(dialect):
    if dialect.client_order_id:
        pytest.skip("this venue is asked by client id (test_fetch_order_by_client_order_id)")

    async def scenario(h: Harness) -> None:
        # every request hangs: give the adapter the markets a healthy venue serves, then send
        async with harness_markets(dialect) as markets:
            h.venue.client.set_markets(markets)
        rules = dialect.venue.rules_for(SYMBOL)
        h.venue.specs = {
            SYMBOL: MarketSpec(
                SYMBOL, rules.tick_size, rules.lot_size, rules.lot_size, rules.min_notional
            )
        }
        h.venue.client.timeout = 300  # ms; the venue executes, then hangs 1 s
        child = ChildOrder("h9", "mm-h9-0", dialect.venue_id, SYMBOL, Side.BUY, 0.01, 64_000.0)
        result = await h.venue.execute(child)
        assert result.status == "unknown" and "look-up unsupported" in result.reason
        orders = h.server.home(dialect.venue_id).orders(KEY, SYMBOL)
        assert len(orders) == 1  # sent once, never resent: the operator sees exactly one order

    hang = FaultConfig(timeout_rate=1.0, timeout_after_execution_share=1.0, timeout_hang_s=1.0)
    faults = FaultsFileConfig(seed=1, venues={dialect.venue_id: hang})
    run(dialect, scenario, seed_book=False, faults=faults)


def test_balances_match_the_configured_account(dialect):
    async def scenario(h: Harness) -> None:
        balance = await h.ex.fetch_balance()
        for asset in ("BTC", "USDT"):
            assert d(balance["total"][asset]) == h.start_balance(asset)
        ours_ = await h.venue.fetch_balances()
        assert ours_["BTC"] == h.start_balance("BTC")
        assert ours_["USDT"] == h.start_balance("USDT")

    run(dialect, scenario)


# --- error codes: ccxt's exception and ours ---------------------------------------------------


async def _bad_signature(h: Harness) -> None:
    async with contextlib.AsyncExitStack() as stack:
        ex = client(h.dialect, h.url, KEY, "not-the-secret")
        stack.push_async_callback(ex.close)
        await ex.fetch_balance()


async def _bad_key(h: Harness) -> None:
    async with contextlib.AsyncExitStack() as stack:
        ex = client(h.dialect, h.url, "nobody", SECRET)
        stack.push_async_callback(ex.close)
        await ex.fetch_balance()


async def _insufficient(h: Harness) -> None:
    await h.ex.load_markets()
    await h.ex.create_order(SYMBOL, "limit", "buy", 100, 65_000)  # 6.5M USDT: more than held


async def _unknown_order(h: Harness) -> None:
    await h.ex.load_markets()
    await h.ex.fetch_order("987654", SYMBOL)


async def _cancel_unknown(h: Harness) -> None:
    await h.ex.load_markets()
    await h.ex.cancel_order("987654", SYMBOL)


async def _lot_size(h: Harness) -> None:
    await h.ex.private_post_order(
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.000015"}
    )


async def _min_notional(h: Harness) -> None:
    await h.ex.load_markets()
    await h.ex.create_order(SYMBOL, "limit", "buy", 0.00001, 60000)


async def _stale_timestamp(h: Harness) -> None:
    h.ex.options["timeDifference"] = 60_000  # the client's clock a minute behind
    await h.ex.fetch_balance()


async def _bad_symbol(h: Harness) -> None:
    await h.ex.public_get_depth({"symbol": "XRPUSDT"})


async def _duplicate_id(h: Harness) -> None:
    """Binance refuses a newClientOrderId only while an order carrying it is open."""
    await h.ex.load_markets()
    params = {"newClientOrderId": "mm-dup-1"}
    bid = (await h.ex.fetch_order_book(SYMBOL, 5))["bids"][0][0]
    await h.ex.create_order(SYMBOL, "limit", "buy", 0.001, round(bid * 0.97, 1), params)
    await h.ex.create_order(SYMBOL, "market", "buy", 0.001, None, params)


async def _weight_429(h: Harness) -> None:
    for _ in range(5):
        await h.ex.public_get_exchangeinfo()


async def _ban_418(h: Harness) -> None:
    for _ in range(12):  # keep calling through the 429s until the venue bans us
        try:
            await h.ex.public_get_time()
        except ccxt.DDoSProtection as exc:
            if " 429 " not in str(exc):
                raise


BINANCE_CODES = [
    # (scenario, code in the venue's answer, ccxt class, our class, sim kwargs)
    (_bad_signature, "-1022", ccxt.AuthenticationError, ours.AuthenticationFailed, {}),
    (_insufficient, "-2010", ccxt.InsufficientFunds, ours.InsufficientFunds, {}),
    (_cancel_unknown, "-2011", ccxt.OrderNotFound, ours.OrderNotFound, {}),
    (_unknown_order, "-2013", ccxt.OrderNotFound, ours.OrderNotFound, {}),
    (_lot_size, "-1013", ccxt.InvalidOrder, ours.InvalidOrder, {}),
    (_min_notional, "-1013", ccxt.BadRequest, ours.InvalidOrder, {}),
    (_bad_key, "-2015", ccxt.AuthenticationError, ours.AuthenticationFailed, {}),
    (_stale_timestamp, "-1021", ccxt.InvalidNonce, ours.VenueRetryable, {}),
    (_weight_429, "-1003", ccxt.DDoSProtection, ours.RateLimited, {"weight_limit_1m": 40}),
    (_ban_418, "418", ccxt.DDoSProtection, ours.Banned, {"weight_limit_1m": 1}),
    (_bad_symbol, "-1121", ccxt.BadSymbol, ours.BadSymbol, {}),
    (_duplicate_id, "Duplicate order sent", ccxt.InvalidOrder, ours.DuplicateClientOrderId, {}),
]


@pytest.mark.parametrize(
    ("scenario", "code", "ccxt_error", "our_error", "sim"),
    BINANCE_CODES,
    ids=[s.__name__.strip("_") for s, *_ in BINANCE_CODES],
)
def test_binance_error_codes_map_to_ccxt_and_to_our_tree(
    scenario, code, ccxt_error, our_error, sim
):
    async def go(h: Harness) -> None:
        with pytest.raises(ccxt_error) as caught:
            await scenario(h)
        answer = f"{caught.value} {h.ex.last_http_response}"  # ccxt's text, the venue's body
        assert code in answer
        headers = h.ex.last_response_headers
        err = classify(
            caught.value, h.dialect.venue_id, "op", retry_after_s=parse_retry_after(headers)
        )
        assert type(err) is our_error, err
        assert KEY not in str(err) and SECRET not in str(err)
        if isinstance(err, ours.RateLimited):  # Retry-After travels into our error
            assert err.retry_after_s is not None and err.retry_after_s >= 1
            if isinstance(err, ours.Banned):
                assert err.retry_after_s > 60

    run(BINANCE, go, **sim)


HOLLAEX_ERRORS = [
    (_bad_signature, ccxt.AuthenticationError, ours.AuthenticationFailed),
    (_bad_key, ccxt.AuthenticationError, ours.AuthenticationFailed),
    (_insufficient, ccxt.InsufficientFunds, ours.InsufficientFunds),
    (_unknown_order, ccxt.OrderNotFound, ours.OrderNotFound),
    (_cancel_unknown, ccxt.OrderNotFound, ours.OrderNotFound),
]


@pytest.mark.parametrize(
    ("scenario", "ccxt_error", "our_error"),
    HOLLAEX_ERRORS,
    ids=[s.__name__.strip("_") for s, *_ in HOLLAEX_ERRORS],
)
def test_hollaex_errors_map_to_ccxt_and_to_our_tree(scenario, ccxt_error, our_error):
    async def go(h: Harness) -> None:
        with pytest.raises(ccxt_error) as caught:
            await scenario(h)
        assert type(classify(caught.value, "home", "op")) is our_error

    run(HOLLAEX, go)


def test_a_429_pauses_the_whole_venue_for_its_retry_after():
    """Through CcxtVenue: the book poll that meets a 429 pauses the balance poll too."""

    async def go(h: Harness) -> None:
        await h.venue.start()
        async with aiohttp.ClientSession() as http:  # someone else spends the minute's weight
            for _ in range(400):
                async with http.get(h.url + "/api/v3/exchangeInfo") as resp:
                    if resp.status == 429:
                        break
        h.venue.client.apiKey = ""  # public calls from here on are charged by address
        with pytest.raises(ours.RateLimited) as caught:
            await h.venue.fetch_book(SYMBOL, 5, 0)
        assert caught.value.retry_after_s is not None and caught.value.retry_after_s >= 1
        assert h.venue.budget.stats.pauses == 1
        h.venue._max_wait_s = 0.0
        with pytest.raises(ours.RateLimited, match="not sent"):
            await h.venue.fetch_book(SYMBOL, 5, 0)  # refused locally: the venue is paused

    run(BINANCE, go, weight_limit_1m=2_000)


# --- paper mode: live books, local orders ------------------------------------------------------


def test_paper_mode_walks_the_live_book_and_the_venue_sees_no_order(dialect):
    async def scenario(h: Harness) -> None:
        live = CcxtVenue(dialect.venue_id, dialect.exchange, [SYMBOL], base_url=h.url)  # no key
        paper = PaperVenue(
            live, taker_fee=0.001, balances={"BTC": Decimal("1"), "USDT": Decimal("100000")}
        )
        try:
            await paper.start()
            book = await paper.fetch_book(SYMBOL, 5, 0)
            low = book.bids[0][0] / 2
            too_big = ChildOrder("h3", "mm-p-2", dialect.venue_id, SYMBOL, Side.SELL, 5.0, low)
            refused = await paper.execute(too_big)
            assert refused.status == "rejected" and "insufficient BTC" in refused.reason
            (p1, a1), (p2, a2) = book.asks[0], book.asks[1]
            want = a1 + a2 / 2
            child = ChildOrder("h1", "mm-p-0", dialect.venue_id, SYMBOL, Side.BUY, want, p2)
            result = await paper.execute(child)
            assert result.status == "filled", result.reason
            takes = [(e.price, e.amount) for e in result.executions]
            assert takes[0] == (d(p1), d(a1)) and takes[1][0] == d(p2)
            cost = sum((e.cost for e in result.executions), Decimal(0))
            assert sum((e.fee for e in result.executions), Decimal(0)) == cost * Decimal("0.001")
            balances = await paper.fetch_balances()
            assert balances["BTC"] == 1 + result.filled
            assert balances["USDT"] == 100000 - cost * Decimal("1.001")

            beyond = ChildOrder("h2", "mm-p-1", dialect.venue_id, SYMBOL, Side.BUY, 0.01, p1 / 2)
            assert (await paper.execute(beyond)).status == "expired"  # nothing at that limit
        finally:
            await paper.close()
        # the venue never saw an order: no trade, no open order, balances as configured
        await h.ex.load_markets()
        assert await h.ex.fetch_my_trades(SYMBOL) == []
        assert await h.ex.fetch_open_orders(SYMBOL) == []
        balance = await h.ex.fetch_balance()
        assert d(balance["total"]["BTC"]) == h.start_balance("BTC")

    frozen = time.time_ns() + 3_000_000_000  # one book for the whole test (ccxt signs wall time)
    run(dialect, scenario, clock_ns=lambda: frozen)


def test_the_hedge_venue_actor_trades_on_paper_when_the_venue_says_so(ray_session, tmp_path):
    """`mode: paper` through the actor: local fills on the live books, the venue sees none."""
    import ray

    from actors.hedge_venue import HedgeVenueActor
    from marketmesh.simproc import start_venue_sim

    sim = start_venue_sim(
        LOCAL, start_ns=time.time_ns(), api_key=KEY, api_secret=SECRET, log_path=tmp_path / "l"
    )
    actor = None
    try:
        venue = BINANCE.venue.model_copy(update={"mode": "paper"})
        actor = HedgeVenueActor.remote(  # given a working key, which paper must not use
            venue,
            [SYMBOL],
            base_url=sim.urls[venue.id],
            api_key=SecretStr(KEY),
            api_secret=SecretStr(SECRET),
        )
        started = ray.get(actor.on_start.remote(), timeout=30)
        assert started["healthy"]
        book = ray.get(actor.snapshot.remote()).books[SYMBOL]
        best_ask = book.asks[0][0]
        child = ChildOrder("h1", "mm-a-0", venue.id, SYMBOL, Side.BUY, 0.01, best_ask * 1.001)
        [result] = ray.get(actor.execute.remote([child]), timeout=30)
        assert result.status == "filled" and result.reason == "paper"
        assert all(e.order_id.startswith("paper-") for e in result.executions)
        balances = ray.get(actor.balances.remote())
        assert balances["BTC"] == d(venue.balances["BTC"]) + Decimal("0.01")

        async def venue_side() -> tuple[list[Any], Any]:
            ex = client(BINANCE, sim.urls[venue.id])
            try:
                await ex.load_markets()
                return await ex.fetch_my_trades(SYMBOL), await ex.fetch_balance()
            finally:
                await ex.close()

        trades, balance = asyncio.run(venue_side())
        assert trades == [] and d(balance["total"]["BTC"]) == d(venue.balances["BTC"])
    finally:
        if actor is not None:
            with contextlib.suppress(Exception):
                ray.get(actor.on_stop.remote(), timeout=10)
            ray.kill(actor)
        sim.stop()
