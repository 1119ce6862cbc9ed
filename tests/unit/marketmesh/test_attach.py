"""`marketmesh status` (and every ops command) right after `run`: the graph's actors are not
all up for ~10 s. The command waits for them, then says the run is still starting."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from marketmesh.cli import app
from marketmesh.commands import attach as attach_module


class _Control:
    """The control actor as `attach` sees it: `handles` fills in once the graph is up."""

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self._answers = answers
        self.handles = self

    def remote(self) -> dict[str, Any]:
        return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


@pytest.fixture
def plain_get(monkeypatch):
    import ray

    monkeypatch.setattr(ray, "get", lambda ref, **_: ref)


def test_a_starting_run_is_waited_for(plain_get, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda _s: None)
    up = {"ledger": "L", "router": "R", "market:BTC/USDT": "M"}
    control = _Control([{}, {"ledger": "L"}, up])
    assert attach_module._started_handles(control, {"run_id": "r1"}, 5.0) == up


def test_a_run_that_stays_starting_is_named_with_a_message(plain_get, monkeypatch):
    control = _Control([{"ledger": "L"}])  # router never registered
    with pytest.raises(attach_module.StillStarting, match="run r1 is still starting"):
        attach_module._started_handles(control, {"run_id": "r1"}, 0.0)


def test_status_on_a_starting_run_exits_2_without_a_traceback(monkeypatch):
    def starting(*_a: Any, **_k: Any) -> Any:
        raise attach_module.StillStarting("run r1 is still starting (...); try again")

    monkeypatch.setattr(attach_module, "attach", starting)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2
    assert "run r1 is still starting" in result.output
    assert "Traceback" not in result.output and "KeyError" not in result.output


def test_a_run_with_token_auth_is_attached_with_a_token(tmp_path, monkeypatch):
    """Ray enables token auth by itself for a driver's local cluster, not for a client
    given that cluster's address: `status` was refused ("token missing") without it."""
    import os
    import socket

    from marketmesh.graph.registry import RunEntry, register_run

    monkeypatch.setenv("MARKETMESH_HOME", str(tmp_path))
    monkeypatch.setenv("RAY_AUTH_MODE", "")  # recorded, so the test's change is undone
    monkeypatch.delenv("RAY_AUTH_MODE")
    register_run(
        RunEntry(
            "r1",
            "127.0.0.1:6379",
            "marketmesh",
            os.getpid(),
            socket.gethostname(),
            "c.yaml",
            "abc",
            "/data",
            0,
            ray_auth_mode="token",
        )
    )
    attach_module.use_run_auth("127.0.0.1:9999")  # another cluster: left alone
    assert "RAY_AUTH_MODE" not in os.environ
    attach_module.use_run_auth("127.0.0.1:6379")
    assert os.environ["RAY_AUTH_MODE"] == "token"
