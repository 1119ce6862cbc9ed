"""The operations page during a real run: `marketmesh run --ui-port` on configs/local.yaml,
driven in headless Chromium. Prints how many market numbers on the page were compared with
the status payload (`marketmesh.status.status_payload`, what `status --json` prints, served
at /api/status) within one refresh and how many differ, that a wrong token is refused,
and how long the run took to stop after the kill switch. Saves the page to docs/ui.png.

    PYTHONPATH=$PWD python bench/ui_live_check.py [--duration 90] [--port 18931]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from marketmesh.ui.server import wait_port
from tests.unit.marketmesh.ui.cdp import browser
from tests.unit.marketmesh.ui.test_page_chromium import ROWS

FIELDS = ("mid", "spread_bps", "target_spread_bps", "bid_depth_band", "ask_depth_band",
          "depth_target_quote", "fills", "position")  # fmt: skip
STATES = "[...document.querySelectorAll('#markets td[data-field=quoting]')].map(t => t.textContent)"


def same(shown: str, value: object) -> bool:
    if value is None:
        return shown == ""
    return shown == str(value) or (shown != "" and float(shown) == float(value))  # type: ignore[arg-type]


async def drive(port: int, token: str, screenshot: Path, profile: Path) -> None:
    async with browser(f"http://127.0.0.1:{port}/", profile) as b:
        await b.until(
            "document.getElementById('conn').textContent === 'live' && "
            "document.querySelectorAll('#markets tr').length > 0",
            120,
        )
        await asyncio.sleep(12)  # fills and hedges
        seen: dict[tuple[str, str], set[str]] = {}

        async def sample() -> None:
            for row in json.loads(await b.eval(ROWS % "markets")):
                for k, v in row.items():
                    seen.setdefault((row["market"], k), set()).add(v)

        await sample()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/api/status") as resp,
        ):
            status = await resp.json()
        await sample()
        compared = differ = 0
        for m in status["markets"]:
            for f in FIELDS:
                compared += 1
                if not any(same(s, m[f]) for s in seen.get((m["market"], f), ())):
                    differ += 1
                    print(
                        f"differs: {m['market']} {f}: status {m[f]}, "
                        f"page {seen.get((m['market'], f))}"
                    )
        print(f"run {status['run']['run_id']}: {compared} market numbers compared, {differ} differ")
        await b.screenshot(screenshot)
        click = "window.confirm = () => true; document.getElementById('token').value = '%s'; " \
                "document.getElementById('kill').click()"  # fmt: skip
        await b.eval(click % "wrong")
        print("wrong token:", await b.until("document.getElementById('result').textContent"))
        await b.eval(click % token)
        result = "document.getElementById('result').textContent"
        print("kill switch:", await b.until(f"{result}.includes('stopping') && {result}", 30))
        states = await b.until(f"{STATES}.every(s => s.startsWith('paused')) && {STATES}", 15)
        print("page after the kill switch:", states)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=90)
    ap.add_argument("--port", type=int, default=18931)
    ap.add_argument("--screenshot", default="docs/ui.png")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ui-live-"))
    err = work / "run.err"
    run = subprocess.Popen(
        [sys.executable, "-m", "marketmesh", "run", "configs/local.yaml", "--duration",
         str(args.duration), "--data-dir", str(work / "data"), "--ui-port", str(args.port)],
        stdout=subprocess.DEVNULL, stderr=err.open("w"),
    )  # fmt: skip
    try:
        if not wait_port(args.port, 120):
            raise SystemExit(f"no page on port {args.port}; see {err}")
        token = re.search(r"action token: (\S+)\)", err.read_text())
        assert token, "the run printed no token"
        asyncio.run(drive(args.port, token.group(1), Path(args.screenshot), work / "profile"))
        t0 = time.monotonic()
        rc = run.wait(timeout=180)
        print(f"run exited rc={rc}, {time.monotonic() - t0:.1f}s after the kill switch")
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(timeout=60)


if __name__ == "__main__":
    main()
