"""A graph for the operations page tests: a `marketmesh status --json` payload that moves,
and the actions it was asked for."""

from __future__ import annotations

import copy
from typing import Any

from marketmesh.ui.source import Action, ActionRefused

PAYLOAD: dict[str, Any] = {
    "run": {"run_id": "r-test", "config_hash": "c0ffee12", "data_dir": "/tmp/d", "stopping": False},
    "markets": [
        {"market": "BTC/USDT", "mid": 64_012.5, "spread_bps": 11.37, "target_spread_bps": 12.0,
         "quoting": True, "fills": 42, "position": "0.125", "errors": [], "paused": "",
         "depth_target_quote": 50_000.0, "bid_depth_band": 61_234.56, "ask_depth_band": 48_000.1,
         "policy": "ladder", "vol_regime": "normal"},
        {"market": "ETH/USDT", "mid": 3_101.25, "spread_bps": 23.5, "target_spread_bps": 15.0,
         "quoting": False, "fills": 7, "position": "-2.5", "errors": ["stale reference"],
         "paused": "", "depth_target_quote": 20_000.0, "bid_depth_band": 25_000.0,
         "ask_depth_band": 26_000.0, "policy": "glft", "vol_regime": "widen"},
    ],
    "router": {"hedges": 49, "hedged": 45, "partial": 2, "skipped": 2, "failed": 1, "inflight": 1,
               "venues": {"binance": [True, ""], "kraken": [False, "unreachable: Timeout"]},
               "latency_buckets_s": [0.005, 0.01, 0.05], "latency_counts": [10, 30, 9, 1],
               "latency_sum_s": 0.5},
    "alerts": [
        {"ts": 1_767_225_600_000_000_000, "severity": "warning", "message": "ETH/USDT spread "
         "23.5 bps > 15 bps <b>", "action": "widen", "action_result": "ETH/USDT target 30 bps"},
    ],
    "exposure": [
        {"asset": "BTC", "position": 0.125, "limit": 1.0, "used": 0.125},
        {"asset": "ETH", "position": -2.5, "limit": 2.0, "used": 1.25},
    ],
}  # fmt: skip


class FakeGraph:
    def __init__(self) -> None:
        self.payload = copy.deepcopy(PAYLOAD)
        self.calls: list[tuple[str, str | None]] = []
        self.reads = 0

    async def status(self) -> dict[str, Any]:
        self.reads += 1
        return copy.deepcopy(self.payload)

    async def act(self, action: Action, market: str | None) -> str:
        self.calls.append((action.value, market))
        known = [m["market"] for m in self.payload["markets"]]
        if market is not None and market not in known:
            raise ActionRefused(f"market {market}: not in this graph")
        if action is Action.KILL:
            for m in self.payload["markets"]:
                m["quoting"], m["paused"] = False, "kill switch"
            self.payload["run"]["stopping"] = True
            return "paused BTC/USDT, ETH/USDT; graph stopping"
        return f"{action.value} {market or 'all'}"
