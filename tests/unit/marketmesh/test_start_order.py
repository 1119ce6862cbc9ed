"""The driver starts quoting last: every actor a fill reaches is up before the first."""

from pathlib import Path
from typing import Any

import pytest

from actors.context import RunContext
from engine.config import load_config
from marketmesh.graph import builder
from marketmesh.graph.builder import Graph, start_trading

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "loopback.yaml"


class _Handle:
    """A started actor's handle: each method call is logged as it is submitted."""

    def __init__(self, kind: str, started: list[str]) -> None:
        self._kind, self._started = kind, started

    def __getattr__(self, method: str) -> Any:
        def remote(*_args: Any, **_kwargs: Any) -> str:
            if method == "on_start":
                self._started.append(self._kind)
            return f"{self._kind}.{method}"

        return type("Method", (), {"remote": staticmethod(remote)})()


def test_markets_start_after_the_router_and_the_rebalancer(monkeypatch: pytest.MonkeyPatch):
    started: list[str] = []

    def spawn(cls: type, kind: Any, config: Any, **_options: Any) -> Any:
        return type(
            "Actor", (), {"remote": staticmethod(lambda *a, **k: _Handle(kind.value, started))}
        )

    def start_markets(graph: Graph, symbols: list[str]) -> tuple[list[Any], dict[str, Any]]:
        started.append("market")
        return [], {}

    monkeypatch.setattr(builder, "spawn", spawn)
    monkeypatch.setattr(builder, "start_markets", start_markets)
    monkeypatch.setattr(builder.ray, "get", lambda refs: refs)
    config = load_config(CONFIG)
    ctx = RunContext("r1", config.config_hash, "/tmp/unused", 0, 7)
    start_trading(Graph(config, ctx, control=None, ledger=None, venues={}, home_access={}))
    assert started == ["router", "rebalancer", "market"]
