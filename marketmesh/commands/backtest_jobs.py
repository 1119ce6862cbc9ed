"""`marketmesh backtest` runs: one job per market, on the exact or the fast engine.

The CLI only parses flags; this module checks them against each other, runs
each market (exact-engine markets optionally in worker processes) and writes
the rows, so `bench/` and the tests drive backtests without Typer.
"""

from __future__ import annotations

import math
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketmesh.commands.backtest_args import (
    BacktestArgsError,
    BacktestEngine,
    resolve_markets,
    start_ns,
)
from marketmesh.commands.backtest_parquet import NS_PER_DAY, ParquetColumnWriters

if TYPE_CHECKING:
    from collections.abc import Callable

    from analytics.writer import PartWriters
    from engine.backtest import BacktestResult, BacktestSettings, Recording
    from engine.config import AppConfig, MarketConfig

MARKET_TABLES = ("book_samples", "quotes", "fills", "hedge_orders", "hedge_fills", "maker_orders")


def new_backtest_run_id() -> str:
    return "bt" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + secrets.token_hex(2)


def run_backtests(
    cfg: AppConfig,
    *,
    policy: str | None,
    markets: list[str] | None,
    days: float | None,
    data_dir: str,
    from_data: str | None = None,
    from_run: str | None = None,
    seed: int | None = None,
    start: str | None = None,
    hedge: bool = True,
    progress: bool = False,
    engine: BacktestEngine = BacktestEngine.EXACT,
    workers: int = 1,
) -> tuple[list[BacktestResult], str]:
    """Run every chosen market (one after the other, or exact-engine markets in up to
    `workers` processes at once); write its rows into `data_dir`."""
    from engine.backtest import BacktestSettings

    chosen = resolve_markets(cfg, markets, policy)
    _check_sources(
        chosen, engine=engine, hedge=hedge, days=days, data_dir=data_dir, from_data=from_data
    )
    run_cfg = cfg.model_copy(
        update={
            "markets": [next((c for c in chosen if c.symbol == m.symbol), m) for m in cfg.markets]
        }
    )
    run = _RunIds(
        run_id=new_backtest_run_id(),
        config_hash=run_cfg.config_hash,
        seed=cfg.sim.seed if seed is None else seed,
    )
    settings = BacktestSettings(hedge=hedge)
    results: list[BacktestResult | None] = []
    exact_jobs: list[tuple[int, _ExactJob]] = []
    for m in chosen:
        if engine is BacktestEngine.FAST:
            results.append(
                _run_fast(
                    run_cfg,
                    m,
                    run,
                    settings,
                    days=days,
                    start=start,
                    data_dir=data_dir,
                    from_data=from_data,
                    from_run=from_run,
                    progress=progress,
                )
            )
            continue
        job = _ExactJob(
            run_cfg=run_cfg,
            market=m,
            days=days,
            start_ns=start_ns(start, days) if from_data is None and days is not None else None,
            data_dir=data_dir,
            from_data=from_data,
            from_run=from_run,
            seed=run.seed,
            run_id=run.run_id,
            config_hash=run.config_hash,
            settings=settings,
            progress=progress and workers <= 1,
        )
        exact_jobs.append((len(results), job))
        results.append(None)
    for i, result in _run_exact_jobs(exact_jobs, workers):
        results[i] = result
    return [r for r in results if r is not None], run.run_id


def _check_sources(
    chosen: list[MarketConfig],
    *,
    engine: BacktestEngine,
    hedge: bool,
    days: float | None,
    data_dir: str,
    from_data: str | None,
) -> None:
    """Flags that contradict each other fail before any market runs."""
    from engine.backtest.vectorised import fast_path_problem

    if engine is BacktestEngine.FAST:
        for m in chosen:
            problem = fast_path_problem(m, hedge=hedge)
            if problem is not None:
                raise BacktestArgsError(f"--engine fast: market {m.symbol}: {problem}")
    if from_data is None:
        if days is None or not days > 0:
            raise BacktestArgsError("--days: needed and positive (or replay with --from-data)")
    elif "://" not in from_data and not Path(from_data).exists():
        raise BacktestArgsError(f"--from-data {from_data}: no such directory")
    if (
        from_data is not None
        and "://" not in from_data
        and Path(from_data).resolve() == Path(data_dir).resolve()
    ):
        raise BacktestArgsError(
            "--from-data and --data-dir must differ: a replay never writes into its source"
        )


@dataclass(frozen=True)
class _RunIds:
    """What every market of one backtest run shares: its id, config hash and seed."""

    run_id: str
    config_hash: str
    seed: int


def _run_fast(
    run_cfg: AppConfig,
    m: MarketConfig,
    run: _RunIds,
    settings: BacktestSettings,
    *,
    days: float | None,
    start: str | None,
    data_dir: str,
    from_data: str | None,
    from_run: str | None,
    progress: bool,
) -> BacktestResult:
    """One market on the compiled kernel, in this process (it is already ~190x faster)."""
    from engine.backtest.vectorised import FastLadderBacktest

    recording, first_ns = None, 0
    if from_data is not None:  # the recording's span, cut to --days
        recording = load_recording(from_data, m.symbol, run_id=from_run)
    else:
        assert days is not None  # checked by _check_sources
        first_ns = start_ns(start, days)
    span_s = days * 86_400 if days is not None else math.inf
    columns = ParquetColumnWriters(
        data_dir,
        writer_id=f"backtest-fast-{m.base}-{m.quote}",
        run_id=run.run_id,
        config_hash=run.config_hash,
    )
    fast = FastLadderBacktest(
        run_cfg,
        m,
        seed=run.seed,
        session=run.run_id,
        start_ns=first_ns,
        duration_s=span_s,
        writers=columns,
        settings=settings,
        recording=recording,
    )
    result = fast.run(progress=progress_line if progress else None)
    if progress:
        sys.stderr.write("\n")
    return result


