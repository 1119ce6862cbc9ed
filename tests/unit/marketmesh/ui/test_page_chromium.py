"""The operations page in headless Chromium: the numbers it shows are the status JSON's,
the kill switch stops quoting, a wrong token is refused."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from marketmesh.ui.server import UiThread, wait_port
from tests.unit.marketmesh.ui.cdp import CHROMIUM, browser
from tests.unit.marketmesh.ui.fake_graph import PAYLOAD, FakeGraph

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
TOKEN = "t0ken-from-the-terminal"

ROWS = """JSON.stringify([...document.querySelectorAll("#%s tr")].map(tr => Object.fromEntries(
  [...tr.querySelectorAll("td[data-field]")].flatMap(td => [
    [td.dataset.field, td.dataset.value], [td.dataset.field + ":shown", td.textContent]]))))"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served():
    graph = FakeGraph()
    port = free_port()
    thread = UiThread(lambda: graph, port, TOKEN)
    thread.start()
    assert wait_port(port)
    yield graph, f"http://127.0.0.1:{port}/"
    thread.stop()


def shown(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


async def _rows(b, tbody):
    return json.loads(await b.eval(ROWS % tbody))


def test_the_page_shows_the_status_numbers(served, tmp_path):
    graph, url = served

    async def main():
        async with browser(url, tmp_path / "profile") as b:
            await b.until("document.getElementById('conn').textContent === 'live'")
            markets = await _rows(b, "markets")
            assert len(markets) == len(PAYLOAD["markets"])
            for row, status in zip(markets, PAYLOAD["markets"], strict=True):
                assert row["market"] == status["market"]
                for field in ("mid", "spread_bps", "target_spread_bps", "bid_depth_band",
                              "ask_depth_band", "depth_target_quote"):  # fmt: skip
                    assert float(row[field]) == status[field], field
                    assert row[field + ":shown"] == shown(status[field]), field
                assert row["position"] == status["position"]
                assert int(row["fills"]) == status["fills"]
            for row, status in zip(await _rows(b, "exposure"), PAYLOAD["exposure"], strict=True):
                assert float(row["position"]) == status["position"]
                assert row["used_pct:shown"] == shown(status["used"] * 100, 1)
            [hedging] = await _rows(b, "hedging")
            for field in ("hedges", "hedged", "partial", "skipped", "failed", "inflight"):
                assert int(hedging[field]) == PAYLOAD["router"][field]
            venues = [(v["venue"], v["healthy:shown"]) for v in await _rows(b, "venues")]
            assert venues == [("binance", "ok"), ("kraken", "DOWN")]
            alert = await b.eval("document.querySelector('#alerts td:nth-child(3)').innerHTML")
            assert alert.endswith("&lt;b&gt;")  # an alert's text is text, never markup
            assert await b.eval("document.querySelectorAll('svg.spark polyline').length") == 2
            # live: the next refresh moves the number on the page
            graph.payload["markets"][0]["spread_bps"] = 9.99
            await b.until("document.querySelector('#markets td[data-field=spread_bps]')"
                          ".dataset.value === '9.99'", timeout_s=5)  # fmt: skip

    asyncio.run(main())


def test_kill_switch_needs_the_token_and_stops_quoting(served, tmp_path):
    graph, url = served
    result = "document.getElementById('result').textContent"

    async def main():
        async with browser(url, tmp_path / "profile") as b:
            await b.until("document.getElementById('conn').textContent === 'live'")
            await b.eval("window.confirm = () => true; document.getElementById('token').value "
                         "= 'guessed'; document.getElementById('kill').click()")  # fmt: skip
            assert "refused (403)" in await b.until(result)
            assert graph.calls == []
            await b.eval(f"document.getElementById('token').value = '{TOKEN}'; "
                         "document.getElementById('kill').click()")  # fmt: skip
            await b.until(f"{result}.includes('graph stopping')")
            assert graph.calls == [("kill", None)]
            states = await b.until(
                "[...document.querySelectorAll('#markets td[data-field=quoting]')]"
                ".map(td => td.textContent).join('|').includes('paused') && "
                "[...document.querySelectorAll('#markets td[data-field=quoting]')]"
                ".map(td => td.textContent).join('|')"
            )
            assert states == "paused: kill switch|paused: kill switch"

    asyncio.run(main())
