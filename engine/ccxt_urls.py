"""Pointing a ccxt exchange at another host: the loopback venue-sim, or an operator's proxy.

Its own module because both sides need it and neither should import the
other: `engine.venues` points its clients at venue-sim, and `engine.sim`
(venue-sim) checks which paths a real ccxt client would call.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse


def point_api_urls(urls: Any, base_url: str) -> Any:
    """Rewrite every API URL of a ccxt exchange onto `base_url`, keeping each path.

    Used for the loopback venue-sim and for operators who front a venue with a
    proxy; nothing is left pointing at the real host. Websocket URLs (ccxt.pro's
    `urls['api']['ws']`) go to the same host: `wss://stream.binance.com:9443/ws`
    becomes `ws://127.0.0.1:PORT/ws` (`https` bases give `wss`).
    """
    if isinstance(urls, dict):
        return {k: point_api_urls(v, base_url) for k, v in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        return base_url.rstrip("/") + urlparse(urls).path
    if isinstance(urls, str) and urls.startswith("ws"):  # ccxt.pro streams: same host, ws
        return "ws" + base_url.rstrip("/").removeprefix("http") + urlparse(urls).path
    return urls
