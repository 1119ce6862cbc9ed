"""CPU venue-sim spends per request, without the client's parsing in the figure.

    python bench/venue_sim_cost.py [--n 1500]

`bench/venue_sim.py` measures requests/s through 8 ccxt clients on the other
core, so a bigger answer (depth honouring `limit`) also costs the clients
their parsing. This measures the simulator's own handlers: the Binance and
HollaEx apps of configs/local.yaml (home venue in the HollaEx dialect) served
by aiohttp's in-process test server and called one request at a time by a
raw aiohttp client in the same process; the figure is process CPU time
(`time.process_time`) per request, so other processes' load on the machine
barely moves it. Requests: Binance depth answering 30 levels a side (the
profile's depth; `--depth-limit` sets the limit sent), Binance signed MARKET
order, HollaEx orderbook, HollaEx post-only limit + its cancel (a pair).

Run it from two checkouts (PYTHONPATH=<checkout>) to compare versions.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import yaml
from aiohttp.test_utils import TestClient, TestServer

from engine.config import VenueRole, parse_config
from engine.sim.binance_http import BinanceSpotApi
from engine.sim.exchange import SimExchange
from engine.sim.hollaex_http import HollaExApi
from engine.sim.home_exchange import HomeExchange
from engine.sim.price import ReferencePrice

ROOT = Path(__file__).resolve().parents[1]
KEY, SECRET = "cost-key", "cost-secret"


def _hollaex_headers(method: str, path: str, body: str) -> dict[str, str]:
    expires = str(int(time.time()) + 60)
    message = method + path + expires + body
    signature = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {
        "api-key": KEY,
        "api-expires": expires,
        "api-signature": signature,
        "Content-Type": "application/json",
    }


async def _cpu_us(n: int, call: Callable[[int], Awaitable[None]]) -> float:
    start = time.process_time()
    for i in range(n):
        await call(i)
    return (time.process_time() - start) / n * 1e6


async def measure(n: int, depth_limit: int) -> dict[str, float]:
    data = yaml.safe_load((ROOT / "configs" / "local.yaml").read_text())
    home = next(v for v in data["venues"] if v.get("role") == "home")
    home.update(kind="ccxt", exchange="hollaex", url="sim")
    config = parse_config(data, "cost")
    now = time.time_ns()
    reference = ReferencePrice(
        config.sim.assets, seed=config.sim.seed, step_ms=config.sim.step_ms, start_ns=now
    )
    hedge = next(v for v in config.venues if v.id == "binance-sim")
    home_venue = next(v for v in config.venues if v.role is VenueRole.HOME)
    symbols = [m.symbol for m in config.markets]
    binance = BinanceSpotApi(
        SimExchange(hedge, reference, config.sim.seed, config.quote_asset, symbols),
        credentials={KEY: SECRET},
        weight_limit_1m=10**12,
    )
    hollaex = HollaExApi(
        HomeExchange(home_venue, config.markets, reference, seed=config.sim.seed),
        credentials={KEY: SECRET},
    )
    out: dict[str, float] = {}
    async with TestClient(TestServer(binance.app())) as c:

        async def depth(i: int) -> None:
            async with c.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": depth_limit}):
                pass

        async def order(i: int) -> None:
            query = urlencode(
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY" if i % 2 else "SELL",
                    "type": "MARKET",
                    "quantity": "0.001",
                    "timestamp": int(time.time() * 1000),
                }
            )
            signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
            url = f"/api/v3/order?{query}&signature={signature}"
            async with c.post(url, headers={"X-MBX-APIKEY": KEY}) as resp:
                assert resp.status == 200, await resp.text()

        out[f"binance depth (limit {depth_limit})"] = await _cpu_us(n, depth)
        out["binance MARKET order"] = await _cpu_us(n * 2 // 3, order)
    async with TestClient(TestServer(hollaex.app())) as c:

        async def book(i: int) -> None:
            async with c.get("/v2/orderbook", params={"symbol": "btc-usdt"}) as resp:
                await resp.read()

        async def quote_and_cancel(i: int) -> None:
            body = json.dumps(
                {
                    "symbol": "btc-usdt",
                    "side": "buy",
                    "size": 0.001,
                    "type": "limit",
                    "price": 1000,
                    "meta": {"post_only": True},
                },
                separators=(",", ":"),
            )
            headers = _hollaex_headers("POST", "/v2/order", body)
            async with c.post("/v2/order", data=body, headers=headers) as resp:
                placed = await resp.json()
                assert resp.status == 200, placed
            path = f"/v2/order?order_id={placed['id']}"
            async with c.delete(path, headers=_hollaex_headers("DELETE", path, "")):
                pass

        out["hollaex orderbook"] = await _cpu_us(n, book)
        out["hollaex limit + cancel (pair)"] = await _cpu_us(n // 2, quote_and_cancel)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--depth-limit", type=int, default=30)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.n, args.depth_limit))
    print(f"venue-sim CPU per request (server + raw client, one process), n={args.n}:")
    for name, us in figures.items():
        print(f"  {name:<32} {us:7.0f} us")


if __name__ == "__main__":
    main()
