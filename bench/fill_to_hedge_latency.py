"""Fill -> hedge-order-sent latency and book age at decision, streams vs polling, one run.

Runs the graph of `--config` once per market-data mode (`--modes`, default
`stream,poll`: every ccxt venue's `market_data` set to it, everything else as
configured; real Ray, real ccxt / ccxt.pro over loopback to venue-sim) `--runs`
times, then reads `fills` and `hedge_orders` back with DuckDB:

* engine latency: from the moment the MarketActor saw the fill (`seen_ts`) to
  the router dispatching the first child order of its mirror hedge;
* end to end: from the fill's own timestamp on the home venue (what the
  venue's matching stamped it) to that dispatch, and its first part, venue ->
  seen (how long the fill took to reach the MarketActor: push or poll);
* the engine's legs: seen -> the router's receipt (`hedge_orders.fill_received_ts`:
  the Ray call) and receipt -> dispatch, and the fills whose plan waited for a
  young book (`hedge_orders.book_wait_ms`);
* book age at decision: `hedge_orders.book_age_ms` of every child order, and
  how many times the router found a streamed book older than
  `risk.max_book_age_ms` and asked its venue again (waiting up to
  `risk.stale_book_wait_ms` for a younger one).

With `--poll-tick-s` the poll runs use that MarketActor tick (its REST polling
pace) instead of the config's, so a config tuned for streams is compared with
polling at the pace polling can afford.

Every market hedges each fill on its own (`--hedge-mode mirror`, the default
here): a flagship's `hybrid` mode holds a small fill up to `hybrid_max_age_s`
(5 s) for an opposite one to net it against, by design, and such a wait is not
latency (`--hedge-mode config` keeps the config's modes; the netted fills then
show as the ~5 s tail).

    python bench/fill_to_hedge_latency.py --config configs/loopback.yaml --runs 1 --duration 30
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from analytics.views import connect
from engine.config import AppConfig, VenueKind, load_config
from engine.config.market import HedgeMode
from marketmesh.graph import run_graph

REPO = Path(__file__).resolve().parents[1]

QUERY = """
with first_child as (
    select source_fill_id, min(ts) as sent, min(fill_received_ts) as received,
        max(book_wait_ms) as book_wait
    from hedge_orders
    where run_id = $run_id and source_fill_id is not null and venue is not null
    group by 1
)
select
    count(*) as n,
    quantile_cont(epoch_ns(c.received) - epoch_ns(f.seen_ts), 0.99) / 1e6 as hop_p99_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(c.received), 0.99) / 1e6 as router_p99_ms,
    count(*) filter (where c.book_wait > 1) as waited,
    max(c.book_wait) as book_wait_max_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.seen_ts), 0.5) / 1e6 as engine_p50_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.seen_ts), 0.99) / 1e6 as engine_p99_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.ts), 0.5) / 1e6 as e2e_p50_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.ts), 0.99) / 1e6 as e2e_p99_ms,
    quantile_cont(epoch_ns(f.seen_ts) - epoch_ns(f.ts), 0.5) / 1e6 as seen_p50_ms,
    quantile_cont(epoch_ns(f.seen_ts) - epoch_ns(f.ts), 0.99) / 1e6 as seen_p99_ms
from fills f join first_child c on c.source_fill_id = f.fill_id
where f.run_id = $run_id
"""

AGE_QUERY = """
select
    quantile_cont(book_age_ms, 0.5), quantile_cont(book_age_ms, 0.99)
from hedge_orders
where run_id = $run_id and venue is not null and book_age_ms is not null
"""

COLUMNS = (
    "engine p50",
    "engine p99",
    "e2e p50",
    "e2e p99",
    "venue->seen p50",
    "venue->seen p99",
    "book age p50",
    "book age p99",
)


def with_market_data(
    config: AppConfig, mode: str, tick_s: float | None, hedge_mode: str = "config"
) -> AppConfig:
    """`config` with every ccxt venue's `market_data` set to `mode` (and the tick, and
    every market's hedge mode unless `hedge_mode` is "config")."""
    venues = [
        v.model_copy(update={"market_data": mode}) if v.kind is VenueKind.CCXT else v
        for v in config.venues
    ]
    update: dict[str, Any] = {"venues": venues}
    if hedge_mode != "config":
        update["markets"] = [
            m.model_copy(update={"hedge_mode": HedgeMode(hedge_mode)}) for m in config.markets
        ]
    if tick_s is not None:
        update["timing"] = config.timing.model_copy(update={"market_tick_s": tick_s})
    return config.model_copy(update=update)


def measure(config: AppConfig, config_path: Path, duration_s: float, data_dir: str) -> tuple:
    result = run_graph(config, config_path=config_path, duration_s=duration_s, data_dir=data_dir)
    con = connect(data_dir)
    row = con.execute(QUERY, {"run_id": result.run_id}).fetchone()
    ages = con.execute(AGE_QUERY, {"run_id": result.run_id}).fetchone()
    assert row is not None and ages is not None
    # streamed books too old at a hedge, asked for again (and waited for)
    asked = int(result.router_status.get("books_asked_again", 0))
    n, *legs = row[:5]
    return (n, asked, legs, *row[5:], *ages)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "loopback.yaml")
    parser.add_argument("--modes", default="stream,poll")
    parser.add_argument("--poll-tick-s", type=float, default=None)
    parser.add_argument(
        "--hedge-mode",
        choices=("mirror", "config"),
        default="mirror",
        help="mirror: every fill hedged on its own (default); config: the config's modes",
    )
    args = parser.parse_args()
    base = load_config(args.config)
    figures: dict[str, list[tuple]] = {}
    with tempfile.TemporaryDirectory(prefix="mm-bench-") as data_dir:
        for i in range(args.runs):
            for mode in args.modes.split(","):
                tick = args.poll_tick_s if mode == "poll" else None
                cfg = with_market_data(base, mode, tick, args.hedge_mode)
                n, asked, legs, *values = measure(cfg, args.config, args.duration, data_dir)
                figures.setdefault(mode, []).append(tuple(values))
                shown = "  ".join(
                    f"{c} {v:.2f} ms" if v is not None else f"{c} -"
                    for c, v in zip(COLUMNS, values, strict=True)
                )
                hop, router, waited, wait_max = legs
                print(
                    f"run {i + 1}/{args.runs} {mode:6} (tick {cfg.timing.market_tick_s}s): "
                    f"{n} hedged fills  {shown}  books asked again {asked}\n"
                    f"    engine legs: seen -> router p99 {_ms(hop)}, router -> sent p99 "
                    f"{_ms(router)}; {waited} fills waited > 1 ms for a young book "
                    f"(longest {_ms(wait_max)})",
                    flush=True,
                )
    for mode, rows in figures.items():
        med = [
            statistics.median(v for v in col if v is not None) for col in zip(*rows, strict=True)
        ]
        shown = "  ".join(f"{c} {v:.2f} ms" for c, v in zip(COLUMNS, med, strict=True))
        print(f"median over {len(rows)} runs, {mode}: {shown}")


if __name__ == "__main__":
    main()
