"""Fill -> hedge-order-sent latency, measured from what a real run writes.

Runs the default graph (simulated venues, real Ray, real ccxt over loopback)
`--runs` times, then reads `fills` and `hedge_orders` back with DuckDB:

* engine latency: from the moment the MarketActor saw the fill (`seen_ts`) to
  the router dispatching the first child order of its mirror hedge;
* end to end: from the fill's own timestamp on the home venue, which adds the
  MarketActor's 100 ms polling of the in-process home venue.

    python bench/fill_to_hedge_latency.py --runs 3 --duration 30
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from analytics.views import connect
from engine.config import load_config
from marketmesh.graph import run_graph

REPO = Path(__file__).resolve().parents[1]

QUERY = """
with first_child as (
    select source_fill_id, min(ts) as sent
    from hedge_orders where source_fill_id is not null and venue is not null
    group by 1
)
select
    count(*) as n,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.seen_ts), 0.5) / 1e6 as engine_p50_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.seen_ts), 0.99) / 1e6 as engine_p99_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.ts), 0.5) / 1e6 as e2e_p50_ms,
    quantile_cont(epoch_ns(c.sent) - epoch_ns(f.ts), 0.99) / 1e6 as e2e_p99_ms
from fills f join first_child c on c.source_fill_id = f.fill_id
where f.run_id = $run_id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "local.yaml")
    args = parser.parse_args()
    cfg = load_config(args.config)
    figures = []
    with tempfile.TemporaryDirectory(prefix="mm-bench-") as data_dir:
        for i in range(args.runs):
            result = run_graph(
                cfg, config_path=args.config, duration_s=args.duration, data_dir=data_dir
            )
            con = connect(data_dir)
            row = con.execute(QUERY, {"run_id": result.run_id}).fetchone()
            assert row is not None
            n, e50, e99, x50, x99 = row
            figures.append((e50, e99, x50, x99))
            print(
                f"run {i + 1}/{args.runs}: {n} hedged fills  engine p50 {e50:.2f} ms "
                f"p99 {e99:.2f} ms | end-to-end p50 {x50:.2f} ms p99 {x99:.2f} ms",
                flush=True,
            )
    med = [statistics.median(col) for col in zip(*figures, strict=True)]
    print(
        f"median over {args.runs} runs: engine p50 {med[0]:.2f} ms, p99 {med[1]:.2f} ms; "
        f"end-to-end p50 {med[2]:.2f} ms, p99 {med[3]:.2f} ms"
    )


if __name__ == "__main__":
    main()
