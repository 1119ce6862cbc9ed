"""A run of configs/loopback.yaml through stream faults: nothing lost, nothing doubled.

Every venue gets the stream faults of `--faults` (default
configs/faults/streams.yaml: connections dropped every 10 s, 1 % of diff-depth
events lost and 1 % repeated, the Binance connections open at 20 s stalled, every
listen key expired at 30 s); the home venue's fill stream is dropped every 10 s
and stalls at 25 s. Then, from what the run wrote: fills and distinct fill ids
(a doubled fill is two rows of one id... or two ids of one trade, which the
reconciliation catches), fills hedged, whether the ledger equals every venue's
balances to the unit, and the book age at decision.

    python bench/stream_faults.py --duration 60
    python bench/stream_faults.py --duration 240 --flow-scale 3   # ~2,000 fills
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml

from analytics.sla import sla_summary
from analytics.views import connect
from engine.config import load_config
from marketmesh.graph import run_graph

REPO = Path(__file__).resolve().parents[1]


def faulty_config(config: Path, faults: Path, out: Path, flow_scale: float = 1.0) -> Path:
    """`config` with each venue's `faults:` taken from the faults file (home: drops, stall),
    and every market's synthetic taker arrivals `flow_scale` times as frequent."""
    data = yaml.safe_load(config.read_text())
    for market in data["markets"]:
        flow = market.get("taker_flow")
        if flow:
            flow["rate_per_s"] = round(flow["rate_per_s"] * flow_scale, 6)
    spec = yaml.safe_load(faults.read_text())
    for venue in data["venues"]:
        chosen = spec.get("venues", {}).get(venue["id"], spec.get("default", {}))
        if venue.get("role") == "home":
            chosen = {"stream_disconnect_every_s": 10, "stream_stall_at_s": 25}
        venue["faults"] = chosen
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "loopback.yaml")
    parser.add_argument("--faults", type=Path, default=REPO / "configs" / "faults" / "streams.yaml")
    parser.add_argument(
        "--flow-scale",
        type=float,
        default=1.0,
        help="multiply every market's taker arrival rate (more fills in the same time)",
    )
    args = parser.parse_args()
    if args.flow_scale <= 0:
        parser.error(f"--flow-scale must be > 0, got {args.flow_scale}")
    with tempfile.TemporaryDirectory(prefix="mm-stream-faults-") as tmp:
        path = faulty_config(
            args.config, args.faults, Path(tmp) / "config.yaml", flow_scale=args.flow_scale
        )
        result = run_graph(
            load_config(path), config_path=path, duration_s=args.duration, data_dir=tmp
        )
        con = connect(tmp)
        q = {"run_id": result.run_id}
        fills, ids = con.execute(
            "select count(*), count(distinct fill_id) from fills where run_id = $run_id", q
        ).fetchone() or (0, 0)
        (hedged,) = con.execute(
            "select count(distinct source_fill_id) from hedge_orders "
            "where run_id = $run_id and source_fill_id is not null",
            q,
        ).fetchone() or (0,)
        coverage = sla_summary(con, run_id=result.run_id)
        p50, p99 = con.execute(
            "select quantile_cont(book_age_ms, 0.5), quantile_cont(book_age_ms, 0.99) "
            "from hedge_orders where run_id = $run_id and venue is not null",
            q,
        ).fetchone() or (None, None)
    print(
        f"fills {fills} (distinct ids {ids}), hedged one by one {hedged}, "
        f"ledger equals every venue's balances: {result.reconciled}; "
        f"book age at decision p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    for row in coverage:  # netted fills carry no source_fill_id: count them by volume
        print(
            f"  {row['market']}: {row['fills']} fills, hedged {row['hedged_pct']:.2f} % + "
            f"netted {row['netted_pct']:.2f} % of the fill volume (the rest open at the end)"
        )
    for venue, stream in sorted(result.router_status.get("streams", {}).items()):
        print(
            f"  {venue}: reconnects {stream.get('reconnects', 0)}, "
            f"resyncs {stream.get('resyncs', 0)}, stale {stream.get('stale', 0)} "
            "(marketmesh_stream_events)"
        )


if __name__ == "__main__":
    main()
