"""Binance's request signing: API key, HMAC-SHA256 signature and the recvWindow rule.

Split out of `engine/sim/binance_http.py` (issue 12). A signed request carries its key
in `X-MBX-APIKEY` and a hex HMAC-SHA256 of the query string concatenated with the form
body (without `&signature=`); its `timestamp` must fall within `recvWindow` of the
server's clock. Neither keys nor secrets ever appear in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import unquote

from engine.sim.binance_limits import RequestRejected
from engine.sim.binance_wire import BadRecvWindow, int_param, ms
from engine.sim.exchange import MissingParameter

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000


class MissingApiKey(RequestRejected):
    def __init__(self) -> None:
        super().__init__("API-key format invalid.")


class InvalidApiKey(RequestRejected):
    def __init__(self) -> None:
        super().__init__("Invalid API-key, IP, or permissions for action.")


class InvalidSignature(RequestRejected):
    def __init__(self) -> None:
        super().__init__("Signature for this request is not valid.")


class TimestampOutsideRecvWindow(RequestRejected):
    pass


def authenticate(
    secrets: Mapping[str, str],
    api_key: str,
    payload: str,
    signature: str | None,
    params: dict[str, str],
    now_ns: int,
) -> str:
    """Check key, signature and timestamp of a signed request; return the account."""
    if not api_key:
        raise MissingApiKey()
    secret = secrets.get(api_key)
    if secret is None:
        raise InvalidApiKey()
    if "timestamp" not in params:
        raise MissingParameter("timestamp")
    if not signature:
        raise MissingParameter("signature")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise InvalidSignature()
    timestamp_ms = int_param(params, "timestamp")
    recv_window_ms = int_param(params, "recvWindow", DEFAULT_RECV_WINDOW_MS)
    if recv_window_ms > MAX_RECV_WINDOW_MS or recv_window_ms <= 0:
        raise BadRecvWindow(MAX_RECV_WINDOW_MS)
    server_ms = ms(now_ns)
    if timestamp_ms >= server_ms + 1_000:
        raise TimestampOutsideRecvWindow(
            "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if server_ms - timestamp_ms > recv_window_ms:
        raise TimestampOutsideRecvWindow("Timestamp for this request is outside of the recvWindow.")
    return api_key


def split_signature(raw: str) -> tuple[str, str | None]:
    """Split `a=1&b=2&signature=ff` into the signed part and the signature."""
    kept: list[str] = []
    signature = None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = unquote(part.removeprefix("signature="))
        else:
            kept.append(part)
    return "&".join(kept), signature
