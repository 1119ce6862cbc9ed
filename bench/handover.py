"""The handover backtest: how long 7 days of user arrival take, and the acceptance figures.

Runs `marketmesh backtest` on `configs/handover.yaml` (in this process, markets
in `--workers` processes), timing wall clock and CPU (this process and its
workers: the machine may be shared, CPU time is the steadier figure), then
reads the dataset's `handover` view and prints the curve per market and day
with the issue's acceptance checks:

* bot share of depth in band >= 90 % on day 1 and <= 30 % on the last day;
* flagship spread and depth within target in >= 99 % of samples every day;
* around each scripted withdrawal (`withdraw_at_day`, from a minute before
  to a minute after its return), depth in band below target for at most 1
  consecutive sample: the bot covers it within one quote cycle.

The longest gap of each whole day is printed too, with the samples in which
the bot was not quoting: the vol guard's pause on a price jump takes the bot
out whatever users rest, and on the long tail slow users' stale orders after
a jump block the bot's post-only quotes for a refresh or two.

    python bench/handover.py --days 7 --workers 2
    python bench/handover.py --reuse DATA_DIR      # only the figures of a finished run
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from analytics.handover import handover_curve, latest_run
from analytics.views import connect
from engine.config import MarketConfig, MarketTier, ScheduledMakerConfig, load_config
from marketmesh.commands.backtest import run_backtests

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "handover.yaml"


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _not_quoting(con: Any, market: str, run: str | None) -> dict[str, int]:
    rows = con.execute(
        "select ts::date, count_if(not quoting) from book_samples "
        "where market = $m and run_id = $r group by 1",
        {"m": market, "r": run},
    ).fetchall()
    return {d.isoformat(): int(n) for d, n in rows}


def _withdrawal_gap(
    con: Any, market: MarketConfig, run: str, maker: ScheduledMakerConfig
) -> tuple[int, int]:
    """Longest run of below-target samples from a minute before a scripted withdrawal to
    a minute after the maker's return (the users' days count from the run's first sample)."""
    assert maker.withdraw_at_day is not None
    (origin,) = con.execute(
        "select min(epoch_ns(ts)) from book_samples where market = $m and run_id = $r",
        {"m": market.symbol, "r": run},
    ).fetchone()
    start = origin + int(maker.withdraw_at_day * 86_400e9) - 60 * 10**9
    end = start + int(((maker.return_after_s or 86_400) + 120) * 1e9)
    rows = con.execute(
        "select bid_depth_band >= depth_target_quote and ask_depth_band >= depth_target_quote "
        "from book_samples where market = $m and run_id = $r "
        "and epoch_ns(ts) between $a and $b order by ts",
        {"m": market.symbol, "r": run, "a": start, "b": end},
    ).fetchall()
    longest = current = 0
    for (ok,) in rows:
        current = 0 if ok else current + 1
        longest = max(longest, current)
    return longest, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start", default="2026-11-01")
    parser.add_argument("--reuse", help="a dataset a run already wrote: print its figures only")
    args = parser.parse_args()
    cfg = load_config(args.config)
    data_dir = args.reuse
    if data_dir is None:
        data_dir = tempfile.mkdtemp(prefix="handover-bench-")
        wall, cpu = time.perf_counter(), _cpu_s()
        results, run_id = run_backtests(
            cfg,
            policy=None,
            markets=None,
            days=args.days,
            data_dir=data_dir,
            start=args.start,
            workers=args.workers,
        )
        wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
        print(
            f"{args.days:g} days x {len(results)} markets, --workers {args.workers}: "
            f"wall {wall:.1f} s, CPU {cpu:.1f} s (run {run_id}, data {data_dir})"
        )
    con = connect(data_dir)
    failures = 0
    for m in cfg.markets:
        run = latest_run(con, m.symbol)
        rows = handover_curve(con, market=m.symbol, run_id=run) if run else []
        print(f"\n{m.symbol} ({m.tier.value})  run {run}")
        print(
            "day         samples  bot share %  spread ok %  depth ok %  longest gap  "
            "users/side  not quoting"
        )
        idle = _not_quoting(con, m.symbol, run)
        for r in rows:
            print(
                f"{r['day']}  {r['samples']:>7}  {r['bot_share_pct']:>11.1f}  "
                f"{r['spread_within_target_pct']:>11.2f}  {r['depth_within_target_pct']:>10.2f}  "
                f"{r['longest_depth_gap_samples']:>11}  {r['user_depth_quote']:>10,.0f}  "
                f"{idle.get(r['day'], 0):>11}"
            )
        if not rows:
            failures += 1
            continue
        checks = [
            ("day 1 bot share >= 90 %", rows[0]["bot_share_pct"] >= 90.0),
            ("last day bot share <= 30 %", rows[-1]["bot_share_pct"] <= 30.0),
        ]
        if m.tier is MarketTier.FLAGSHIP:  # the SLA acceptance is the flagship's
            checks += [
                (
                    "spread and depth within target >= 99 % every day",
                    all(
                        r["spread_within_target_pct"] >= 99.0
                        and r["depth_within_target_pct"] >= 99.0
                        for r in rows
                    ),
                ),
            ]
        for maker in m.user_makers.schedule:
            if maker.withdraw_at_day is None or run is None:
                continue
            gap, samples = _withdrawal_gap(con, m, run, maker)
            checks.append(
                (
                    f"{maker.name} withdrawing on day {maker.withdraw_at_day:g}: depth below "
                    f"target for {gap} consecutive samples at most (of {samples}) <= 1",
                    gap <= 1,
                )
            )
        for name, ok in checks:
            failures += not ok
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
