"""The alert webhook never follows a redirect (issue 11, case 9): a redirect could carry
the alert body, and the token in the URL's path, to another host."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web
from pydantic import SecretStr

from actors.context import RunContext
from engine.config import load_config
from marketmesh.monitoring import GraphMonitor
from tests.conftest import LOCAL_CONFIG


def _serve(hits: list[str]) -> tuple[asyncio.AbstractEventLoop, int, web.AppRunner]:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def hook(request: web.Request) -> web.Response:
        hits.append(request.path)
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="ok")

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_post("/hook", hook)
        app.router.add_route("*", "/elsewhere", elsewhere)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    return loop, port, runner


def test_a_redirecting_webhook_is_not_followed(tmp_path):
    hits: list[str] = []
    loop, port, runner = _serve(hits)
    try:
        base = load_config(LOCAL_CONFIG)
        url = SecretStr(f"http://127.0.0.1:{port}/hook")
        alerts = base.alerts.model_copy(update={"webhook_url": url})
        config = base.model_copy(update={"alerts": alerts})
        ctx = RunContext("r", "c", str(tmp_path), 0, 7)
        monitor = GraphMonitor(config, ctx, {})
        monitor._post({"alert_id": "a1", "message": "test"})
        monitor.close()
        assert hits == ["/hook"]
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
