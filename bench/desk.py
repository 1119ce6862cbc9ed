"""The desk on its default config: SLA and PnL per market, seeds x simulated hours, exact engine.

Every market of the config runs on the exact backtest engine
(`engine.backtest.MarketBacktest`: the live `engine.market.Quoter`, the live
home matching engine, takers with the config's informed share, hedges
modelled on the hedge venues' profile books in the market's hedge mode) for
`--duration-s` of simulated time, once per seed. Per market it prints the mean
and spread over seeds of:

* spread in target: book samples whose two-sided spread is within the
  market's *configured* `target_spread_bps` (nothing in a backtest widens it);
* depth in target: samples with both sides' depth in the band >= the target;
* uptime: samples with the bot quoting both sides;
* PnL in bps of home notional, decomposed: capture (fills' edge against the
  reference mid), hedge fees, hedge slippage (hedge prices against the mid at
  the hedge), inventory (the price moving while exposure was held, netting's
  wait and the end position marked at the last mid); home fees (0 here, no
  maker rebate) are counted in the total. `subsidy` is the hedge cost the
  fills' quotes expected beyond their edge (what `priority: sla` gives away);
  `hedged` is hedge volume over home volume (below 100 %: netting).

    python bench/desk.py                      # 5 seeds x 1 h, configs/local.yaml
    python bench/desk.py --seeds 1 --duration-s 600 --markets BTC/USDT
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from engine.backtest import BacktestResult, BacktestSettings, MarketBacktest, simulated_feed
from engine.config import AppConfig, MarketConfig, load_config

REPO = Path(__file__).resolve().parents[1]
START_NS = 1_767_225_600 * 10**9  # 2026-01-01 00:00 UTC


def run_market(
    config: AppConfig, market: MarketConfig, seed: int, duration_s: float
) -> BacktestResult:
    feed = simulated_feed(config, market, seed=seed, start_ns=START_NS, duration_s=duration_s)
    bt = MarketBacktest(
        config, market, feed, seed=seed, session=f"desk-{seed}", settings=BacktestSettings()
    )
    return bt.run()


def bps(value: float, notional: float) -> float:
    return value / notional * 1e4 if notional else 0.0


def figures(r: BacktestResult) -> dict[str, float]:
    n = r.volume_quote
    return {
        "spread_pct": r.spread_sla_pct,
        "depth_pct": r.depth_sla_pct,
        "uptime_pct": r.uptime_pct,
        "pnl_bps": bps(r.pnl_quote, n),
        "capture_bps": bps(r.capture_quote, n),
        "fees_bps": -bps(r.hedge_fee_quote + r.home_fee_quote, n),
        "slippage_bps": -bps(r.hedge_slippage_quote, n),
        "inventory_bps": bps(r.inventory_pnl_quote, n),
        "subsidy_bps": bps(r.subsidy_quote, n),
        "hedged_pct": 100.0 * r.hedged_base * r.last_mid / n if n else 0.0,
        "notional": n,
    }


def summary(values: Sequence[float]) -> str:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.2f}"
    return f"{mean:.2f}±{statistics.stdev(values):.2f}"


COLUMNS = (
    ("spread_pct", "spread in target %"),
    ("depth_pct", "depth in target %"),
    ("uptime_pct", "uptime %"),
    ("pnl_bps", "PnL bps"),
    ("capture_bps", "capture"),
    ("fees_bps", "fees"),
    ("slippage_bps", "slippage"),
    ("inventory_bps", "inventory"),
    ("subsidy_bps", "subsidy"),
    ("hedged_pct", "hedged %"),
)


def _value(text: str) -> object:
    """A `--set` value: JSON when it parses (numbers, objects), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "local.yaml"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--duration-s", type=float, default=3_600.0)
    parser.add_argument("--markets", nargs="*", default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a market key for every market run, e.g. --set priority=profit",
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    overrides = {k: _value(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    markets = [
        MarketConfig.model_validate({**m.model_dump(), **overrides})
        for m in config.markets
        if args.markets is None or m.symbol in args.markets
    ]
    config = config.model_copy(
        update={
            "markets": [
                next((o for o in markets if o.symbol == m.symbol), m) for m in config.markets
            ]
        }
    )
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(
        f"desk: {args.config}, {len(seeds)} seeds x {args.duration_s:g} s simulated, exact engine"
        + (f", overrides {overrides}" if overrides else "")
    )
    header = f"{'market':<10} {'mode':<7} {'priority':<8} " + " ".join(
        f"{label:>18}" for _, label in COLUMNS
    )
    print(header)
    for market in markets:
        wall = time.perf_counter()
        rows = [figures(run_market(config, market, seed, args.duration_s)) for seed in seeds]
        cells = " ".join(f"{summary([r[k] for r in rows]):>18}" for k, _ in COLUMNS)
        print(
            f"{market.symbol:<10} {market.hedge_mode.value:<7} {market.priority.value:<8} {cells}"
            f"   ({statistics.fmean(r['notional'] for r in rows):,.0f} quote/seed,"
            f" {time.perf_counter() - wall:.0f} s wall)",
            flush=True,
        )


if __name__ == "__main__":
    main()
