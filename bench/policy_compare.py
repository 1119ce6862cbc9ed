"""Quoting policies side by side on the same seeded simulator.

Runs `marketmesh backtest` (without Parquet) of one market for every policy
among ladder, avellaneda_stoikov and glft that `engine.quoting.build_policy`
can build (a missing one is named and skipped), over the same seeds, and
prints per policy:

* PnL: home fills marked to market at the last reference mid (what the models
  optimise), mean and standard deviation over the seeds;
* PnL hedged: the same with every fill hedged on the cheapest simulated
  external venue (its half spread and taker fee), as `marketmesh sla` reports;
* inventory std: standard deviation of the home inventory (base units) over
  the book samples, averaged over the seeds;
* spread SLA %: samples with a two-sided book within the target spread.

    python bench/policy_compare.py --seeds 5 --hours 1
"""

from __future__ import annotations

import argparse
import statistics
import time

from engine.backtest import MarketBacktest, simulated_feed
from engine.config import load_config
from engine.quoting import build_policy

POLICIES = ("ladder", "avellaneda_stoikov", "glft")
T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z


def available(cfg, symbol: str) -> tuple[list[str], dict[str, str]]:
    ok, missing = [], {}
    for name in POLICIES:
        try:
            build_policy(cfg.market(symbol).model_copy(update={"policy": name}))
        except (ValueError, ImportError, AttributeError) as exc:
            missing[name] = str(exc)
        else:
            ok.append(name)
    return ok, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/local.yaml")
    parser.add_argument("--market", default="BTC/USDT")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()

    cfg = load_config(args.config)
    policies, missing = available(cfg, args.market)
    for name, reason in missing.items():
        print(f"missing policy {name}: {reason}")
    seeds = list(range(1, args.seeds + 1))
    print(
        f"{args.market}: {args.seeds} seeds x {args.hours:g} simulated hours, "
        f"policies {', '.join(policies)}"
    )
    header = (
        f"{'policy':<20}{'PnL mean':>12}{'PnL std':>12}{'hedged mean':>13}{'hedged std':>12}"
        f"{'inv std':>10}{'spread SLA %':>14}{'fills':>9}{'wall s':>9}"
    )
    print(header)
    for name in policies:
        market = cfg.market(args.market).model_copy(update={"policy": name})
        pnl, hedged, inv, sla, fills = [], [], [], [], []
        wall = time.perf_counter()
        for seed in seeds:
            feed = simulated_feed(cfg, market, seed=seed, start_ns=T0, duration_s=args.hours * 3600)
            r = MarketBacktest(cfg, market, feed, seed=seed, session=f"cmp-{seed}").run()
            pnl.append(r.pnl_unhedged_quote)
            hedged.append(r.pnl_quote)
            inv.append(r.inventory_std_base)
            sla.append(r.spread_sla_pct)
            fills.append(r.fills)
        wall = time.perf_counter() - wall

        def std(xs: list[float]) -> float:
            return statistics.stdev(xs) if len(xs) > 1 else 0.0

        print(
            f"{name:<20}{statistics.fmean(pnl):>12,.1f}{std(pnl):>12,.1f}"
            f"{statistics.fmean(hedged):>13,.1f}{std(hedged):>12,.1f}"
            f"{statistics.fmean(inv):>10.4f}{statistics.fmean(sla):>14.1f}"
            f"{statistics.fmean(fills):>9,.0f}{wall:>9.1f}"
        )


if __name__ == "__main__":
    main()