def _run_exact_jobs(
    exact_jobs: list[tuple[int, _ExactJob]], workers: int
) -> list[tuple[int, BacktestResult]]:
    """Each job's result with its slot; in worker processes when more than one is asked for."""
    if workers > 1 and len(exact_jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(exact_jobs))) as pool:
            return list(
                zip(
                    [i for i, _ in exact_jobs],
                    pool.map(_run_exact, [j for _, j in exact_jobs]),
                    strict=True,
                )
            )
    return [(i, _run_exact(job)) for i, job in exact_jobs]


@dataclass(frozen=True)
class _ExactJob:
    """One market's exact backtest: what a worker process needs to run it."""

    run_cfg: AppConfig
    market: MarketConfig
    days: float | None
    start_ns: int | None
    data_dir: str
    from_data: str | None
    from_run: str | None
    seed: int
    run_id: str
    config_hash: str
    settings: BacktestSettings
    progress: bool


def _run_exact(job: _ExactJob) -> BacktestResult:
    """Run one market on the exact engine and write its rows (in this or a worker process)."""
    from analytics.writer import PartWriters
    from engine.backtest import MarketBacktest, RecordedFeed, simulated_feed

    m = job.market
    if job.from_data is None:
        assert job.days is not None and job.start_ns is not None
        feed: Any = simulated_feed(
            job.run_cfg, m, seed=job.seed, start_ns=job.start_ns, duration_s=job.days * 86_400
        )
    else:
        recording = load_recording(job.from_data, m.symbol, run_id=job.from_run)
        feed = RecordedFeed(recording)
        if job.days is not None:
            feed.end_ns = min(feed.end_ns, feed.start_ns + int(job.days * NS_PER_DAY))
    writers = PartWriters(
        job.data_dir,
        MARKET_TABLES,
        writer_id=f"backtest-{m.base}-{m.quote}",
        run_id=job.run_id,
        config_hash=job.config_hash,
    )
    bt = MarketBacktest(
        job.run_cfg,
        m,
        feed,
        seed=job.seed,
        session=job.run_id,
        writers=writers,
        settings=job.settings,
    )
    result = bt.run(
        progress=progress_line if job.progress else None,
        checkpoint=_flush_on_checkpoint(writers),
    )
    writers.flush()
    if job.progress:
        sys.stderr.write("\n")
    return result


def load_recording(data_dir: str, symbol: str, *, run_id: str | None = None) -> Recording:
    """One market of a recorded dataset: its sampled mids and the takers behind its fills.

    Without `run_id`, the run with the latest book sample of that market.
    """
    import numpy as np

    from analytics.sla_samples import samples_relation
    from analytics.views import connect
    from engine.backtest import Recording, takers_from_fills

    con = connect(data_dir)
    if run_id is None:
        row = con.execute(
            "select run_id from book_samples where market = $m and mid > 0 "
            "order by ts desc limit 1",
            {"m": symbol},
        ).fetchall()
        if not row:
            raise BacktestArgsError(f"--from-data {data_dir}: no book_samples of {symbol}")
        run_id = row[0][0]
    params = {"m": symbol, "r": run_id}
    # the reference mid the run quoted around (the home book's own mid is skewed by the
    # bot's quotes); parts older than `reference_mid` replay their book mid
    source = samples_relation(con)
    samples = con.execute(
        f"select epoch_ns(ts), coalesce(reference_mid, mid) as ref from {source} "
        "where market = $m and run_id = $r and coalesce(reference_mid, mid) > 0 order by ts",
        params,
    ).fetchall()
    if not samples:
        raise BacktestArgsError(
            f"--from-data {data_dir}: run {run_id} has no book_samples of {symbol}"
        )
    fills = con.execute(
        "select epoch_ns(ts), side = 'buy', amount from fills "
        "where market = $m and run_id = $r order by ts, fill_id",
        params,
    ).fetchall()
    sample_arr = np.asarray(samples, dtype=object)
    fill_ts = np.asarray([f[0] for f in fills], dtype=np.int64)
    taker_ts, taker_buy, taker_amount = takers_from_fills(
        fill_ts,
        np.asarray([bool(f[1]) for f in fills], dtype=bool),
        np.asarray([float(f[2]) for f in fills], dtype=float),
    )
    return Recording(
        market=symbol,
        sample_ts_ns=np.asarray(sample_arr[:, 0], dtype=np.int64),
        sample_mid=np.asarray(sample_arr[:, 1], dtype=float),
        taker_ts_ns=taker_ts,
        taker_is_buy=taker_buy,
        taker_amount=taker_amount,
    )


def _flush_on_checkpoint(writers: PartWriters) -> Callable[[int], object]:
    """A backtest checkpoint flushes that market's Parquet buffers."""
    return lambda _now: writers.flush()


def progress_line(r: BacktestResult, now_ns: int) -> None:
    total_days = (r.end_ns - r.start_ns) / NS_PER_DAY
    done_days = (now_ns - r.start_ns) / NS_PER_DAY
    sys.stderr.write(
        f"\r{r.market} [{r.policy}] day {done_days:.2f}/{total_days:.2f}  "
        f"fills {r.fills:,}  inventory {r.home_position_base:+.4f}  "
        f"PnL {r.pnl_quote:,.2f}  {r.book_events_per_s:,.0f} book events/s   "
    )
    sys.stderr.flush()
