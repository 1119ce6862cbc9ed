"""Ops commands attach to a graph named, never to whichever started last (issue 11, case 8)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from marketmesh.commands.attach import NotRunning, WhichRun, resolve
from marketmesh.graph.registry import RunEntry, live_runs, register_run, unregister_run


def _entry(run_id: str, pid: int) -> RunEntry:
    host = socket.gethostname()
    address = f"127.0.0.1:{6000 + len(run_id)}"
    return RunEntry(run_id, address, "marketmesh", pid, host, "c.yaml", "abc", "/data", 0)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETMESH_HOME", str(tmp_path))
    return tmp_path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_no_run_one_run_and_a_dead_one(home):
    with pytest.raises(NotRunning, match="no marketmesh run is live on this host"):
        resolve(None, "marketmesh", None)
    register_run(_entry("20261204T100000aaaa", os.getpid()))
    register_run(_entry("20261204T090000dead", _dead_pid()))
    assert resolve(None, "x", None) == ("127.0.0.1:6019", "marketmesh")
    assert [r.run_id for r in live_runs()] == ["20261204T100000aaaa"]  # the dead one is gone
    assert not (home / "runs" / "20261204T090000dead.json").exists()


def test_two_live_runs_must_be_named(home):
    register_run(_entry("20261204T100000aaaa", os.getpid()))
    register_run(_entry("20261204T110000bb", os.getppid()))
    with pytest.raises(WhichRun, match="2 runs are live on this host; name one with --run-id"):
        resolve(None, "marketmesh", None)
    assert resolve(None, "marketmesh", "20261204T110000bb")[0] == "127.0.0.1:6017"
    with pytest.raises(NotRunning, match="--run-id nope: no such run"):
        resolve(None, "marketmesh", "nope")
    assert resolve("10.0.0.1:6379", "ns", None) == ("10.0.0.1:6379", "ns")  # an explicit cluster
    unregister_run("20261204T110000bb")
    assert [r.run_id for r in live_runs()] == ["20261204T100000aaaa"]
