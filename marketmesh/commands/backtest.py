"""`marketmesh backtest`: a quoting policy against the simulator or a recorded run, without Ray.

Writes `book_samples`, `quotes`, `fills`, `hedge_orders` and `hedge_fills`
into a dataset like a live run does, tagged with a `bt…` run id, so
`marketmesh sla --data-dir D` (and `sql`, `report`) read it unchanged.

Two engines: `exact` (default) runs the live objects tick by tick (every
policy, simulated or replayed feed); `fast` (`engine.backtest.vectorised`,
a numba kernel) runs the ladder, Avellaneda-Stoikov and GLFT unhedged on the
simulated feed or a replay ~190x faster with the same decisions, and refuses
what it cannot model (hedges, user makers) with the reason. On the simulator
it draws its takers in bulk, so the same seed gives a different (equally
distributed) taker stream than `exact` and the live venue: compare policies
within one engine.
"""

from __future__ import annotations

import json
import math
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.config.market import PolicyName

if TYPE_CHECKING:
    from collections.abc import Callable

    from analytics.writer import PartWriters
    from engine.backtest import BacktestResult, BacktestSettings, Recording
    from engine.config import AppConfig, MarketConfig

# policies the backtest can drive: `mirror` needs the external venues' books, not simulated here
BACKTEST_POLICIES: tuple[str, ...] = tuple(
    p.value for p in PolicyName if p is not PolicyName.MIRROR
)
MARKET_TABLES = ("book_samples", "quotes", "fills", "hedge_orders", "hedge_fills", "maker_orders")
_NS_PER_DAY = 86_400 * 1_000_000_000
_FLUSH_EVERY_SAMPLES = 20_000


class BacktestArgsError(ValueError):
    """Arguments that cannot run: the message names the flag and the reason."""


class BacktestEngine(StrEnum):
    EXACT = "exact"
    FAST = "fast"


def register(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        config: Annotated[Path, typer.Option(help="YAML config")] = Path("configs/local.yaml"),
        policy: Annotated[
            str | None, typer.Option(help=f"override every market's policy: {BACKTEST_POLICIES}")
        ] = None,
        market: Annotated[
            list[str] | None, typer.Option(help="only this market (repeatable), e.g. BTC/USDT")
        ] = None,
        days: Annotated[
            float | None, typer.Option(help="simulated days (fractions allowed, e.g. 0.25)")
        ] = None,
        data_dir: Annotated[str, typer.Option(help="dataset to write")] = "./data-backtest",
        from_data: Annotated[
            str | None, typer.Option(help="replay book_samples + fills of a recorded dataset")
        ] = None,
        from_run: Annotated[
            str | None, typer.Option(help="with --from-data: the run to replay (default latest)")
        ] = None,
        seed: Annotated[int | None, typer.Option(help="simulator seed (default sim.seed)")] = None,
        start: Annotated[
            str | None, typer.Option(help="simulated start, UTC (default: N days ago, midnight)")
        ] = None,
        no_hedge: Annotated[bool, typer.Option("--no-hedge", help="do not model hedges")] = False,
        engine: Annotated[
            BacktestEngine,
            typer.Option(
                help="exact: the live objects tick by tick, any policy; fast: compiled, "
                "ladder / avellaneda_stoikov / glft, simulated or --from-data, with "
                "--no-hedge and no user makers, ~190x faster, its own taker draws"
            ),
        ] = BacktestEngine.EXACT,
        workers: Annotated[
            int,
            typer.Option(min=1, help="exact engine: run up to this many markets in parallel"),
        ] = 1,
        json_out: Annotated[bool, typer.Option("--json", help="results as JSON")] = False,
    ) -> None:
        """Run a quoting policy against the simulator (or a recorded run) without Ray."""
        from engine.config import ConfigError, load_config

        try:
            cfg = load_config(config)
        except ConfigError as exc:
            _fail(f"config error:\n{exc}")
        try:
            results, run_id = run_backtests(
                cfg,
                policy=policy,
                markets=market or None,
                days=days,
                data_dir=data_dir,
                from_data=from_data,
                from_run=from_run,
                seed=seed,
                start=start,
                hedge=not no_hedge,
                progress=not json_out,
                engine=engine,
                workers=workers,
            )
        except BacktestArgsError as exc:
            _fail(str(exc))
        if json_out:
            typer.echo(json.dumps({"run_id": run_id, "markets": [_as_dict(r) for r in results]}))
            return
        _print_results(results, run_id, data_dir)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def resolve_markets(
    cfg: AppConfig, symbols: list[str] | None, policy: str | None
) -> list[MarketConfig]:
    """The markets to run, with the policy override applied; clear errors for bad names."""
    from engine.quoting import build_policy

    known = [m.symbol for m in cfg.markets]
    for symbol in symbols or []:
        if symbol not in known:
            raise BacktestArgsError(
                f"--market {symbol}: not in the config; known: {', '.join(known)}"
            )
    if policy is not None and policy not in BACKTEST_POLICIES:
        raise BacktestArgsError(
            f"--policy {policy}: unknown policy; known: {', '.join(sorted(BACKTEST_POLICIES))}"
        )
    chosen = [m for m in cfg.markets if symbols is None or m.symbol in symbols]
    out = []
    for m in chosen:
        if policy is not None:
            m = m.model_copy(update={"policy": PolicyName(policy)})
        if m.policy not in BACKTEST_POLICIES:
            policies = ", ".join(sorted(BACKTEST_POLICIES))
            raise BacktestArgsError(
                f"market {m.symbol}: policy '{m.policy}' cannot be backtested (it needs the "
                f"external venues' books); use --policy with one of {policies}"
            )
        try:
            build_policy(m)
        except (ValueError, ImportError, AttributeError) as exc:
            raise BacktestArgsError(f"--policy {m.policy}: not available: {exc}") from None
        out.append(m)
    return out


