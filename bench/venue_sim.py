"""How many requests a second venue-sim serves, and how much latency it adds.

    python bench/venue_sim.py [--seconds 5] [--clients 8]

venue-sim runs in its own process (one core) with the config's venues
(configs/local.yaml, the home venue switched to the HollaEx dialect) and a
weight budget high enough never to answer 429; the unmodified ccxt clients run
in this process (the other core). Per phase, `--clients` concurrent clients
loop for `--seconds`:

* binance depth: `fetch_order_book(limit=100)`: 100 levels a side, as Binance
  answers (before issue 16 venue-sim answered the profile's 30 levels whatever
  the limit), and `limit=30`: the same 30-level answer the old limit-100 phase
  got, so simulator cost is comparable across versions at equal bytes;
* binance order: alternating MARKET buy/sell of 0.001 BTC (signed);
* hollaex book:  `fetch_order_book`;
* hollaex order: post-only limit buy, then its cancel (2 requests; the synthetic
  takers keep running and sometimes fill it first: the cancel then answers 404).

Requests/s counts HTTP requests answered. Added latency: one client, one
request at a time, the round trip through ccxt to venue-sim minus the round
trip through the same ccxt call to a bare aiohttp server answering a fixed
body (same transport, same client parsing), p50 and p99. Figures depend on
the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import numpy as np
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
KEY, SECRET = "bench-key", "bench-secret"


def serve() -> None:
    """Child mode: serve the venues, print `<venue> <url> <dialect>` lines, then `ready`."""
    import yaml

    from engine.config import parse_config
    from engine.sim.server import SimCredentials, VenueSimServer

    data = yaml.safe_load((ROOT / "configs" / "local.yaml").read_text())
    home = next(v for v in data["venues"] if v.get("role") == "home")
    home.update(kind="ccxt", exchange="hollaex", url="sim")
    config = parse_config(data, "bench")

    async def run() -> None:
        server = VenueSimServer(
            config,
            start_ns=time.time_ns(),
            credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
            weight_limit_1m=10**12,
        )
        for venue in await server.start():
            print(venue.venue_id, venue.url, venue.dialect, flush=True)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


def client(exchange_id: str, url: str) -> Any:
    from engine.sim.server import ccxt_urls_for

    ex = getattr(ccxt_async, exchange_id)(
        {
            "apiKey": KEY,
            "secret": SECRET,
            "enableRateLimit": False,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }
    )
    ccxt_urls_for(url, ex)
    return ex


Step = Callable[[Any, int], Awaitable[int]]  # (client, i) -> requests made


async def binance_depth(ex: Any, i: int) -> int:
    await ex.fetch_order_book("BTC/USDT", 100)
    return 1


async def binance_depth_30(ex: Any, i: int) -> int:
    await ex.fetch_order_book("BTC/USDT", 30)
    return 1


async def binance_order(ex: Any, i: int) -> int:
    await ex.create_order("BTC/USDT", "market", "buy" if i % 2 == 0 else "sell", 0.001)
    return 1


async def hollaex_book(ex: Any, i: int) -> int:
    await ex.fetch_order_book("BTC/USDT")
    return 1


async def hollaex_order(ex: Any, i: int) -> int:
    order = await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 1_000, {"postOnly": True})
    with contextlib.suppress(ccxt.OrderNotFound):  # a synthetic taker's sell filled it first
        await ex.cancel_order(order["id"])
    return 2


async def throughput(exchange_id: str, url: str, step: Step, clients: int, seconds: float) -> float:
    exs = [client(exchange_id, url) for _ in range(clients)]
    try:
        await asyncio.gather(*(ex.load_markets() for ex in exs))
        deadline = time.perf_counter() + seconds
        counts = [0] * clients

        async def loop(k: int) -> None:
            i = 0
            while time.perf_counter() < deadline:
                counts[k] += await step(exs[k], i)
                i += 1

        start = time.perf_counter()
        await asyncio.gather(*(loop(k) for k in range(clients)))
        return sum(counts) / (time.perf_counter() - start)
    finally:
        await asyncio.gather(*(ex.close() for ex in exs))


async def round_trips_ms(ex: Any, step: Step, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        await step(ex, i)
        out[i] = (time.perf_counter() - t0) * 1e3
    return out


async def bare_server(depth_body: str) -> tuple[web.AppRunner, str]:
    """An aiohttp server answering a fixed Binance depth body: the transport's own cost."""

    async def depth(request: web.Request) -> web.Response:
        return web.Response(text=depth_body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v3/depth", depth)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def added_latency(url: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Round trips of `fetch_order_book` to venue-sim and to a bare server (same body)."""
    ex = client("binance", url)
    try:
        await ex.load_markets()
        body = json.dumps(await ex.public_get_depth({"symbol": "BTCUSDT", "limit": 100}))
        sim = await round_trips_ms(ex, binance_depth, n)
        runner, bare_url = await bare_server(body)
        try:
            ex.urls["api"] = {k: bare_url + "/api/v3" for k in ("public", "private", "v3")}
            bare = await round_trips_ms(ex, binance_depth, n)
        finally:
            await runner.cleanup()
        return sim, bare
    finally:
        await ex.close()


async def bench(seconds: float, clients: int, urls: dict[str, str]) -> None:
    hedge, home = urls["binance-sim"], urls["home"]
    phases: list[tuple[str, str, str, Step]] = [
        ("binance depth (limit 100)", "binance", hedge, binance_depth),
        ("binance depth (limit 30)", "binance", hedge, binance_depth_30),
        ("binance MARKET order", "binance", hedge, binance_order),
        ("hollaex orderbook", "hollaex", home, hollaex_book),
        ("hollaex limit + cancel", "hollaex", home, hollaex_order),
    ]
    print(f"venue-sim throughput: {clients} concurrent ccxt clients, {seconds:g} s per phase")
    print(f"  cpu cores: {os.cpu_count()} (server: own process; clients: this process)")
    for name, exchange_id, url, step in phases:
        rate = await throughput(exchange_id, url, step, clients, seconds)
        print(f"  {name:<28} {rate:8.0f} requests/s")
    n = 400
    sim, bare = await added_latency(hedge, n)
    print(f"added latency, 1 client sequential, n={n} fetch_order_book(limit=100):")
    for q in (50, 99):
        s, b = np.percentile(sim, q), np.percentile(bare, q)
        print(f"  p{q}: venue-sim {s:6.2f} ms  bare aiohttp {b:6.2f} ms  added {s - b:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        urls: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if parts == ["ready"]:
                break
            urls[parts[0]] = parts[1]
        asyncio.run(bench(args.seconds, args.clients, urls))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
