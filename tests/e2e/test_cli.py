"""The CLI as a new user runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import LOCAL_CONFIG, REPO

pytestmark = pytest.mark.e2e


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "marketmesh", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_run_then_sla_json_lists_the_three_markets(tmp_path):
    data = tmp_path / "data"
    run = _cli("run", "--duration", "20", "--data-dir", str(data))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "BTC/USDT" in run.stdout  # the SLA summary printed at the end
    assert_no_ray_lines(run.stderr + run.stdout)
    assert "starting Ray…" in run.stderr  # the start-up is not silent
    assert re.search(r"reconciled: ledger == venue balances on \d+ venue/asset pairs", run.stderr)
    assert max(len(line) for line in run.stdout.splitlines()) <= 80  # the summary fits
    sla = _cli("sla", "--data-dir", str(data), "--json", timeout=60)
    assert sla.returncode == 0, sla.stderr
    rows = json.loads(sla.stdout)
    assert sorted(r["market"] for r in rows) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    for r in rows:
        assert {
            "market",
            "samples",
            "uptime_pct",
            "spread_bps_p50",
            "spread_bps_p95",
            "spread_within_target_pct",
            "depth_within_target_pct",
            "fills",
            "hedged_pct",
            "pnl_quote",
        } <= set(r)
        assert r["samples"] > 0
    sql = _cli("sql", "--data-dir", str(data), "select count(*) as n from fills", timeout=60)
    assert sql.returncode == 0 and "n" in sql.stdout

    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    check = _cli("check", "--skip-venues", "--data-dir", str(data), "--day", today, "--json")
    report = json.loads(check.stdout)
    assert check.returncode == (1 if report["overall"] == "fail" else 0)
    by = {(c["check"], c["subject"]): c["status"] for c in report["checks"]}
    # a flagship warns under 99.9 % hedged + netted and fails under 99.5 %; in a 20 s run the
    # lot-rounding dust the rebalancer has not netted yet is ~0.2 % of BTC's fills (a CI run:
    # 99.81 %, warn), so the run must not fail it, and the grade must match the figure
    btc = next(c for c in report["checks"] if c["check"] == "sla.hedged_pct"
               and c["subject"] == "BTC/USDT")  # fmt: skip
    covered = sum(float(x) for x in re.findall(r"([\d.]+)% (?:hedged|netted)", btc["detail"]))
    assert btc["status"] == ("pass" if covered >= 99.9 else "warn"), btc
    assert by[("data.freshness", "fills")] == "pass"
    assert {by[("exposure", a)] for a in ("BTC", "ETH", "SOL")} == {"pass"}


RAY_LINES = ("Started a local Ray instance", "Token authentication", "core_worker.cc")


def assert_no_ray_lines(output: str) -> None:
    """`marketmesh run` prints no Ray line by default: not its token-auth notice, not its
    start line, and no `core_worker.cc` error (actors get peers by name, not handles)."""
    for line in RAY_LINES:
        assert line not in output, output[-3000:]


def test_bad_config_fails_at_start_with_file_key_reason(tmp_path):
    data = yaml.safe_load(LOCAL_CONFIG.read_text())
    data["risk"]["max_slippage_bps"] = -3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    out = _cli("run", str(bad), "--duration", "5", timeout=60)
    assert out.returncode == 2
    assert f"{bad}: risk.max_slippage_bps: Input should be greater than or equal to 0" in out.stderr


def test_sla_on_missing_data_dir_is_a_clear_error(tmp_path):
    out = _cli("sla", "--data-dir", str(tmp_path / "nope"), timeout=60)
    assert out.returncode == 2
    assert "no such directory" in out.stderr


def test_ctrl_c_shuts_down_cleanly_and_still_prints_the_sla(tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it; run with
    `--verbose`, which shows Ray's own lines (a graph of its own had cost the suite
    ~45 s for that one check)."""
    import signal
    import time

    data = tmp_path / "data"
    run = ["run", "--duration", "300", "--verbose", "--data-dir", str(data)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketmesh", *run],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    start_up: list[str] = []
    for line in proc.stdout:  # wait for the first status line: the graph is up
        start_up.append(line)
        if re.match(r"\[\s*\d+/\d+s\]", line) or time.monotonic() > deadline:
            break
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=180)
    out = "".join(start_up) + rest
    assert proc.returncode == 0, out[-3000:]
    assert "SIGINT received: shutting down cleanly" in out
    assert "reconciliation" not in out  # no ledger/venue mismatch was reported
    assert "SOL/USDT" in out  # the SLA summary
    assert "Started a local Ray instance" in out  # --verbose: Ray's own lines shown
    assert "core_worker.cc" not in out  # fixed at its cause, not hidden


def test_sla_and_sql_never_import_ray(tmp_path):
    """An analyst's query must not pay for the engine's start-up."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from marketmesh.cli import app\n"
        f"CliRunner().invoke(app, ['sla', '--data-dir', {str(tmp_path)!r}, '--json'])\n"
        f"CliRunner().invoke(app, ['sql', '--data-dir', {str(tmp_path)!r}, 'select 1'])\n"
        "print('ray' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
