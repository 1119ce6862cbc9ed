"""The aiohttp application of the operations page.

    GET  /             the page
    GET  /events       server-sent events: the page state, at most one per refresh
    GET  /api/status   the status payload as `marketmesh status --json` prints it
    POST /api/action   {"action": kill|pause|resume|rollback, "market": ..., "confirm": true}
                       with the token in `X-Marketmesh-Token`

One poller reads the source every `refresh_s` (never under 1 s) and every
open page gets that state: a hundred tabs cost the graph one status call.
Actions are refused unless they come from loopback to a loopback Host, as
JSON, confirmed, with the token (compared in constant time): 403 otherwise.
Every answer of the API is JSON, errors included.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from marketmesh.ui.page import render_page
from marketmesh.ui.source import Action, ActionRefused, GraphSource
from marketmesh.ui.view import SpreadHistory, page_state

log = logging.getLogger(__name__)

MIN_REFRESH_S = 1.0
TOKEN_HEADER = "X-Marketmesh-Token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})

SOURCE: web.AppKey[GraphSource] = web.AppKey("source")
FEED: web.AppKey[StateFeed] = web.AppKey("feed")


class StateFeed:
    """The latest page state and status payload, and a way to wait for the next one."""

    def __init__(self, source: GraphSource, refresh_s: float) -> None:
        self.source = source
        self.refresh_s = max(MIN_REFRESH_S, refresh_s)
        self.history = SpreadHistory()
        self.payload: dict[str, Any] | None = None
        self.state: dict[str, Any] | None = None
        self.error = ""
        self.version = 0
        self._changed = asyncio.Condition()

    async def refresh(self) -> None:
        """One read of the source; a failed read keeps the last state and says why."""
        try:
            payload = await self.source.status()
        except Exception as exc:  # the graph stopping, a Ray hiccup: the page says so
            self.error = f"status unavailable: {type(exc).__name__}"
            log.warning("ui: %s: %s", self.error, exc)
            return
        self.error = ""
        self.history.add(payload.get("markets", []))
        self.payload, self.state = payload, page_state(payload, self.history)
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.refresh_s)

    async def next_after(self, version: int) -> int:
        async with self._changed:
            await self._changed.wait_for(lambda: self.version > version)
            return self.version


def _json_error(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


def _is_loopback(request: web.Request) -> bool:
    try:
        remote_ok = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False
    host = request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else "[::1]"
    return remote_ok and host in LOOPBACK_HOSTS


@web.middleware
async def _guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Loopback only (a DNS-rebound name is refused by its Host); API errors as JSON."""
    if not _is_loopback(request):
        return _json_error(403, "loopback only")
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if request.path.startswith("/api/"):
            return _json_error(exc.status, exc.reason)
        raise


async def _page(request: web.Request) -> web.Response:
    nonce = secrets.token_urlsafe(12)
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return web.Response(
        text=render_page(nonce),
        content_type="text/html",
        headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"},
    )


async def _status(request: web.Request) -> web.Response:
    feed = request.app[FEED]
    if feed.payload is None:
        return _json_error(503, feed.error or "no status yet")
    return web.json_response(feed.payload, dumps=lambda o: json.dumps(o, default=str))


async def _events(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await resp.prepare(request)
    await resp.write(f"retry: {int(feed.refresh_s * 1000)}\n\n".encode())
    seen = 0
    try:
        while True:
            if feed.version > seen and feed.state is not None:
                seen = feed.version
                state = {**feed.state, "error": feed.error}
                await resp.write(f"data: {json.dumps(state, default=str)}\n\n".encode())
            await feed.next_after(seen)
    except ConnectionResetError:  # the page was closed
        return resp


def check_token(expected: str, given: str | None) -> bool:
    """Constant-time: how much of a wrong token matched never shows in the timing."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def _action_handler(token: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def action(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _json_error(415, "send JSON")
        if not check_token(token, request.headers.get(TOKEN_HEADER)):
            return _json_error(403, "wrong or missing token")
        try:
            body = await request.json()
            what = Action(body["action"])
            market = body.get("market")
        except (ValueError, KeyError, TypeError):
            return _json_error(400, f"action must be one of {', '.join(a.value for a in Action)}")
        if body.get("confirm") is not True:
            return _json_error(400, "not confirmed")
        if market is not None and not isinstance(market, str):
            return _json_error(400, "market must be a symbol")
        try:
            result = await request.app[SOURCE].act(what, market)
        except ActionRefused as exc:
            return _json_error(409, str(exc))
        log.warning("operations page: %s %s -> %s", what.value, market or "", result)
        await request.app[FEED].refresh()
        return web.json_response({"ok": True, "action": what.value, "result": result})

    return action


def build_app(source: GraphSource, token: str, *, refresh_s: float = 1.0) -> web.Application:
    """The application; its poller starts and stops with it."""
    app = web.Application(middlewares=[_guard])
    app[SOURCE] = source
    app[FEED] = StateFeed(source, refresh_s)

    async def poller(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(app[FEED].run())
        yield
        task.cancel()

    app.cleanup_ctx.append(poller)
    app.router.add_get("/", _page)
    app.router.add_get("/events", _events)
    app.router.add_get("/api/status", _status)
    app.router.add_post("/api/action", _action_handler(token))
    return app
