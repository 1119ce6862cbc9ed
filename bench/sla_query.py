"""How fast `marketmesh sla --by hour` answers over a large dataset.

Generates `--rows` book_samples rows (default 10 million) over `--markets`
markets (20) and `--days` days (7) with the real Arrow schema, one part file
per (date, market) partition, runs `marketmesh compact` (which writes the SLA
rollups), then times the hourly SLA both ways, side by side in each run:

* rollup: what users get after `compact` (`marketmesh sla --by hour`);
* raw: every sample read, as before rollups (`marketmesh sla --by hour --exact`);

each cold (the command as a fresh process: CLI start-up, DuckDB start-up,
reading Parquet footers, the query) and warm (the same query again on an open
connection). Both commands' JSON must be identical, or the bench fails.

    python bench/sla_query.py --runs 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.schemas import schema_for
from analytics.sla import sla_summary
from analytics.views import connect

DAY_NS = 86_400 * 10**9
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def generate(root: Path, rows: int, markets: int, days: int, seed: int = 1) -> None:
    schema = schema_for("book_samples")
    rng = np.random.default_rng(seed)
    per_part = rows // (markets * days)
    step_ns = DAY_NS // per_part
    for d in range(days):
        date = time.strftime("%Y-%m-%d", time.gmtime((T0 + d * DAY_NS) / 1e9))
        for m in range(markets):
            symbol = f"C{m:02d}/USDT"
            n = per_part
            mid = 100.0 * (1 + m) * np.exp(np.cumsum(rng.normal(0, 1e-4, n)))
            spread = np.abs(rng.normal(8.0, 3.0, n))
            depth = rng.lognormal(np.log(60_000), 0.4, (14, n))
            quoting = rng.random(n) > 0.02
            cols = {
                "ts": pa.array(T0 + d * DAY_NS + np.arange(n) * step_ns, pa.timestamp("ns", "UTC")),
                "run_id": pa.array(np.full(n, "bench")),
                "config_hash": pa.array(np.full(n, "bench")),
                "market": pa.array(np.full(n, symbol)),
                "best_bid": mid * (1 - spread / 2e4),
                "best_ask": mid * (1 + spread / 2e4),
                "mid": mid,
                "spread_bps": spread,
                "quoting": quoting,
                "target_spread_bps": np.full(n, 8.0),
                "max_spread_bps": np.full(n, 15.0),
                "depth_band_bps": np.full(n, 50.0),
                "depth_target_quote": np.full(n, 50_000.0),
                "configured_target_spread_bps": np.full(n, 8.0),
                "configured_depth_target_quote": np.full(n, 50_000.0),
                "effective_target_spread_bps": np.where(rng.random(n) < 0.03, 16.0, 8.0),
                "quote_state": pa.array(
                    np.where(quoting, "normal", rng.choice(["one_sided", "vol_pause"], n))
                ),
                "reference_mid": mid * (1 + rng.normal(0, 1e-4, n)),
            }
            depth_cols = [
                f"{side}_depth_{band}bps"
                for band in (10, 25, 50, 100, 200)
                for side in ("bid", "ask")
            ] + ["bid_depth_band", "ask_depth_band", "bot_bid_depth_band", "bot_ask_depth_band"]
            for i, name in enumerate(depth_cols):
                cols[name] = depth[i]
            for name in ("bot_bid_depth_50bps", "bot_ask_depth_50bps"):
                cols[name] = depth[12] / 2
            arrays = [
                cols[f.name]
                if isinstance(cols[f.name], pa.Array)
                else pa.array(cols[f.name], f.type)
                for f in schema
            ]
            table = pa.Table.from_arrays(arrays, schema=schema)
            part = root / "book_samples" / f"date={date}" / f"market_id=C{m:02d}-USDT"
            part.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, part / "part-bench-000000.parquet")


def _cli_sla(data_dir: str, *extra: str) -> tuple[float, str]:
    """Wall time and stdout of `marketmesh sla --by hour --json` as a fresh process."""
    command = [sys.executable, "-m", "marketmesh", "sla", "--data-dir", data_dir]
    t = time.perf_counter()
    out = subprocess.run(
        [*command, "--by", "hour", "--json", *extra], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - t, out.stdout


def _warm_sla(data_dir: str, *, rollups: bool) -> tuple[float, int]:
    """Seconds of the second hourly SLA on one open connection, and its row count."""
    con = connect(data_dir)
    rollup_dir = data_dir if rollups else None
    sla_summary(con, by="hour", data_dir=rollup_dir)
    t = time.perf_counter()
    rows = sla_summary(con, by="hour", data_dir=rollup_dir)
    return time.perf_counter() - t, len(rows)


def bench(data_dir: str, runs: int) -> None:
    shutil.rmtree(Path(data_dir, "sla_rollup"), ignore_errors=True)  # time writing them all
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "marketmesh", "compact", "--data-dir", data_dir, "--min-age-s", "0"],
        capture_output=True,
        check=True,
    )
    rollup_mb = sum(p.stat().st_size for p in Path(data_dir, "sla_rollup").rglob("*.parquet"))
    print(
        f"marketmesh compact (SLA rollups): {time.perf_counter() - t:.1f}s, "
        f"rollups {rollup_mb / 1e6:.1f} MB",
        flush=True,
    )
    figures: dict[str, list[float]] = {k: [] for k in ("raw_cold", "raw_warm", "cold", "warm")}
    for i in range(runs):
        raw_cold, raw_out = _cli_sla(data_dir, "--exact")
        cold, out = _cli_sla(data_dir)
        if out != raw_out:
            raise SystemExit("rollup and raw SLA differ: the rollup path is wrong")
        raw_warm, n_rows = _warm_sla(data_dir, rollups=False)
        warm, _ = _warm_sla(data_dir, rollups=True)
        for key, value in zip(figures, (raw_cold, raw_warm, cold, warm), strict=True):
            figures[key].append(value)
        print(
            f"run {i + 1}: rollup cold {cold:.2f}s warm {warm:.2f}s | "
            f"raw (--exact) cold {raw_cold:.2f}s warm {raw_warm:.2f}s | "
            f"{n_rows} market-hours, CLI output identical",
            flush=True,
        )
    med = {k: statistics.median(v) for k, v in figures.items()}
    print(
        f"median over {runs} runs: rollup cold {med['cold']:.2f}s (goal < 3 s), "
        f"warm {med['warm']:.2f}s (goal < 1 s) | raw (--exact) cold {med['raw_cold']:.2f}s, "
        f"warm {med['raw_warm']:.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--markets", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--data-dir",
        help="keep the dataset here (generated unless it has book_samples; rollups rewritten)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mm-sla-bench-") as tmp:
        root = Path(args.data_dir or tmp)
        if not (root / "book_samples").is_dir():
            t = time.perf_counter()
            generate(root, args.rows, args.markets, args.days)
            print(f"generated in {time.perf_counter() - t:.1f}s", flush=True)
        samples = list((root / "book_samples").rglob("*.parquet"))
        size_mb = sum(p.stat().st_size for p in samples) / 1e6
        rows = sum(pq.read_metadata(p).num_rows for p in samples)
        print(
            f"{rows:,} book_samples rows, {len(samples)} parts, {size_mb:,.0f} MB Parquet",
            flush=True,
        )
        bench(str(root), args.runs)


if __name__ == "__main__":
    main()
