"""venue-sim's cost of serving many diff-depth streams, without any engine around it.

    python bench/venue_sim_streams.py [--symbols 50] [--depth 50] [--seconds 20] [--profile]
                                      [--book-model redraw|resting]

The `bench/scale.py` graph at 50 markets streams 50 symbols from each of three
Binance-dialect hedge venues; there venue-sim alone took 0.64 cores and the
books reached the router 380-500 ms old. This serves the same config
(`bench/_scale_config.py`, no takers) in-process and subscribes one thin
aiohttp client per venue to every symbol's `@depth@100ms` after a REST
snapshot of `--depth` levels (as ccxt.pro does), so the figures are the
simulator's own: process CPU (`time.process_time`), depth events per symbol
per second (venue books move every 250 ms: 4/s when the simulator keeps up),
and event age at receipt (now - the event's `E`: what a client's book is
already behind by). The subscribers run in a process of their own (their JSON
parsing would otherwise share venue-sim's one core and age the events), and
every push-loop tick is timed where it runs: `busy` is the time spent building
and publishing its events, `over` the time from its first symbol to its last
(ticks yield between symbols, so the venues' ticks interleave).
`--profile` adds the top functions (cProfile; `PROFILE_SORT=tottime` to sort
by own time).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing as mp
import os
import pstats
import statistics
import time
from collections.abc import Iterator

import aiohttp
from _scale_config import scale_config

from engine.config import AppConfig
from engine.sim.binance_ws import BinanceStreams
from engine.sim.server import SimCredentials, VenueSimServer
from engine.types import market_id

WARM_UP_S = 3.0


async def subscriber(
    url: str, symbols: list[str], depth: int, ages_ms: list[tuple[float, float]]
) -> None:
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
                    now_ms = time.time() * 1e3
                    ages_ms.append((now_ms, now_ms - event["E"]))


def subscribers(urls: list[str], symbols: list[str], depth: int, ages: mp.Queue) -> None:
    """Every venue's subscriber, in this (separate) process; (received at, age) of every
    event goes back on `ages` once venue-sim closes the streams (the parent's stop)."""
    got: list[tuple[float, float]] = []  # (received at, age) in ms

    async def run() -> None:
        tasks = [asyncio.create_task(subscriber(u, symbols, depth, got)) for u in urls]
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())
    ages.put(got)


class TickTimer:
    """Wraps `BinanceStreams.tick_steps` (before any venue is built) and times each
    tick: `busy_ms` the time spent building and publishing its events (steps summed),
    `span_ms` from its first step to its last (its last event's wait to leave)."""

    def __init__(self) -> None:
        self.busy_ms: list[float] = []
        self.span_ms: list[float] = []
        self.counting = False
        original = BinanceStreams.tick_steps
        timer = self

        def timed(streams: BinanceStreams, now_ns: int) -> Iterator[None]:
            start = time.perf_counter()
            busy = 0.0
            steps = original(streams, now_ns)
            while True:
                t0 = time.perf_counter()
                try:
                    next(steps)
                except StopIteration:
                    busy += time.perf_counter() - t0
                    break
                busy += time.perf_counter() - t0
                yield
            if timer.counting:
                timer.busy_ms.append(busy * 1e3)
                timer.span_ms.append((time.perf_counter() - start) * 1e3)

        BinanceStreams.tick_steps = timed  # type: ignore[method-assign]


async def measure(
    symbols_n: int, depth: int, seconds: float, profile: bool, book_model: str
) -> None:
    cfg = AppConfig.model_validate(
        scale_config(symbols_n, market_data="stream", book_model=book_model)
    )
    server = VenueSimServer(
        cfg,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key="k" * 64, api_secret="s" * 64),
        run_takers=False,
    )
    timer = TickTimer()
    served = await server.start()
    hedge = [v for v in served if v.venue_id != cfg.home_venue.id]
    symbols = [m.symbol for m in cfg.markets]
    queue: mp.Queue = mp.get_context("spawn").Queue()
    clients = mp.get_context("spawn").Process(
        target=subscribers, args=([v.url for v in hedge], symbols, depth, queue), daemon=True
    )
    clients.start()
    try:
        await asyncio.sleep(WARM_UP_S + 2.0)  # the child's start-up, then the warm-up
        profiler = cProfile.Profile() if profile else None
        cpu0, wall0, from_ms = time.process_time(), time.monotonic(), time.time() * 1e3
        timer.counting = True
        if profiler is not None:
            profiler.enable()
        await asyncio.sleep(seconds)
        if profiler is not None:
            profiler.disable()
        timer.counting = False
        cpu, wall, to_ms = time.process_time() - cpu0, time.monotonic() - wall0, time.time() * 1e3
    finally:
        await server.stop()  # closes the streams: the subscribers end and report
    ages = [age for at, age in queue.get(timeout=30) if from_ms <= at <= to_ms]
    clients.join(timeout=10)
    streams = len(hedge) * len(symbols)
    q = _percentiles(ages)
    busy = _percentiles(timer.busy_ms)
    span = _percentiles(timer.span_ms)
    print(
        f"{len(hedge)} venues x {len(symbols)} symbols, depth {depth}, {book_model} books, "
        f"{wall:.1f} s: "
        f"venue-sim CPU {cpu / wall:.2f} cores; one venue's push tick busy p50 {busy[49]:.1f} "
        f"/ p99 {busy[98]:.1f} ms over p50 {span[49]:.1f} / p99 {span[98]:.1f} ms; "
        f"depth events {len(ages) / wall / streams:.2f} "
        f"per symbol per second (4 when the simulator keeps up); "
        f"event age at receipt p50 {q[49]:.0f} ms, p99 {q[98]:.0f} ms"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(
            25
        )


def _percentiles(xs: list[float]) -> list[float]:
    return statistics.quantiles(xs, n=100) if len(xs) >= 2 else [float("nan")] * 99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--book-model", choices=["redraw", "resting"], default="redraw")
    args = parser.parse_args()
    asyncio.run(measure(args.symbols, args.depth, args.seconds, args.profile, args.book_model))


if __name__ == "__main__":
    main()
