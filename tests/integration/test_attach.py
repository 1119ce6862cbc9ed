"""A second process attaches to a running graph: status, per-market kill switch, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.config import load_config
from marketmesh.graph import run_graph
from tests.conftest import LOCAL_CONFIG, REPO
from tests.integration import checks

pytestmark = pytest.mark.integration


def _cli(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "marketmesh",
            *args,
            "--address",
            address,
            "--namespace",
            "marketmesh-tests",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RAY_ADDRESS": ""},
    )


def _cli_together(address: str, *calls: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Calls that change nothing the others read (refusals, status) run side by side: each
    CLI process pays its own interpreter and Ray start-up, seconds on a 2-core host."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda args: _cli(address, *args), calls))


def _operations_page_resumes(address: str, market: str) -> None:
    """`marketmesh ui` attached from another process: its status is the status payload, a
    wrong token is refused, the right one resumes `market`."""
    import re
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "marketmesh", "ui", "--port", str(port), "--address", address]
    ui = subprocess.Popen(
        [*cmd, "--namespace", "marketmesh-tests"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "RAY_ADDRESS": ""},
    )
    try:
        assert ui.stderr is not None
        token = None
        while token is None:
            line = ui.stderr.readline()
            assert line, "marketmesh ui exited before serving"
            if found := re.search(r"action token: (\S+)\)", line):
                token = found.group(1)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=10) as resp:
                    payload = json.loads(resp.read())
                break
            except urllib.error.HTTPError:  # 503 until the first read
                time.sleep(0.2)
        assert {m["market"] for m in payload["markets"]} >= {market}
        assert {e["asset"] for e in payload["exposure"]} >= {market.split("/")[0]}

        def act(given: str) -> tuple[int, dict]:
            body = json.dumps({"action": "resume", "market": market, "confirm": True}).encode()
            request = urllib.request.Request(
                f"{url}/api/action",
                data=body,
                headers={"Content-Type": "application/json", "X-Marketmesh-Token": given},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        assert act("not-the-token")[0] == 403
        status, answer = act(token)
        assert status == 200 and market in answer["result"], answer
    finally:
        ui.terminate()
        ui.wait(timeout=30)


def test_status_pause_and_stop_from_another_process(ray_session, tmp_path):
    import ray

    from actors.control import CONTROL_NAME

    address = ray.get_runtime_context().gcs_address
    cfg = load_config(LOCAL_CONFIG)
    outcome: dict = {}

    def run() -> None:
        outcome["result"] = run_graph(
            cfg, config_path=LOCAL_CONFIG, duration_s=300, data_dir=str(tmp_path / "data")
        )

    driver = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    driver.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the graph is up once markets are registered
        try:
            handles = ray.get(ray.get_actor(CONTROL_NAME).handles.remote())
            if any(k.startswith("market:") for k in handles):
                break
        except ValueError:
            pass
        time.sleep(0.5)
    time.sleep(3)

    status = _cli(address, "status", "--json")
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert sorted(m["market"] for m in state["markets"]) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]

    # a new config version, live, then rolled back; rows carry each version's hash
    import yaml

    from analytics.views import connect
    from engine.config import parse_config

    wider = yaml.safe_load(LOCAL_CONFIG.read_text())
    wider["markets"][0]["target_spread_bps"] = 12
    (tmp_path / "wider.yaml").write_text(yaml.safe_dump(wider))
    wider_hash = parse_config(wider, "w").config_hash
    reshaped = yaml.safe_load(LOCAL_CONFIG.read_text())
    reshaped["markets"].pop()
    (tmp_path / "reshaped.yaml").write_text(yaml.safe_dump(reshaped))
    applied, refused = _cli_together(  # a change of shape is refused whatever the version
        address,
        ("apply", str(tmp_path / "wider.yaml")),
        ("apply", str(tmp_path / "reshaped.yaml")),
    )
    assert applied.returncode == 0 and wider_hash in applied.stdout, applied.stderr
    assert refused.returncode == 1 and "markets: symbols differ" in refused.stderr
    time.sleep(4)
    rolled = _cli(address, "rollback")
    assert rolled.returncode == 0 and cfg.config_hash in rolled.stdout, rolled.stderr
    assert _cli(address, "rollback").returncode == 1  # nothing earlier than the first version
    time.sleep(2)

    # reshape the live graph: a market added on a new actor, one removed; others untouched
    added = _cli(
        address, "scale", "--add-market", "ETH/BTC", "--config", "configs/markets/eth-btc.yaml"
    )
    assert added.returncode == 0 and "ETH/BTC: added" in added.stdout, added.stderr
    removed = _cli(address, "scale", "--remove-market", "SOL/USDT")
    assert removed.returncode == 0 and "SOL/USDT: removed" in removed.stdout, removed.stderr
    undefined, gone, across = _cli_together(
        address,
        ("scale", "--add-market", "ADA/USDT"),
        ("scale", "--remove-market", "SOL/USDT"),
        ("rollback",),
    )
    assert undefined.returncode == 1 and "ADA/USDT: no definition" in undefined.stderr
    assert gone.returncode == 1 and "SOL/USDT: not in the live graph" in gone.stderr
    assert across.returncode == 1 and "change of shape" in across.stderr, across.stderr
    time.sleep(6)
    state = json.loads(_cli(address, "status", "--json").stdout)
    live = {m["market"]: m for m in state["markets"]}
    assert sorted(live) == ["BTC/USDT", "ETH/BTC", "ETH/USDT"]
    assert live["ETH/BTC"]["quoting"] and 0.03 < live["ETH/BTC"]["mid"] < 0.07
    assert live["BTC/USDT"]["quoting"]

    paused, wrong = _cli_together(
        address, ("stop", "--market", "ETH/USDT"), ("stop", "--market", "XRP/USDT")
    )
    assert paused.returncode == 0 and "ETH/USDT: paused" in paused.stdout, paused.stderr
    assert wrong.returncode == 1 and "not in this graph" in wrong.stderr
    time.sleep(1.5)
    state = json.loads(_cli(address, "status", "--json").stdout)
    eth = next(m for m in state["markets"] if m["market"] == "ETH/USDT")
    assert eth["paused"] and not eth["quoting"]

    _operations_page_resumes(address, "ETH/USDT")
    time.sleep(1.5)
    status, not_confirmed = _cli_together(  # no terminal to ask on, no --yes: refused
        address, ("status", "--json"), ("stop", "--all")
    )
    eth = next(m for m in json.loads(status.stdout)["markets"] if m["market"] == "ETH/USDT")
    assert not eth["paused"]
    assert not_confirmed.returncode == 2 and "--yes" in not_confirmed.stderr
    stopped = _cli(address, "stop", "--all", "--yes")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    driver.join(timeout=120)
    assert not driver.is_alive()
    assert time.monotonic() - started < 250  # stopped on request, not by its 300 s duration
    result = outcome["result"]
    assert result.reconciled
    statuses = {m["market"]: m for m in result.market_status}
    assert sorted(statuses) == ["BTC/USDT", "ETH/BTC", "ETH/USDT", "SOL/USDT"]
    assert all(m["incarnation"] == "" for m in statuses.values())  # nothing restarted
    con = connect(str(tmp_path / "data"))
    spreads = dict(
        con.execute(
            "select config_hash, median(spread_bps) from book_samples "
            "where market = 'BTC/USDT' group by 1"
        ).fetchall()
    )
    assert spreads[wider_hash] > 10.0 > 8.0 > spreads[cfg.config_hash]
    # the added market traded and was hedged; the removed one's quotes ended at removal
    assert statuses["ETH/BTC"]["fills"] > 0
    assert checks.fills_not_booked_exactly_once(con) == []
    assert checks.fills_unhedged_without_reason(con) == []
    hedged = con.execute(
        "select count(*) from hedge_orders where market = 'ETH/BTC' and filled_amount > 0"
    ).fetchone()[0]
    assert hedged > 0
    sol_after = con.execute(
        "select count(*) from quotes where market = 'SOL/USDT' and action = 'place' and ts > "
        "(select max(ts) from quotes where market = 'SOL/USDT' and action = 'cancel_all')"
    ).fetchone()[0]
    assert sol_after == 0
