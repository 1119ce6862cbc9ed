"""The live default desk with and without the real-time touch, side by side.

Runs `marketmesh run` (venue-sim, real Ray, every hedge through ccxt) on
`configs/local.yaml`, where the hedge venues' books are the 100 ms diffs with the
real-time touch laid over them (`touch_stream`, the default), and on the same
config with `touch_stream: false` on every hedge venue: the diffs alone. The two
arms alternate which goes first, `--pairs` times, `--duration` s each; each run's
Parquet is read with DuckDB. Per market and arm it prints the median over the
pairs of:

* `hedges`: hedges with an execution-quality row (`hedge_quality`);
* `save med`, `save wavg`: `saving_bps` against the best single venue at decision
  (`engine.routing.quality`: > 0 is cheaper), median and weighted by amount;
* `worse %`: hedges that paid more than their decision benchmark (saving < 0),
  the move between decision and execution;
* `PnL bps`: desk PnL in bps of home notional (the `pnl` view: capture, hedge fees,
  slippage and inventory together);
* `age p99`: the book age at decision, ms;
* `cores`: CPU the whole run used (venue-sim, Ray's processes and actors, the
  driver: every process under `marketmesh run`, from `/proc`) from 35 s in to
  10 s before the end, in cores (Linux only; `-` elsewhere).

The flow is seeded the same in both arms, but which fills net, which side each
hedge takes and which venue wins it differ run to run, so a single run's weighted
figures swing on a few large hedges: compare medians over pairs, and `worse %`
before the means. A cost against the decision's consolidated mid is left out on
purpose: the venues' books sit at different offsets, so it moves with the mix of
sides and venues a run's flow asked for, not with how well each hedge was routed.

    python bench/hedge_touch.py                      # 2 pairs x 180 s (~13 min)
    python bench/hedge_touch.py --pairs 1 --duration 60
    python bench/hedge_touch.py --keep D             # keep the runs; later:
    python bench/hedge_touch.py --read D             # the table again, no run
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from analytics.views import connect

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "configs" / "local.yaml"
ARMS = ("touch", "diffs only")
COLUMNS = ("hedges", "save med", "save wavg", "worse %", "PnL bps", "age p99", "cores")

_QUALITY = """
select market, count(*) as hedges, median(saving_bps) as save_med,
       sum(saving_bps * filled) / nullif(sum(filled), 0) as save_wavg,
       100.0 * avg((saving_bps < 0)::int) as worse_pct
