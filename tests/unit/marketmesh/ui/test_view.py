"""The page state and its sparklines, from a status payload."""

import re
from types import SimpleNamespace

from marketmesh.status import exposure_vs_limits
from marketmesh.ui.view import SpreadHistory, hedge_latency, page_state, sparkline_svg
from tests.unit.marketmesh.ui.fake_graph import PAYLOAD


def test_sparkline_draws_every_known_point_and_the_target():
    svg = sparkline_svg([10.0, None, 12.0, 14.0], target=12.0)
    runs = re.findall(r'points="([^"]+)"', svg)
    assert [len(r.split()) for r in runs] == [1, 2]  # a gap where the spread was unknown
    ys = [float(p.split(",")[1]) for r in runs for p in r.split()]
    assert ys[0] > ys[1] > ys[2]  # higher spread, higher on the page
    assert 'stroke-dasharray="3,2"' in svg
    assert "<polyline" not in sparkline_svg([], None)


def test_history_keeps_the_last_points_per_market():
    history = SpreadHistory(points=3)
    for spread in (1.0, 2.0, 3.0, 4.0):
        history.add([{"market": "BTC/USDT", "spread_bps": spread}])
    assert history.of("BTC/USDT") == [2.0, 3.0, 4.0] and history.of("X") == []


def test_latency_from_the_router_histogram():
    assert hedge_latency({"latency_counts": [0, 0], "latency_buckets_s": [0.1]})["mean_ms"] is None
    over = hedge_latency(
        {"latency_counts": [1, 99], "latency_buckets_s": [0.1], "latency_sum_s": 50}
    )
    assert over["p95_under_ms"] is None and over["mean_ms"] == 500.0  # past the last bound


def test_alerts_newest_first_and_at_most_ten():
    payload = {**PAYLOAD, "alerts": [{"message": str(i)} for i in range(15)]}
    state = page_state(payload, SpreadHistory())
    assert [a["message"] for a in state["alerts"]] == [str(i) for i in range(14, 4, -1)]


def test_exposure_sums_markets_of_one_asset_against_their_limits():
    config = SimpleNamespace(
        markets=[
            SimpleNamespace(symbol="BTC/USDT", inventory_limit=1.0),
            SimpleNamespace(symbol="BTC/EUR", inventory_limit=0.5),
        ]
    )
    markets = [
        {"market": "BTC/USDT", "position": "0.5"},
        {"market": "BTC/EUR", "position": "-0.2"},
        {"market": "SOL/USDT", "position": "3"},
    ]
    btc, sol = exposure_vs_limits(markets, config)
    assert btc == {"asset": "BTC", "position": 0.3, "limit": 1.5, "used": 0.3 / 1.5}
    assert sol == {"asset": "SOL", "position": 3.0, "limit": None, "used": None}
