"""The Prometheus collector renders the router's stream and REST-weight figures per venue."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from marketmesh.metrics import GraphCollector


def _scrape(router: dict) -> str:
    collector = GraphCollector()
    collector.update([], router)
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_stream_events_and_rest_weight_per_venue():
    text = _scrape(
        {
            "streams": {
                "binance-sim": {
                    "up": False,
                    "reconnects": 3,
                    "resyncs": 5,
                    "stale": 1,
                    "account_reconnects": 2,
                    "touches": 40,
                }
            },
            "rest_weight": {
                "binance-sim": {"weight": 1234.0, "limit_per_min": 6000.0, "venue_used_peak": 321.0}
            },
        }
    )
    assert 'marketmesh_stream_up{venue="binance-sim"} 0.0' in text
    assert 'marketmesh_stream_events_total{event="resyncs",venue="binance-sim"} 5.0' in text
    assert (
        'marketmesh_stream_events_total{event="account_reconnects",venue="binance-sim"} 2.0' in text
    )
    assert 'marketmesh_stream_events_total{event="touches",venue="binance-sim"} 40.0' in text
    assert 'marketmesh_rest_weight_total{venue="binance-sim"} 1234.0' in text
    assert 'marketmesh_rest_weight_limit_per_minute{venue="binance-sim"} 6000.0' in text
    assert 'marketmesh_rest_weight_venue_used_peak{venue="binance-sim"} 321.0' in text


def test_a_venue_without_a_budget_has_no_weight_series():
    text = _scrape({"rest_weight": {}})
    assert "marketmesh_rest_weight_total{" not in text


def test_hedge_failures_are_their_own_series_beside_the_outcomes():
    text = _scrape({"hedges": 60, "hedged": 40, "partial": 5, "skipped": 15, "failed": 2})
    assert 'marketmesh_hedges_total{status="skipped"} 15.0' in text
    assert "marketmesh_hedge_failures_total 2.0" in text  # of the 15 skipped, 2 failed
