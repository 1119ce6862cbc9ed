"""The driver creates every actor at once (their processes boot side by side) and starts
quoting last: every actor a fill reaches is up before the first, and the router's streamed
books are young enough to hedge it on."""

from pathlib import Path
from typing import Any

import pytest

from actors.context import RunContext
from engine.config import load_config
from marketmesh.graph import builder
from marketmesh.graph.builder import Graph, SimAccess, spawn_actors, start_trading, start_venues

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "loopback.yaml"


class _Handle:
    """A started actor's handle: each method call is logged as it is submitted."""

    def __init__(self, kind: str, started: list[str]) -> None:
        self._kind, self._started = kind, started

    def __getattr__(self, method: str) -> Any:
        def remote(*_args: Any, **_kwargs: Any) -> Any:
            if method == "on_start":
                self._started.append(self._kind)
            if method == "books_ready":
                self._started.append(f"{self._kind}.books_ready")
                return {}  # every streamed book young
            return f"{self._kind}.{method}"

        return type("Method", (), {"remote": staticmethod(remote)})()


def test_quoting_starts_anyway_when_a_stream_stays_behind_and_says_which(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    asked: list[tuple[list[str], float]] = []

    class Router:
        class books_ready:  # stands in for the actor method
            @staticmethod
            def remote(symbols: list[str], timeout_s: float) -> dict[str, list[str]]:
                asked.append((symbols, timeout_s))
                return {"okx-sim": ["BTC/USDT", "ETH/USDT"]}

    monkeypatch.setattr(builder.ray, "get", lambda refs: refs)
    builder.wait_for_young_books(Router(), ["BTC/USDT", "ETH/USDT"])
    assert asked == [(["BTC/USDT", "ETH/USDT"], builder.BOOKS_READY_TIMEOUT_S)]
    err = capsys.readouterr().err
    assert "not young after 5 s (okx-sim: BTC/USDT, ETH/USDT)" in err
    assert "quoting starts" in err


def test_every_actor_is_created_before_any_starts_and_quoting_still_starts_last(
    monkeypatch: pytest.MonkeyPatch,
):
    events: list[str] = []

    def spawn(cls: type, kind: Any, config: Any, **_options: Any) -> Any:
        def create(*_a: Any, **_k: Any) -> _Handle:
            events.append(f"create {kind.value}")
            return _Handle(kind.value, events)

        return type("Actor", (), {"remote": staticmethod(create)})

    monkeypatch.setattr(builder, "spawn", spawn)
    monkeypatch.setattr(builder.ray, "get", lambda refs: refs)
    config = load_config(CONFIG)
    ctx = RunContext("r1", config.config_hash, "/tmp/unused", 0, 7)
    actors: list[Any] = []
    spawned = spawn_actors(config, ctx, SimAccess(None, "k", "s"), {}, actors)
    start_venues(spawned.venues)
    graph = Graph(config, ctx, None, spawned.ledger, spawned.venues, {}, actors=actors)
    start_trading(graph, spawned)

    creates = [e for e in events if e.startswith("create ")]
    starts = [e for e in events if not e.startswith("create ")]
    hedge_venues = len(config.hedge_venues)
    assert events[: len(creates)] == creates  # nothing starts before all are made
    assert creates == [
        *["create venue"] * hedge_venues,
        "create ledger",
        "create router",
        "create rebalancer",
        *["create market"] * len(spawned.hosts),
    ]
    assert starts == [
        *["venue"] * hedge_venues,
        "router",
        "rebalancer",
        "router.books_ready",
        *["market"] * len(spawned.hosts),
    ]
    assert len(actors) == len(creates)  # each is killed if the start fails
    assert graph.markets.keys() == {m.symbol for m in config.markets}
