"""Prometheus metrics of a running graph, served by the driver on `--metrics-port`.

The driver already polls every market and the router once a second; the
collector renders that latest snapshot at scrape time, so a scrape never
reaches into the actors and costs them nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from engine.venues.stream_view import STREAM_EVENTS


class GraphCollector(Collector):
    def __init__(self) -> None:
        self.markets: list[dict[str, Any]] = []
        self.router: dict[str, Any] = {}

    def update(self, markets: list[dict[str, Any]], router: dict[str, Any]) -> None:
        self.markets, self.router = markets, router

    def collect(self) -> Iterator[Metric]:
        quoting = GaugeMetricFamily(
            "marketmesh_quoting", "1 when the bot has live two-sided quotes", labels=["market"]
        )
        spread = GaugeMetricFamily(
            "marketmesh_spread_bps", "home book spread in bps", labels=["market"]
        )
        target = GaugeMetricFamily(
            "marketmesh_target_spread_bps", "the market's target spread", labels=["market"]
        )
        depth = GaugeMetricFamily(
            "marketmesh_depth_quote",
            "resting depth within the market's band (quote)",
            labels=["market", "side"],
        )
        position = GaugeMetricFamily(
            "marketmesh_home_position_base", "home inventory change (base)", labels=["market"]
        )
        fills = CounterMetricFamily("marketmesh_fills", "home fills of the bot", labels=["market"])
        for m in self.markets:
            quoting.add_metric([m["market"]], 1.0 if m["quoting"] else 0.0)
            if m.get("spread_bps") is not None:
                spread.add_metric([m["market"]], float(m["spread_bps"]))
            target.add_metric([m["market"]], float(m.get("target_spread_bps") or 0.0))
            depth.add_metric([m["market"], "bid"], float(m.get("bid_depth_band") or 0.0))
            depth.add_metric([m["market"], "ask"], float(m.get("ask_depth_band") or 0.0))
            position.add_metric([m["market"]], float(m["position"]))
            fills.add_metric([m["market"]], float(m["fills"]))
        yield from (quoting, spread, target, depth, position, fills)

        hedges = CounterMetricFamily("marketmesh_hedges", "hedges by outcome", labels=["status"])
        for status in ("hedged", "partial", "skipped"):
            hedges.add_metric([status], float(self.router.get(status, 0)))
        yield hedges
        yield CounterMetricFamily(
            "marketmesh_hedge_failures",
            "skipped hedges that executed nothing for a fault, not for having nothing to trade",
            value=float(self.router.get("failed", 0)),
        )
        health = GaugeMetricFamily(
            "marketmesh_venue_healthy",
            "1 when the router may route to the venue",
            labels=["venue"],
        )
        for venue, (ok, _) in self.router.get("venues", {}).items():
            health.add_metric([venue], 1.0 if ok else 0.0)
        yield health
        stream_up = GaugeMetricFamily(
            "marketmesh_stream_up",
            "1 when the venue's market data stream is up, 0 while it polls REST",
            labels=["venue"],
        )
        stream_events = CounterMetricFamily(
            "marketmesh_stream_events",
            "stream reconnects, resyncs from a snapshot (update-id gaps), stale resyncs, "
            "reconnects of the account (balance) stream, books the real-time touch moved "
            "between diffs and reconnects of its stream",
            labels=["venue", "event"],
        )
        for venue, s in self.router.get("streams", {}).items():
            stream_up.add_metric([venue], 1.0 if s["up"] else 0.0)
            for event in (*STREAM_EVENTS, "account_reconnects"):
                stream_events.add_metric([venue, event], float(s.get(event) or 0))
        yield stream_up
        yield stream_events
        rest_weight = CounterMetricFamily(
            "marketmesh_rest_weight",
            "REST request weight spent on the venue's key since start (budget: "
            "marketmesh_rest_weight_limit_per_minute)",
            labels=["venue"],
        )
        weight_limit = GaugeMetricFamily(
            "marketmesh_rest_weight_limit_per_minute",
            "the venue key's request-weight budget per minute",
            labels=["venue"],
        )
        used_peak = GaugeMetricFamily(
            "marketmesh_rest_weight_venue_used_peak",
            "the venue's own count of the IP's weight in one minute (X-MBX-USED-WEIGHT-1M), "
            "highest seen",
            labels=["venue"],
        )
        for venue, w in self.router.get("rest_weight", {}).items():
            rest_weight.add_metric([venue], float(w["weight"]))
            weight_limit.add_metric([venue], float(w["limit_per_min"]))
            used_peak.add_metric([venue], float(w.get("venue_used_peak") or 0.0))
        yield rest_weight
        yield weight_limit
        yield used_peak
        bounds = self.router.get("latency_buckets_s")
        if bounds:
            cumulative, buckets = 0, []
            for bound, n in zip(
                [*bounds, float("inf")], self.router["latency_counts"], strict=True
            ):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            yield HistogramMetricFamily(
                "marketmesh_hedge_latency_seconds",
                "fill on the home venue -> first hedge child order sent",
                buckets=buckets,
                sum_value=self.router["latency_sum_s"],
            )


def serve_metrics(port: int, host: str = "127.0.0.1") -> tuple[GraphCollector, Any]:
    """Start the endpoint on its own registry; returns the collector and the server."""
    registry = CollectorRegistry()
    collector = GraphCollector()
    registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise RuntimeError(f"--metrics-port {port}: cannot listen on {host}: {exc}") from None
    return collector, server