from hedge_quality where saving_bps is not null group by market
"""
_PNL = "select market, desk_pnl_bps from pnl"
_AGE = """
select market, quantile_cont(book_age_ms, 0.99) as age_p99
from hedge_orders where book_age_ms is not null group by market
"""


def without_touch(config: Path, out_dir: Path) -> Path:
    """`config` with `touch_stream: false` on every ccxt venue, written to `out_dir`."""
    data = yaml.safe_load(config.read_text())
    for venue in data["venues"]:
        if venue.get("kind") == "ccxt":
            venue["touch_stream"] = False
    path = out_dir / f"{config.stem}-diffs-only.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


WARM_S = 35.0  # the graph is up and trading by then
TAIL_S = 10.0  # the run's shutdown and its SLA summary are not the desk's work


def run_desk(config: Path, duration_s: float, data_dir: Path, log: Path) -> float | None:
    """Run the desk; the cores its process tree used while trading (None off Linux)."""
    cmd = [sys.executable, "-m", "marketmesh", "run", str(config)]
    cmd += ["--duration", str(duration_s), "--data-dir", str(data_dir)]
    cores = None
    with log.open("w") as out:
        run = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        window_s = duration_s - WARM_S - TAIL_S
        if window_s > 5 and Path("/proc").is_dir():
            time.sleep(WARM_S)
            cpu0, t0 = tree_cpu_s(run.pid), time.monotonic()
            time.sleep(window_s)
            cores = (tree_cpu_s(run.pid) - cpu0) / (time.monotonic() - t0)
        code = run.wait()
    if code != 0:
        raise SystemExit(f"marketmesh run {config} failed ({code}): see {log}")
    return cores


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of `root` and every live process under it."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)  # ppid
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


def figures(data_dir: Path) -> dict[str, dict[str, float]]:
    """Per market: the `COLUMNS` of one run (`cores`: the run's, written beside it)."""
    con = connect(str(data_dir))
    out: dict[str, dict[str, float]] = {}
    for market, hedges, med, wavg, worse in con.execute(_QUALITY).fetchall():
        out[market] = {"hedges": hedges, "save med": med, "save wavg": wavg, "worse %": worse}
    for market, pnl in con.execute(_PNL).fetchall():
        out.setdefault(market, {})["PnL bps"] = pnl
    for market, age in con.execute(_AGE).fetchall():
        out.setdefault(market, {})["age p99"] = age
    con.close()
    kept = data_dir.with_suffix(".cores")
    cores = kept.read_text().strip() if kept.exists() else "None"
    if cores != "None":
        for row in out.values():
            row["cores"] = float(cores)
    return out


def read_kept(root: Path) -> dict[str, list[dict[str, dict[str, float]]]]:
    """The figures of the runs `--keep` left in `root` (`pair<N>-<arm>` each)."""
    runs: dict[str, list[dict[str, dict[str, float]]]] = {arm: [] for arm in ARMS}
    for arm in ARMS:
        for path in sorted(root.glob(f"pair*-{arm.replace(' ', '-')}")):
            if path.is_dir():
                runs[arm].append(figures(path))
    if not any(runs.values()):
        raise SystemExit(f"no kept runs (pair<N>-touch, pair<N>-diffs-only) in {root}")
    return runs


def table(runs: dict[str, list[dict[str, dict[str, float]]]]) -> str:
    markets = sorted({m for arm in runs.values() for run in arm for m in run})
    lines = [f"{'market':<10} {'arm':<11} " + " ".join(f"{c:>9}" for c in COLUMNS)]
    for market in markets:
        for arm in ARMS:
            cells = []
            for column in COLUMNS:
                values = [
                    r[market][column]
                    for r in runs[arm]
                    if r.get(market, {}).get(column) is not None
                ]
                cells.append(f"{statistics.median(values):>9.3f}" if values else f"{'-':>9}")
            lines.append(f"{market:<10} {arm:<11} " + " ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--keep", type=Path, help="keep each run's Parquet and log here")
    parser.add_argument("--read", type=Path, help="print the table of runs kept in this dir")
    args = parser.parse_args(argv)
    if args.read is not None:
        print(table(read_kept(args.read)))
        return
    if args.pairs < 1 or args.duration < 10:
        parser.error("--pairs >= 1 and --duration >= 10 s")
    with tempfile.TemporaryDirectory(prefix="mm-bench-touch-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        configs = {ARMS[0]: args.config, ARMS[1]: without_touch(args.config, root)}
        runs: dict[str, list[Any]] = {arm: [] for arm in ARMS}
        started = time.monotonic()
        for pair in range(args.pairs):
            order = ARMS if pair % 2 == 0 else ARMS[::-1]
            for arm in order:
                name = f"pair{pair + 1}-{arm.replace(' ', '-')}"
                print(
                    f"[{time.monotonic() - started:6.0f}s] pair {pair + 1}/{args.pairs}: "
                    f"{arm}, {args.duration:.0f} s …",
                    flush=True,
                )
                cores = run_desk(configs[arm], args.duration, root / name, root / f"{name}.log")
                (root / f"{name}.cores").write_text(f"{cores}\n")
                runs[arm].append(figures(root / name))
        print(
            f"\nmedians over {args.pairs} pair(s) of {args.duration:.0f} s runs, "
            f"{args.config.name}:"
        )
        print(table(runs))


if __name__ == "__main__":
    main()
