"""A real three-node Ray cluster on this machine, one worker node killed mid-run.

Run as a subprocess by test_multinode.py: it owns its own Ray cluster (the
test session's local Ray stays untouched). Prints one JSON line with what
happened; the test reads the run's Parquet itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import ray
from ray.cluster_utils import Cluster

from actors.control import CONTROL_NAME
from engine.config import load_config
from marketmesh.graph import run_graph
from tests.conftest import LOCAL_CONFIG


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--duration", type=float, default=35)
    parser.add_argument("--kill-at", type=float, default=12)
    args = parser.parse_args()

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": {"venue_access": 1}},
    )
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="marketmesh", log_to_driver=False)
    report: dict = {"killed_node": None, "markets_on_killed_node": []}

    def kill_a_worker(elapsed_s, _markets, _router):
        if elapsed_s < args.kill_at or report["killed_node"]:
            return
        handles = ray.get(ray.get_actor(CONTROL_NAME).handles.remote())
        where = {
            name: ray.get(h.process_info.remote())["node_id"]
            for name, h in handles.items()
            if name.startswith("market:")
        }
        report["placement_before"] = where
        # nodes share one IP here, so the driver may sit on a "worker": losing the
        # driver's node ends the run by design, so the one killed is another
        driver = ray.get_runtime_context().get_node_id()
        for node in workers:
            if node.node_id == driver:
                continue
            hosted = [m for m, n in where.items() if n == node.node_id]
            if hosted:
                cluster.remove_node(node, allow_graceful=False)
                report["killed_node"] = node.node_id
                report["markets_on_killed_node"] = hosted
                report["killed_at_s"] = elapsed_s
                return

    try:
        result = run_graph(
            load_config(LOCAL_CONFIG),
            config_path=LOCAL_CONFIG,
            duration_s=args.duration,
            data_dir=args.data_dir,
            on_status=kill_a_worker,
        )
        report.update(
            run_id=result.run_id,
            reconciled=result.reconciled,
            reconciliation=result.reconciliation,
            markets={m["market"]: m.get("incarnation", "") for m in result.market_status},
            nodes_alive=sum(1 for n in ray.nodes() if n["Alive"]),
        )
    finally:
        ray.shutdown()
        time.sleep(1)
        cluster.shutdown()
    print(json.dumps(report, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
