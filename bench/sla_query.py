"""How fast `marketmesh sla --by hour` answers over a large dataset.

Generates `--rows` book_samples rows (default 10 million) over `--markets`
markets (20) and `--days` days (7) with the real Arrow schema, one part file
per (date, market) partition, then times the hourly SLA:

* cold: `marketmesh sla --by hour --json` as a fresh process (CLI start-up,
  DuckDB start-up, reading Parquet footers, the query);
* warm: the same query again on an open connection.

    python bench/sla_query.py --runs 3
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--markets", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mm-sla-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        generate(root, args.rows, args.markets, args.days)
        size_mb = sum(p.stat().st_size for p in root.rglob("*.parquet")) / 1e6
        print(
            f"generated {args.rows:,} rows, {args.markets} markets x {args.days} days, "
            f"{size_mb:,.0f} MB Parquet in {time.perf_counter() - t:.1f}s",
            flush=True,
        )
        cold, warm = [], []
        for i in range(args.runs):
            t = time.perf_counter()
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "marketmesh",
                    "sla",
                    "--data-dir",
                    tmp,
                    "--by",
                    "hour",
                    "--json",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            cold.append(time.perf_counter() - t)
            n_rows = out.stdout.count('"period"')
            con = connect(tmp)
            sla_summary(con, by="hour")
            t = time.perf_counter()
            rows = sla_summary(con, by="hour")
            warm.append(time.perf_counter() - t)
            print(
                f"run {i + 1}: cold (fresh CLI process) {cold[-1]:.2f}s, "
                f"warm (open connection) {warm[-1]:.2f}s, {len(rows)} market-hours "
                f"(CLI printed {n_rows})",
                flush=True,
            )
        print(
            f"median over {args.runs} runs: cold {statistics.median(cold):.2f}s "
            f"(goal < 3 s), warm {statistics.median(warm):.2f}s (goal < 1 s)"
        )


if __name__ == "__main__":
    main()