def _start_ns(start: str | None, days: float) -> int:
    if start is None:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return int((midnight - timedelta(days=max(1, int(-(-days // 1))))).timestamp()) * 10**9
    try:
        when = datetime.fromisoformat(start)
    except ValueError:
        raise BacktestArgsError(
            f"--start {start}: expected an ISO date or time, e.g. 2026-11-01 or 2026-11-01T10:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 10**9


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
    from engine.backtest.vectorised import FastLadderBacktest, fast_path_problem

    chosen = resolve_markets(cfg, markets, policy)
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
    run_cfg = cfg.model_copy(
        update={
            "markets": [next((c for c in chosen if c.symbol == m.symbol), m) for m in cfg.markets]
        }
    )
    config_hash = run_cfg.config_hash
    run_id = new_backtest_run_id()
    run_seed = cfg.sim.seed if seed is None else seed
    settings = BacktestSettings(hedge=hedge)
    results: list[BacktestResult | None] = []
    exact_jobs: list[tuple[int, _ExactJob]] = []
    for m in chosen:
        if engine is BacktestEngine.FAST:
            recording, start_ns = None, 0
            if from_data is not None:  # the recording's span, cut to --days
                recording = load_recording(from_data, m.symbol, run_id=from_run)
            else:
                assert days is not None  # checked above
                start_ns = _start_ns(start, days)
            span_s = days * 86_400 if days is not None else math.inf
            columns = ParquetColumnWriters(
                data_dir,
                writer_id=f"backtest-fast-{m.base}-{m.quote}",
                run_id=run_id,
                config_hash=config_hash,
            )
            fast = FastLadderBacktest(
                run_cfg,
                m,
                seed=run_seed,
                session=run_id,
                start_ns=start_ns,
                duration_s=span_s,
                writers=columns,
                settings=settings,
                recording=recording,
            )
            results.append(fast.run(progress=_progress_line if progress else None))
            if progress:
                sys.stderr.write("\n")
            continue
        job = _ExactJob(
            run_cfg=run_cfg,
            market=m,
            days=days,
            start_ns=_start_ns(start, days) if from_data is None and days is not None else None,
            data_dir=data_dir,
            from_data=from_data,
            from_run=from_run,
            seed=run_seed,
            run_id=run_id,
            config_hash=config_hash,
            settings=settings,
            progress=progress and workers <= 1,
        )
        exact_jobs.append((len(results), job))
        results.append(None)
    if workers > 1 and len(exact_jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(exact_jobs))) as pool:
            for (i, _), result in zip(
                exact_jobs, pool.map(_run_exact, [j for _, j in exact_jobs]), strict=True
            ):
                results[i] = result
    else:
        for i, job in exact_jobs:
            results[i] = _run_exact(job)
    return [r for r in results if r is not None], run_id


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
            feed.end_ns = min(feed.end_ns, feed.start_ns + int(job.days * _NS_PER_DAY))
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
        progress=_progress_line if job.progress else None,
        checkpoint=_flush_on_checkpoint(writers),
    )
    writers.flush()
    if job.progress:
        sys.stderr.write("\n")
    return result


class ParquetColumnWriters:
    """The fast path's columns as Parquet parts of the dataset, laid out as `PartWriter` does.

    One part per (table, UTC day, market) and call, written under a temporary
    name and renamed, so a reader never sees half a part. Float NaN is null.
    """

    def __init__(self, data_dir: str, *, writer_id: str, run_id: str, config_hash: str) -> None:
        from analytics.writer import resolve_filesystem

        self._fs, self._root = resolve_filesystem(data_dir)
        self._local = "://" not in data_dir
        self._writer_id, self._run_id, self._config_hash = writer_id, run_id, config_hash
        self._seq = 0

    def write_columns(self, table: str, columns: dict[str, Any]) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from analytics.schemas import schema_for
        from engine.backtest.fast_rows import Constant, Either, NumberedIds

        n = len(columns["ts"])
        if n == 0:
            return
        schema = schema_for(table)
        arrays = []
        ids: set[str] = set()  # unique per row: a dictionary would only cost
        for field in schema:
            if field.name == "run_id":
                arrays.append(pa.repeat(pa.scalar(self._run_id, field.type), n))
            elif field.name == "config_hash":
                arrays.append(pa.repeat(pa.scalar(self._config_hash, field.type), n))
            elif field.name not in columns:
                arrays.append(pa.nulls(n, type=field.type))
            else:
                values = columns[field.name]
                if isinstance(values, Constant):
                    arrays.append(pa.repeat(pa.scalar(values.value, field.type), n))
                elif isinstance(values, Either):
                    yes, no = (pa.scalar(v, field.type) for v in (values.if_true, values.if_false))
                    arrays.append(pc.if_else(pa.array(values.mask), yes, no))
                elif isinstance(values, NumberedIds):
                    ids.add(field.name)
                    numbers = pc.cast(pa.array(values.numbers), pa.string())
                    arrays.append(
                        pc.binary_join_element_wise(values.prefix, numbers, values.suffix, "")
                    )
                elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
                    arrays.append(pa.array(values, type=field.type, mask=np.isnan(values)))
                else:
                    arrays.append(pa.array(values, type=field.type))
        data = pa.Table.from_arrays(arrays, schema=schema)
        days = np.asarray(columns["ts"], dtype=np.int64) // _NS_PER_DAY
        symbol = str(columns["market"][0])
        if days.min() == days.max():  # one day: no filter
            self._write(table, symbol, int(days[0]), data, ids)
            return
        for day in np.unique(days).tolist():
            self._write(table, symbol, day, data.filter(pa.array(days == day)), ids)

    def _write(self, table: str, symbol: str, day: int, data: Any, ids: set[str]) -> None:
        import uuid

        import pyarrow as pa
        import pyarrow.parquet as pq

        from analytics.schemas import DATE_PARTITION, MARKET_PARTITION
        from engine.types import market_id

        date = datetime.fromtimestamp(day * 86_400, tz=UTC).date().isoformat()
        directory = (
            f"{self._root}/{table}/{DATE_PARTITION}={date}/{MARKET_PARTITION}={market_id(symbol)}"
        )
        self._fs.create_dir(directory, recursive=True)
        self._seq += 1
        final = f"{directory}/part-{self._writer_id}-{self._run_id}-{self._seq:06d}.parquet"
        # dictionaries for the repetitive strings only: trying them on float columns (prices,
        # depths) or on ids (one value per row) costs several times the write and saves nothing
        strings = [f.name for f in data.schema if f.type == pa.string() and f.name not in ids]
        options = {"filesystem": self._fs, "use_dictionary": strings}
        if not self._local:
            pq.write_table(data, final, **options)
            return
        temp = f"{directory}/.{self._seq}.{uuid.uuid4().hex}.tmp"
        pq.write_table(data, temp, **options)
        self._fs.move(temp, final)


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


def _progress_line(r: BacktestResult, now_ns: int) -> None:
    total_days = (r.end_ns - r.start_ns) / _NS_PER_DAY
    done_days = (now_ns - r.start_ns) / _NS_PER_DAY
    sys.stderr.write(
        f"\r{r.market} [{r.policy}] day {done_days:.2f}/{total_days:.2f}  "
        f"fills {r.fills:,}  inventory {r.home_position_base:+.4f}  "
        f"PnL {r.pnl_quote:,.2f}  {r.book_events_per_s:,.0f} book events/s   "
    )
    sys.stderr.flush()


def _as_dict(r: BacktestResult) -> dict[str, Any]:
    return {
        "market": r.market,
        "policy": r.policy,
        "start_ns": r.start_ns,
        "end_ns": r.end_ns,
        "fills": r.fills,
        "taker_orders": r.taker_orders,
        "volume_quote": round(r.volume_quote, 4),
        "pnl_quote": round(r.pnl_quote, 4),
        "pnl_unhedged_quote": round(r.pnl_unhedged_quote, 4),
        "inventory_std_base": r.inventory_std_base,
        "spread_sla_pct": round(r.spread_sla_pct, 4),
        "samples": r.samples,
        "decisions": r.decisions,
        "requotes": r.requotes,
        "book_events": r.book_events,
        "book_events_per_s": round(r.book_events_per_s, 1),
        "wall_s": round(r.wall_s, 3),
    }


def _print_results(results: list[BacktestResult], run_id: str, data_dir: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backtest {run_id}")
    for col in (
        "market",
        "policy",
        "days",
        "fills",
        "PnL (quote)",
        "PnL unhedged",
        "inventory std",
        "spread SLA %",
        "book events/s",
    ):
        table.add_column(col, justify="left" if col in ("market", "policy") else "right")
    for r in results:
        table.add_row(
            r.market,
            r.policy,
            f"{(r.end_ns - r.start_ns) / _NS_PER_DAY:.3g}",
            f"{r.fills:,}",
            f"{r.pnl_quote:,.2f}",
            f"{r.pnl_unhedged_quote:,.2f}",
            f"{r.inventory_std_base:.4g}",
            f"{r.spread_sla_pct:.1f}",
            f"{r.book_events_per_s:,.0f}",
        )
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(table)
    console.print(f"SLA: marketmesh sla --data-dir {data_dir} --run-id {run_id}")
