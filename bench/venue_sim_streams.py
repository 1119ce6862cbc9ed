"""venue-sim's cost of serving many diff-depth streams, without any engine around it.

    python bench/venue_sim_streams.py [--symbols 50] [--depth 50] [--seconds 20] [--profile]

The `bench/scale.py` graph at 50 markets streams 50 symbols from each of three
Binance-dialect hedge venues; there venue-sim alone took 0.64 cores and the
books reached the router 380-500 ms old. This serves the same config
(`bench/_scale_config.py`, no takers) in-process and subscribes one thin
aiohttp client per venue to every symbol's `@depth@100ms` after a REST
snapshot of `--depth` levels (as ccxt.pro does), so the figures are the
simulator's own: process CPU (`time.process_time`, clients included but they
only count messages), depth events per symbol per second (venue books move
every 250 ms: 4/s when the simulator keeps up), and event age at receipt
(now - the event's `E`: what a client's book is already behind by).
`--profile` adds the top functions by cumulative time (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import time

import aiohttp
from _scale_config import scale_config

from engine.config import AppConfig
from engine.sim.server import SimCredentials, VenueSimServer
from engine.types import market_id

WARM_UP_S = 3.0


async def subscriber(url: str, symbols: list[str], depth: int, ages_ms: list[float]) -> None:
    """Snapshot every symbol (deepening the stream), then count and age every event."""
    base = url.rstrip("/")
    async with aiohttp.ClientSession() as session:
        for symbol in symbols:
            params = {"symbol": market_id(symbol).replace("-", ""), "limit": depth}
            async with session.get(f"{base}/api/v3/depth", params=params) as resp:
                await resp.read()
        streams = "/".join(f"{market_id(s).replace('-', '').lower()}@depth@100ms" for s in symbols)
        ws_url = base.replace("http", "ws", 1) + f"/stream?streams={streams}"
        async with session.ws_connect(ws_url, max_msg_size=0) as ws:
            async for msg in ws:
                event = json.loads(msg.data).get("data", {})
                if "E" in event:
                    ages_ms.append(time.time() * 1e3 - event["E"])


async def measure(symbols_n: int, depth: int, seconds: float, profile: bool) -> None:
    cfg = AppConfig.model_validate(scale_config(symbols_n, market_data="stream"))
    server = VenueSimServer(
        cfg,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key="k" * 64, api_secret="s" * 64),
        run_takers=False,
    )
    served = await server.start()
    hedge = [v for v in served if v.venue_id != cfg.home_venue.id]
    symbols = [m.symbol for m in cfg.markets]
    ages: list[float] = []
    tasks = [asyncio.create_task(subscriber(v.url, symbols, depth, ages)) for v in hedge]
    try:
        await asyncio.sleep(WARM_UP_S)
        ages.clear()
        profiler = cProfile.Profile() if profile else None
        cpu0, wall0 = time.process_time(), time.monotonic()
        if profiler is not None:
            profiler.enable()
        await asyncio.sleep(seconds)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.stop()
    streams = len(hedge) * len(symbols)
    q = statistics.quantiles(ages, n=100) if len(ages) >= 2 else [float("nan")] * 99
    print(
        f"{len(hedge)} venues x {len(symbols)} symbols, depth {depth}, {wall:.1f} s: "
        f"CPU {cpu / wall:.2f} cores; depth events {len(ages) / wall / streams:.2f} "
        f"per symbol per second (4 when the simulator keeps up); "
        f"event age at receipt p50 {q[49]:.0f} ms, p99 {q[98]:.0f} ms"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    asyncio.run(measure(args.symbols, args.depth, args.seconds, args.profile))


if __name__ == "__main__":
    main()
