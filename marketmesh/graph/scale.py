"""`marketmesh scale`: add and remove markets on a live graph without restarting the others."""

from __future__ import annotations

import logging
from typing import Any

import ray

from engine.config import AppConfig
from marketmesh.graph.builder import Graph, start_all, start_markets

log = logging.getLogger(__name__)


def scale_graph(
    graph: Graph, config: AppConfig, add: list[str], remove: list[str]
) -> dict[str, Any]:
    """Remove markets (quotes cancelled, last fills delivered, rows flushed), then add
    markets on new actors; the other markets' actors are never restarted. Returns
    what was done, or the error that stopped it (what was done before it stands)."""
    config = config.with_secrets_from(graph.config)  # the CLI built it from a redacted copy
    done: dict[str, Any] = {"added": [], "removed": [], "error": ""}
    try:
        for symbol in remove:
            host = graph.markets.pop(symbol)
            graph.removed_status.append(ray.get(host.remove_market.remote(symbol)))
            ray.get(graph.control.unregister.remote([f"market:{symbol}"]))
            if host not in graph.markets.values():  # its last market: retire the actor
                ray.get(host.on_stop.remote())
                graph.hosts.remove(host)
                ray.kill(host)
            done["removed"].append(symbol)
        # venues keep polling a removed market's book: its asset may still need a price
        listed = list(dict.fromkeys(graph.venue_symbols + [m.symbol for m in config.markets]))
        start_all({v: a.on_symbols.remote(listed) for v, a in graph.venues.items()}, "venue")
        graph.venue_symbols = listed
        ray.get(
            [
                a.on_config.remote(config.redacted())
                for a in (graph.router, graph.ledger, graph.rebalancer)
            ]
            + [
                h.on_config.remote(config.redacted(keep_venues={config.home_venue.id}))
                for h in graph.hosts
            ]
        )
        graph.config = config
        if add:
            hosts, markets = start_markets(graph, add)
            graph.hosts.extend(hosts)
            graph.actors.extend(hosts)
            graph.markets.update(markets)
            new = {f"market:{s}": a for s, a in markets.items()}
            ray.get(graph.control.register.remote(new))
            done["added"] = list(add)
    except Exception as exc:
        log.error("scale failed: %s", exc)
        done["error"] = str(getattr(exc, "cause", None) or exc)
    finally:
        if done["added"] or done["removed"]:
            ray.get(graph.control.push_config.remote(graph.config.redacted()))
    log.warning("scale: %s", done)
    return done
