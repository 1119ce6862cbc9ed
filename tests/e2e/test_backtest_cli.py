"""`marketmesh backtest` as a user runs it: a run, its SLA, a replay of it, and bad arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import LOCAL_CONFIG, REPO

pytestmark = pytest.mark.e2e


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "marketmesh", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_backtest_then_sla_then_replay(tmp_path):
    data, replay = str(tmp_path / "bt"), str(tmp_path / "replay")
    common = ("--config", str(LOCAL_CONFIG), "--market", "BTC/USDT", "--json")
    run = _cli(
        "backtest", *common, "--policy", "avellaneda_stoikov", "--days", "0.002", "--data-dir", data
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    (result,) = out["markets"]
    assert result["policy"] == "avellaneda_stoikov" and result["fills"] > 0

    sla = _cli("sla", "--data-dir", data, "--json")
    assert sla.returncode == 0, sla.stderr[-2000:]
    (row,) = json.loads(sla.stdout)
    assert row["market"] == "BTC/USDT"
    assert row["fills"] == result["fills"]
    assert row["pnl_quote"] == pytest.approx(result["pnl_quote"], abs=0.01)

    again = _cli(
        "backtest", *common, "--policy", "ladder", "--from-data", data, "--data-dir", replay
    )
    assert again.returncode == 0, again.stderr[-2000:]
    (replayed,) = json.loads(again.stdout)["markets"]
    assert replayed["policy"] == "ladder" and replayed["fills"] > 0
    assert replayed["samples"] == row["samples"]


def test_bad_arguments_fail_with_what_is_known():
    unknown_policy = _cli("backtest", "--policy", "martingale", "--days", "0.001")
    assert unknown_policy.returncode == 2
    assert "--policy martingale" in unknown_policy.stderr
    assert "avellaneda_stoikov, glft, ladder" in unknown_policy.stderr
    unknown_market = _cli("backtest", "--market", "DOGE/USDT", "--days", "0.001")
    assert unknown_market.returncode == 2
    assert "DOGE/USDT" in unknown_market.stderr and "BTC/USDT" in unknown_market.stderr
