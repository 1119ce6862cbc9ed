"""Where each kind of actor runs and how Ray restarts it: one table for the whole graph.

Every actor that holds run state restarts by itself after a crash
(`max_restarts=-1`) and Ray retries the call that was in flight
(`max_task_retries=-1`); each actor makes a retried call harmless (fills and
outcomes are deduplicated by id, child orders reuse their client ids). Placement
is a no-op on one machine; on a cluster markets spread over nodes, hedge venues
go where the exchange keys and whitelisted IPs are (nodes with the custom
resource `venue_access`, see cluster.yaml), and the ledger, router and
rebalancer stay with the driver, where the journal's disk is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from engine.config import AppConfig

VENUE_ACCESS = "venue_access"


class ActorKind(StrEnum):
    LEDGER = "ledger"
    VENUE = "venue"
    ROUTER = "router"
    MARKET = "market"
    REBALANCER = "rebalancer"
    BROKER = "broker"


def actor_options(kind: ActorKind, config: AppConfig) -> dict[str, Any]:
    """`.options(...)` for one actor of `kind`: CPUs, restarts and placement."""
    rc = config.ray
    cpus = (
        rc.market_actor_cpus
        if kind in (ActorKind.MARKET, ActorKind.BROKER)
        else rc.venue_actor_cpus
    )
    return {
        "num_cpus": cpus,
        "max_restarts": -1,
        "max_task_retries": -1,
        **_placement(kind),
    }


def spawn(actor_class: Any, kind: ActorKind, config: AppConfig, **extra: Any) -> Any:
    """`actor_class.options(...)` from the table; `extra` (a name, a node) wins."""
    return actor_class.options(**{**actor_options(kind, config), **extra})


def _placement(kind: ActorKind) -> dict[str, Any]:
    if kind is ActorKind.MARKET:
        return {"scheduling_strategy": "SPREAD"}
    if kind is ActorKind.VENUE:
        if ray.cluster_resources().get(VENUE_ACCESS):
            return {"resources": {VENUE_ACCESS: 0.001}}
        return {}
    if kind is ActorKind.BROKER:
        return {}
    # ledger (its journal's disk), router and rebalancer live with the driver (a run
    # ends with its driver anyway); soft, so they still restart if that node is gone
    driver_node = ray.get_runtime_context().get_node_id()
    return {"scheduling_strategy": NodeAffinitySchedulingStrategy(driver_node, soft=True)}
