"""The operations page's aiohttp app: status and events from the source, actions guarded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from marketmesh.ui.app import TOKEN_HEADER, build_app, check_token
from tests.unit.marketmesh.ui.fake_graph import PAYLOAD, FakeGraph

TOKEN = "s3cret-token"


def _with_client(graph: FakeGraph, check: Any, **kw: Any) -> None:
    async def main() -> None:
        async with TestClient(TestServer(build_app(graph, TOKEN, **kw))) as client:
            await check(client)

    asyncio.run(main())


async def _first_event(client: TestClient) -> dict[str, Any]:
    resp = await client.get("/events")
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    while True:
        line = (await resp.content.readline()).decode()
        if line.startswith("data: "):
            resp.close()
            return json.loads(line[len("data: ") :])


def _post(client: TestClient, body: Any, token: str | None = TOKEN, **headers: str) -> Any:
    if token is not None:
        headers[TOKEN_HEADER] = token
    return client.post("/api/action", json=body, headers=headers)


def test_status_is_the_status_payload_and_events_carry_the_page_state():
    graph = FakeGraph()

    async def check(client: TestClient) -> None:
        state = await _first_event(client)
        assert [m["market"] for m in state["markets"]] == ["BTC/USDT", "ETH/USDT"]
        btc, eth = state["markets"]
        assert btc["spread_bps"] == 11.37 and btc["spread_ok"] is True
        assert eth["spread_ok"] is False and eth["depth_ok"] is True
        assert btc["depth_ok"] is False  # asks 48,000.1 < 50,000
        assert "<polyline" in btc["sparkline"]
        assert state["hedging"]["mean_ms"] == pytest.approx(0.5 / 50 * 1e3)
        assert state["hedging"]["p95_under_ms"] == pytest.approx(50.0)
        assert state["venues"][1] == {
            "venue": "kraken",
            "healthy": False,
            "reason": "unreachable: Timeout",
        }
        assert state["exposure"] == PAYLOAD["exposure"]
        status = await (await client.get("/api/status")).json()
        assert status == PAYLOAD

    _with_client(graph, check)


def test_the_page_is_self_contained():
    async def check(client: TestClient) -> None:
        resp = await client.get("/")
        html = await resp.text()
        assert resp.status == 200
        assert "http://" not in html and "https://" not in html  # nothing fetched elsewhere
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "connect-src 'self'" in csp
        assert TOKEN not in html  # the token is typed by the operator, never served

    _with_client(FakeGraph(), check)


def test_actions_are_refused_without_the_token_json_or_confirmation():
    graph = FakeGraph()
    ok = {"action": "kill", "confirm": True}

    async def check(client: TestClient) -> None:
        for token, status in ((None, 403), ("wrong", 403), (TOKEN[:-1], 403)):
            resp = await _post(client, ok, token)
            assert resp.status == status
            assert (await resp.json())["ok"] is False
        form = await client.post("/api/action", data="action=kill", headers={TOKEN_HEADER: TOKEN})
        assert form.status == 415
        assert (await _post(client, {"action": "kill"})).status == 400  # not confirmed
        assert (await _post(client, {"action": "explode", "confirm": True})).status == 400
        rebound = await _post(client, ok, Host="marketmesh.evil.example")
        assert rebound.status == 403  # a DNS-rebound page reaches loopback under another name
        assert graph.calls == []
        missing = await client.get("/api/nope")
        assert missing.status == 404 and (await missing.json())["ok"] is False

    _with_client(graph, check)


def test_kill_switch_calls_the_control_and_the_page_shows_it_stopped_quoting():
    graph = FakeGraph()

    async def check(client: TestClient) -> None:
        before = await _first_event(client)
        assert before["markets"][0]["quoting"] is True
        resp = await _post(client, {"action": "kill", "confirm": True})
        assert resp.status == 200
        assert (await resp.json())["result"].endswith("graph stopping")
        assert graph.calls == [("kill", None)]
        after = await _first_event(client)
        assert [m["quoting"] for m in after["markets"]] == [False, False]
        assert after["run"]["stopping"] is True
        pause = await _post(client, {"action": "pause", "market": "DOGE/USDT", "confirm": True})
        assert pause.status == 409 and "not in this graph" in (await pause.json())["error"]

    _with_client(graph, check)


def test_never_more_than_one_refresh_a_second():
    graph = FakeGraph()

    async def check(client: TestClient) -> None:
        await _first_event(client)
        reads = graph.reads
        await asyncio.sleep(1.5)
        assert graph.reads - reads <= 2

    _with_client(graph, check, refresh_s=0.01)


def test_token_compare():
    assert check_token("abc", "abc")
    assert not check_token("abc", "abd") and not check_token("abc", None)
    assert not check_token("abc", "abcd")


def test_a_taken_port_leaves_the_run_alone():
    import socket

    from marketmesh.ui.server import UiThread

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        thread = UiThread(FakeGraph, taken.getsockname()[1], TOKEN)
        thread.start()
        thread.join(10)
        assert "not served on port" in thread.error
