"""A bot written for the real Binance, with Binance's own Python client, runs on venue-sim.

`binance-connector` (Binance's official `binance.spot.Spot`, the `test` extra)
is pointed at a venue-sim hedge venue on 127.0.0.1 with nothing else changed:
its own signing, its own parameter encoding, its own error parsing. The session
is what a market-making bot does on start and in its loop (docs:
https://developers.binance.com/docs/binance-spot-api-docs/rest-api): server
time, exchange info, balances, book, tickers, average price, candles; a maker
order (LIMIT_MAKER), a taker order (MARKET), its fills and commission; open
orders, cancel-all, order history, trade history, order-rate counters; and an
error the venue refuses on purpose, reported with Binance's code.

The user data stream (listen key) is served by venue-sim's websocket module,
not here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from engine.config import parse_config
from engine.sim.server import SimCredentials, VenueSimServer

spot = pytest.importorskip("binance.spot", reason="the test extra installs binance-connector")
binance_error = pytest.importorskip("binance.error")

LOCAL = Path(__file__).parents[2] / "configs" / "local.yaml"
KEY, SECRET = "connector-key-01", "connector-secret-23"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    """venue-sim serving configs/local.yaml in a thread with its own event loop."""
    config = parse_config(yaml.safe_load(LOCAL.read_text()), "connector-bot")
    loop = asyncio.new_event_loop()
    server = VenueSimServer(
        config, start_ns=time.time_ns(), credentials=SimCredentials(KEY, SECRET)
    )
    served = loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield next(v.url for v in served if v.dialect == "binance")
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_a_binance_connector_bot_runs_a_full_session(venue_url):
    client = spot.Spot(api_key=KEY, api_secret=SECRET, base_url=venue_url)

    # start-up: clock, rules, balances
    assert abs(client.time()["serverTime"] - time.time() * 1000) < 5_000
    info = client.exchange_info(symbol="BTCUSDT")
    [symbol] = info["symbols"]
    filters = {f["filterType"]: f for f in symbol["filters"]}
    tick = Decimal(filters["PRICE_FILTER"]["tickSize"])
    assert "LIMIT_MAKER" in symbol["orderTypes"]
    start = {b["asset"]: Decimal(b["free"]) for b in client.account()["balances"]}

    # the loop's market data
    book = client.depth("BTCUSDT", limit=20)
    assert len(book["bids"]) == len(book["asks"]) == 20
    best_bid, best_ask = Decimal(book["bids"][0][0]), Decimal(book["asks"][0][0])
    assert best_bid < best_ask
    assert Decimal(client.ticker_price("BTCUSDT")["price"]) > 0
    assert Decimal(client.avg_price("BTCUSDT")["price"]) > 0
    assert len(client.klines("BTCUSDT", "1m", limit=5)) == 5
    assert client.ticker_24hr("BTCUSDT")["symbol"] == "BTCUSDT"

    # maker: post-only below the touch rests; one through the ask is refused: it would take
    maker = client.new_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT_MAKER",
        quantity="0.01",
        price=str((best_bid * Decimal("0.995") / tick).to_integral_value() * tick),  # stays
        newClientOrderId="bot-maker-1",
        newOrderRespType="RESULT",
    )
    assert maker["status"] == "NEW"
    with pytest.raises(binance_error.ClientError) as refused:
        client.new_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT_MAKER",
            quantity="0.01",
            price=str(best_ask + 200 * tick),  # through the ask even after a book refresh
        )
    assert refused.value.error_code == -2010 and refused.value.status_code == 400

    # taker: a market buy fills at once and pays its commission in BTC
    taker = client.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert taker["status"] == "FILLED" and taker["fills"]
    assert {f["commissionAsset"] for f in taker["fills"]} == {"BTC"}

    # open orders, cancel-all, history
    assert [o["clientOrderId"] for o in client.get_open_orders("BTCUSDT")] == ["bot-maker-1"]
    canceled = client.cancel_open_orders("BTCUSDT")
    assert [o["status"] for o in canceled] == ["CANCELED"]
    assert client.get_open_orders("BTCUSDT") == []
    history = client.get_orders("BTCUSDT")
    assert [(o["orderId"], o["status"]) for o in history] == [
        (maker["orderId"], "CANCELED"),
        (taker["orderId"], "FILLED"),
    ]
    trades = client.my_trades("BTCUSDT")
    assert {t["orderId"] for t in trades} == {taker["orderId"]}
    limits = client.get_order_rate_limit()
    assert {(r["interval"], r["count"]) for r in limits} == {("SECOND", 3), ("DAY", 3)}

    # the balances moved by exactly the fills
    end = {b["asset"]: Decimal(b["free"]) for b in client.account()["balances"]}
    bought = sum(Decimal(t["qty"]) for t in trades)
    fee = sum(Decimal(t["commission"]) for t in trades)
    cost = sum(Decimal(t["quoteQty"]) for t in trades)
    assert end["BTC"] == start["BTC"] + bought - fee
    assert end["USDT"] == start["USDT"] - cost
