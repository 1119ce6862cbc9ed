"""Book events per second of `marketmesh backtest` for one market.

A book event is one update of the market's inputs: a step of the reference
price grid (`sim.step_ms`) or a taker order. Runs the backtest of one market
for `--hours` simulated hours and prints, per run:

* events/s over wall time and over CPU time of this process (the machine may
  be shared: CPU time is the steadier figure);
* the same with Parquet output (PartWriters into a temporary directory);
* the floor: the feed alone (reference price + taker draws on the 100 ms
  clock, no book, no policy), which bounds what this loop can reach;
* the fast path (`engine.backtest.vectorised`, its loop compiled with numba)
  for the ladder, Avellaneda-Stoikov and GLFT over `--fast-hours` (a day by
  default), totals only and with Parquet: `--repeat` runs each (3), all printed with
  their median. One short warm-up run first loads the compiled kernels from
  numba's cache (a cold compile costs ~9 CPU-s, once per checkout);
* whether exact, compiled and interpreted (`kernel.run_chunk.py_func`) agree
  on the same inputs (`--agree-hours` of `DrawnFeed`), per policy;
* where the time goes (cProfile, grouped), and the cost of one decision's parts.

Both engines run unhedged (`BacktestSettings(hedge=False)`), what the fast path models.

    python bench/backtest_speed.py --hours 1 --fast-hours 1
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
import timeit
from collections import defaultdict

from analytics.writer import PartWriters
from engine.backtest import BacktestSettings, MarketBacktest, simulated_feed
from engine.backtest.vectorised import (
    BulkTakerFlow,
    DrawnFeed,
    FastLadderBacktest,
    FixedTakers,
    fast_path_problem,
)
from engine.config import PolicyName, load_config
from engine.quoting import QuoteContext, apply_market_rules, build_policy, round_quotes
from engine.quoting.grid import GridRounder
from engine.sim.home_book import HomeBook
from engine.sim.price import ReferencePrice
from marketmesh.commands.backtest import ParquetColumnWriters

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
UNHEDGED = BacktestSettings(hedge=False)  # what the fast path models (see fast_path_problem)
TABLES = ("book_samples", "quotes", "fills", "hedge_orders", "hedge_fills")
GROUPS = {
    "engine/quoting/": "policy + market rules",
    "engine/quoting/grid.py": "grid rounding",
    "engine/sim/matching.py": "matching engine",
    "engine/sim/takers.py": "taker draws",
    "engine/sim/price.py": "reference price",
    "engine/book_metrics.py": "book samples",
    "engine/sim/home_book.py": "home book",
    "engine/backtest/engine.py": "backtest loop",
    "engine/backtest/feeds.py": "feed",
    "decimal": "Decimal (all callers)",
}


def _run(cfg, market, hours: float, seed: int, writers=None):
    feed = simulated_feed(cfg, market, seed=seed, start_ns=T0, duration_s=hours * 3600)
    bt = MarketBacktest(
        cfg, market, feed, seed=seed, session="bench", writers=writers, settings=UNHEDGED
    )
    cpu, wall = time.process_time(), time.perf_counter()
    result = bt.run()
    if writers is not None:
        writers.flush()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _fast(cfg, market, hours: float, seed: int, **kwargs) -> FastLadderBacktest:
    return FastLadderBacktest(
        cfg,
        market,
        seed=seed,
        session="bench",
        start_ns=T0,
        duration_s=hours * 3600,
        settings=UNHEDGED,
        **kwargs,
    )


def _run_fast(cfg, market, hours: float, seed: int, data_dir: str | None = None, **kwargs):
    writers = None
    if data_dir is not None:
        writers = ParquetColumnWriters(
            data_dir, writer_id="bench-fast", run_id="bench", config_hash=cfg.config_hash
        )
    bt = _fast(cfg, market, hours, seed, writers=writers, **kwargs)
    cpu, wall = time.process_time(), time.perf_counter()
    result = bt.run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _agreement(cfg, market, hours: float, seed: int) -> str:
    """Exact, compiled and interpreted fast engines on the same reference path and taker
    draws: do they agree?"""
    end = T0 + int(hours * 3600e9)
    draws = BulkTakerFlow(market.taker_flow, seed=seed, symbol=market.symbol).draw(T0, end)
    reference = ReferencePrice(cfg.sim.assets, seed=seed, step_ms=cfg.sim.step_ms, start_ns=T0)
    feed = DrawnFeed(
        reference, market.symbol, draws, start_ns=T0, end_ns=end, step_ms=cfg.sim.step_ms
    )
    exact = MarketBacktest(cfg, market, feed, seed=seed, session="bench", settings=UNHEDGED).run()
    fast = _fast(cfg, market, hours, seed, takers=FixedTakers(draws)).run()
    slow = _fast(cfg, market, hours, seed, takers=FixedTakers(draws), compiled=False).run()
    names = ("fills", "requotes", "decisions", "samples", "home_position_base", "pnl_quote")
    differ = [n for n in names if getattr(exact, n) != getattr(fast, n)]
    differ += [f"{n} (interpreted)" for n in names if getattr(slow, n) != getattr(fast, n)]
    same = "identical" if not differ else f"DIFFER in {', '.join(differ)}"
    return (
        f"{same}: {exact.fills:,} fills, {exact.requotes:,} requotes, PnL "
        f"{exact.pnl_quote:,.2f} exact / {fast.pnl_quote:,.2f} compiled / "
        f"{slow.pnl_quote:,.2f} interpreted"
    )


def _feed_only(cfg, market, hours: float, seed: int) -> tuple[int, float]:
    feed = simulated_feed(cfg, market, seed=seed, start_ns=T0, duration_s=hours * 3600)
    cpu = time.process_time()
    tick = 100_000_000
    now, last = feed.start_ns, feed.start_ns
    while now < feed.end_ns:
        feed.reference(now)
        feed.takers(last, now, None)
        last = now
        now += tick
    return feed.book_events(feed.end_ns), time.process_time() - cpu


def _profile(cfg, market, hours: float, seed: int) -> None:
    feed = simulated_feed(cfg, market, seed=seed, start_ns=T0, duration_s=hours * 3600)
    bt = MarketBacktest(cfg, market, feed, seed=seed, session="bench", settings=UNHEDGED)
    prof = cProfile.Profile()
    prof.runcall(bt.run)
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    by_group: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        total += tottime
        group = next((g for key, g in GROUPS.items() if key in filename), None)
        if group is None and "decimal" in name.lower():
            group = GROUPS["decimal"]
        by_group[group or "other (dataclasses, sorted, builtins...)"] += tottime
    print(f"\nwhere the time goes (cProfile self time, {hours:g} h, profiler overhead included):")
    for group, seconds in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<42} {100 * seconds / total:5.1f} %")


def _parts(cfg, market) -> None:
    policy = build_policy(market)
    venue = HomeBook(cfg.home_venue, market, seed=1, session="bench")
    ctx = QuoteContext(ts_ns=T0, mid=65_000.0, inventory=0.1, market=market)
    wanted = policy.desired_quotes(ctx)
    grid = GridRounder(venue.spec)
    rounded = grid.round(wanted)

    def replace_ladder() -> None:
        venue.cancel_all()
        venue.place(rounded, T0)

    n = 2000
    print("\none decision's parts (us per call):")
    for name, fn in (
        (
            "QuoteContext(...)",
            lambda: QuoteContext(ts_ns=T0, mid=65_000.0, inventory=0.1, market=market),
        ),
        ("policy.desired_quotes", lambda: policy.desired_quotes(ctx)),
        ("apply_market_rules", lambda: apply_market_rules(wanted, ctx)),
        ("round_quotes (engine.quoting)", lambda: round_quotes(wanted, venue.spec)),
        ("GridRounder.round (backtest)", lambda: grid.round(wanted)),
        ("cancel + place ladder (MatchingEngine)", replace_ladder),
        ("book levels for a sample", venue.levels),
    ):
        print(f"  {name:<42} {timeit.timeit(fn, number=n) / n * 1e6:8.1f}")


def _median_rates(cfg, market, hours: float, seed: int, repeat: int) -> tuple[list, list, int]:
    """Book events per CPU-s of `repeat` runs, totals only and with Parquet."""
    totals, parquet, n = [], [], 0
    for _ in range(repeat):
        r, _, cpu = _run_fast(cfg, market, hours, seed)
        n = r.book_events
        totals.append(n / cpu)
        with tempfile.TemporaryDirectory() as tmp:
            _, _, cpu = _run_fast(cfg, market, hours, seed, tmp)
        parquet.append(n / cpu)
    return totals, parquet, n


def _fast_table(cfg, args) -> None:
    base = cfg.market(args.market)
    _run_fast(cfg, base, 0.05, args.seed)  # load the compiled kernels (numba's cache)
    print(f"\nfast path, book events per CPU-s, {args.repeat} runs each (median):")
    print(
        f"  {'policy':<20} {'hours':>6} {'events':>10}  {'totals only':>28}  {'with Parquet':>28}"
    )
    for policy in args.fast_policies.split(","):
        market = base.model_copy(update={"policy": PolicyName(policy)})
        problem = fast_path_problem(market)
        if problem is not None:
            print(f"  {policy:<20} not on the fast path: {problem}")
            continue
        hours = args.fast_hours
        totals, parquet, n = _median_rates(cfg, market, hours, args.seed, args.repeat)

        def cell(rates: list[float]) -> str:
            runs = "/".join(f"{r / 1e6:.2f}" for r in rates)
            return f"{statistics.median(rates):>11,.0f} ({runs} M)"

        print(f"  {policy:<20} {hours:>6g} {n:>10,}  {cell(totals):>28}  {cell(parquet):>28}")
    for policy in args.fast_policies.split(","):
        market = base.model_copy(update={"policy": PolicyName(policy)})
        if fast_path_problem(market) is None:
            agree = _agreement(cfg, market, args.agree_hours, args.seed)
            print(f"same inputs, {policy}, {args.agree_hours:g} h: {agree}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--market", default="BTC/USDT")
    parser.add_argument("--policy", default="ladder")
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fast-hours", type=float, default=24.0)
    parser.add_argument("--agree-hours", type=float, default=0.25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fast-policies", default="ladder,avellaneda_stoikov,glft")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()

    cfg = load_config(args.config)
    market = cfg.market(args.market).model_copy(update={"policy": PolicyName(args.policy)})
    print(f"{args.market} [{args.policy}], {args.hours:g} simulated hours, seed {args.seed}")

    result, wall, cpu = _run(cfg, market, args.hours, args.seed)
    ev = result.book_events
    print(
        f"backtest, totals only : {ev:,} book events ({result.taker_orders:,} takers), "
        f"{result.decisions:,} decisions, {result.requotes:,} requotes, {result.fills:,} fills"
    )
    print(f"  wall {wall:6.2f} s  -> {ev / wall:>10,.0f} book events/s")
    print(f"  cpu  {cpu:6.2f} s  -> {ev / cpu:>10,.0f} book events/cpu-s")
    print(f"  simulated/real time: {args.hours * 3600 / wall:,.0f}x")
    cpu_exact = cpu

    with tempfile.TemporaryDirectory() as tmp:
        writers = PartWriters(
            tmp, TABLES, writer_id="bench-backtest", run_id="bench", config_hash=cfg.config_hash
        )
        result, wall, cpu = _run(cfg, market, args.hours, args.seed, writers)
    print("backtest, with Parquet:")
    print(f"  wall {wall:6.2f} s  -> {ev / wall:>10,.0f} book events/s")
    print(f"  cpu  {cpu:6.2f} s  -> {ev / cpu:>10,.0f} book events/cpu-s")
    cpu_exact_parquet = cpu

    events, cpu = _feed_only(cfg, market, args.hours, args.seed)
    print(f"floor, feed alone     : {events / cpu:>10,.0f} book events/cpu-s")
    exact_rate, exact_parquet_rate = ev / cpu_exact, ev / cpu_exact_parquet

    print(f"exact, {args.hours:g} h: {exact_rate:,.0f} / {exact_parquet_rate:,.0f} per CPU-s")
    _fast_table(cfg, args)

    if not args.no_profile:
        _profile(cfg, market, min(args.hours, 0.25), args.seed)
    _parts(cfg, market)


if __name__ == "__main__":
    main()
