"""Serving the operations page on 127.0.0.1: in the foreground (`marketmesh ui`), or in a
thread beside a run's driver (`marketmesh run --ui-port`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable

from aiohttp import web

from marketmesh.ui.app import build_app
from marketmesh.ui.source import GraphSource

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never another interface: the page can stop the graph


def new_token() -> str:
    """The action token printed at start; only who reads the terminal can act."""
    return secrets.token_urlsafe(18)


async def start(
    source: GraphSource, port: int, token: str, *, refresh_s: float = 1.0
) -> tuple[web.AppRunner, int]:
    """The page served on `HOST:port` (0: a free port); returns the runner and the port."""
    runner = web.AppRunner(build_app(source, token, refresh_s=refresh_s), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    bound = int(runner.addresses[0][1])
    return runner, bound


class UiThread:
    """The page beside a run: waits in its own thread until `connect` can reach the graph
    (the driver starts it), then serves until `stop`."""

    def __init__(self, connect: Callable[[], GraphSource], port: int, token: str) -> None:
        self._connect, self._port, self._token = connect, port, token
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        self.error = ""
        self._thread = threading.Thread(target=self._main, name="marketmesh-ui", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop already ended
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=5)

    def join(self, timeout_s: float) -> None:
        """Until the page stopped serving (or never could: `error` says why)."""
        self._thread.join(timeout=timeout_s)

    def _main(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        source = None
        while source is None and not self._stopped.is_set():
            try:
                source = self._connect()
            except Exception:  # the graph is not up yet
                await asyncio.sleep(0.5)
        if source is None:
            return
        try:
            runner, _ = await start(source, self._port, self._token)
        except OSError as exc:  # the port is taken: the run goes on without its page
            self.error = f"operations page not served on port {self._port}: {exc.strerror}"
            log.error("%s", self.error)
            return
        try:
            await self._stopped.wait()
        finally:
            await runner.cleanup()


def wait_port(port: int, timeout_s: float = 30.0) -> bool:
    """True once something accepts on HOST:port (tests and scripts wait for the page)."""
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return True
        time.sleep(0.1)
    return False
