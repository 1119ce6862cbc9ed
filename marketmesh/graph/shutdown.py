"""The clean shutdown: the order is what makes "nothing lost" true.

Brokers stop taking RFQs and deliver their last fills; markets stop quoting
and deliver theirs; the router finishes every hedge in flight; the rebalancer
runs its final cycles; the ledger is reconciled against every venue's own
balances; only then is every Parquet buffer flushed and the actors stopped.
"""

from __future__ import annotations

from typing import Any

import ray

from marketmesh.graph.builder import Graph
from marketmesh.graph.control import ask_control
from marketmesh.graph.reconcile import Reconciliation, home_balances, reconcile

FINAL_REBALANCE_CYCLES = 5  # one cycle may be capped by max notional per trade


def shut_down(graph: Graph) -> tuple[list[dict[str, Any]], dict[str, Any], Reconciliation]:
    """Stop the graph in order; returns the markets' last status, the router's, and the
    reconciliation."""
    ray.get([a.on_stop.remote() for a in graph.brokers.values()])  # no new RFQ
    market_status = sorted(
        [s for group in ray.get([a.on_stop.remote() for a in graph.hosts]) for s in group]
        + graph.removed_status,
        key=lambda s: s["market"],
    )
    ray.get(graph.router.drain.remote())
    ray.get(graph.rebalancer.on_stop.remote())
    for _ in range(FINAL_REBALANCE_CYCLES):
        outcomes = ray.get(graph.rebalancer.on_timer.remote())
        ray.get(graph.router.drain.remote())
        if not outcomes:
            break
    ray.get(graph.rebalancer.snapshot_exposure.remote())  # the exposure the run ends with
    config = graph.config
    home_reported = (
        {config.home_venue.id: home_balances(config, graph.home_access)}
        if graph.home_access
        else {}
    )
    reconciliation = reconcile(graph.ledger, graph.venues, home_reported)
    router_status = ray.get(graph.router.status.remote())
    ray.get([graph.router.on_stop.remote(), graph.ledger.on_stop.remote()])
    ray.get([a.on_stop.remote() for a in graph.venues.values()])
    ask_control(graph.control.mark_finished.remote())
    return market_status, router_status, reconciliation
