"""The RFQ broker's HTTP edge (aiohttp): every request is checked here before the desk
sees it.

    POST /rfq               {"side", "size"[, "symbol"]}  -> firm quote
    POST /rfq/{id}/accept   {} or empty                   -> the fill
    GET  /rfq/health        public state; with a signature also the caller's own

Order of the checks, cheapest first: `Content-Type: application/json` (415);
a known `api-key` (401, before the body is read); the body size (413); the
signature over the exact request, its expiry and replay (401,
engine/broker/auth.py); the caller's token bucket (429 + Retry-After); the
body's JSON and fields (400, engine/broker/requests.py); then the desk (the
`RfqError` it raises). The client is the key's owner and nothing else. A
middleware turns anything unexpected into a JSON 400 that says the request
may be retried (an accept never executes twice), so the broker never answers
500, and aiohttp's own 404/405/413 into the same JSON shape. No CORS headers:
a browser page cannot read an answer or send a JSON POST cross-origin.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from engine.broker.auth import AUTH_HEADERS, ClientCredential, RequestAuthenticator
from engine.broker.errors import (
    PayloadTooLarge,
    RateLimited,
    RfqError,
    UnknownQuote,
)
from engine.broker.quotes import FirmQuote
from engine.broker.ratelimit import KeyedRateLimits, TokenBucket
from engine.broker.requests import (
    QuoteRequest,
    check_content_type,
    decode_json_object,
    parse_accept_request,
    parse_quote_request,
)
from engine.types import Fill

if TYPE_CHECKING:
    from engine.config import BrokerConfig

log = logging.getLogger(__name__)

_QUOTE_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}", re.ASCII)
_SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True, slots=True)
class RfqDesk:
    """What the broker does once a request is authenticated and well-formed.

    `record(now, event, quote, error, quote_id, client)` writes the `rfq_quotes` row
    of every answer (a rate-limited request is only counted).
    """

    quote: Callable[[str, QuoteRequest, int], Awaitable[FirmQuote]]
    accept: Callable[[str, str, int], Awaitable[tuple[FirmQuote, Fill, bool]]]
    public_health: Callable[[int], dict[str, Any]]
    client_state: Callable[[str, int], dict[str, Any]]
    record: Callable[..., None]
    fill_json: Callable[[Fill], dict[str, Any]]


class RfqGateway:
    """Authentication, limits and strict input in front of one `RfqDesk`."""

    def __init__(self, desk: RfqDesk, broker: BrokerConfig) -> None:
        self._desk = desk
        self.stats = {
            "unauthorized": 0,
            "rate_limited": 0,
            "bad_requests": 0,
            "internal_errors": 0,
        }
        self._rates = KeyedRateLimits()
        self._auth = RequestAuthenticator(
            (), window_s=broker.signature_window_s, failure_limit=TokenBucket(1, 1)
        )
        self.configure(broker)

    def configure(self, broker: BrokerConfig) -> None:
        """Keys, limits and sizes from the (new) config; a rotated key applies at once."""
        self._broker = broker
        credentials = [
            ClientCredential(
                client=cid,
                api_key=c.api_key.get_secret_value(),
                secret=c.api_secret.get_secret_value().encode(),
            )
            for cid, c in broker.clients.items()
        ]
        failures = TokenBucket(broker.auth_failure_limit.per_s, broker.auth_failure_limit.burst)
        self._auth.reconfigure(
            credentials, window_s=broker.signature_window_s, failure_limit=failures
        )

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=self._broker.max_body_bytes, middlewares=[self._never_500]
        )
        app.add_routes(
            [
                web.post("/rfq", self._http_quote),
                web.post("/rfq/{quote_id}/accept", self._http_accept),
                web.get("/rfq/health", self._http_health),
            ]
        )
        return app

    # routes ------------------------------------------------------------------

    async def _http_quote(self, request: web.Request) -> web.StreamResponse:
        now = time.time_ns()
        client = None
        try:
            client, body = await self._checked(request, now)
            wanted = parse_quote_request(body, symbol=self._broker.symbol)
            quote = await self._desk.quote(client, wanted, now)
        except RfqError as exc:
            return self._refused(now, "refused", exc, None, client)
        self._desk.record(now, "quoted", quote, None, None, client)
        return _json(quote.as_json())

    async def _http_accept(self, request: web.Request) -> web.StreamResponse:
        now = time.time_ns()
        raw_id = request.match_info["quote_id"]
        quote_id = raw_id if _QUOTE_ID.fullmatch(raw_id) else None
        client = None
        try:
            client, body = await self._checked(request, now)
            parse_accept_request(body)
            if quote_id is None:
                raise UnknownQuote("no such quote (or it was pruned); request a new quote")
            quote, fill, executed = await self._desk.accept(client, quote_id, now)
        except RfqError as exc:
            return self._refused(now, "accept_rejected", exc, quote_id, client)
        if executed:
            self._desk.record(now, "accepted", quote, None, None, client)
        return _json(
            {
                "fill": self._desk.fill_json(fill),
                "quote": quote.as_json(),
                "already_accepted": not executed,
            }
        )

    async def _http_health(self, request: web.Request) -> web.StreamResponse:
        """Public state; a signed request also gets its own client's usage and limits."""
        now = time.time_ns()
        out = self._desk.public_health(now)
        if any(h in request.headers for h in AUTH_HEADERS):
            try:
                credential = self._auth.authenticate(
                    request.method, request.rel_url.raw_path_qs, request.headers, b"", now
                )
            except RfqError as exc:
                return self._refused(now, None, exc, None, None)
            out["client"] = self._desk.client_state(credential.client, now)
        return _json(out)

    # checks ------------------------------------------------------------------

    async def _checked(self, request: web.Request, now: int) -> tuple[str, dict[str, Any]]:
        """(client, body) of a signed, rate-limited, well-formed JSON request."""
        check_content_type(request.headers.get("Content-Type"))
        credential = self._auth.known_key(request.headers, now)  # before reading the body
        raw = await self._read_body(request)
        self._auth.verify(
            credential, request.method, request.rel_url.raw_path_qs, request.headers, raw, now
        )
        limit = self._broker.rate_limit_for(credential.client)
        wait_s = self._rates.take(credential.client, limit.per_s, limit.burst, now)
        if wait_s:
            raise RateLimited(wait_s)
        return credential.client, decode_json_object(raw)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self._broker.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"body of {request.content_length} bytes (max {limit})")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise PayloadTooLarge(f"body above {limit} bytes") from None

    def _refused(
        self,
        now: int,
        event: str | None,
        exc: RfqError,
        quote_id: str | None,
        client: str | None,
    ) -> web.StreamResponse:
        """The JSON error; its row unless it is a 429 (a flood is counted, not written)."""
        if isinstance(exc, RateLimited):
            self.stats["rate_limited"] += 1
        else:
            if exc.status == 401:
                self.stats["unauthorized"] += 1
            elif exc.status in (400, 413, 415):
                self.stats["bad_requests"] += 1
            if event is not None:
                self._desk.record(now, event, None, exc, quote_id, client)
        if exc.detail:
            log.info("rfq %s refused for %s: %s (%s)", event, client, exc.code, exc.detail)
        return error_response(exc)

    @web.middleware
    async def _never_500(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # aiohttp's own: unknown route, wrong method, size
            status = exc.status if 400 <= exc.status < 500 else 400
            self.stats["bad_requests"] += 1
            response = _json(
                {"error": "bad_request", "message": exc.reason or "bad request"}, status=status
            )
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("rfq %s %s failed", request.method, request.rel_url.raw_path)
            response = _json(
                {
                    "error": "request_failed",
                    "message": "the broker could not process this request (logged); it may "
                    "be retried: an accept never executes twice",
                },
                status=400,
            )
        response.headers.update(_SECURITY_HEADERS)
        return response


def error_response(exc: RfqError) -> web.Response:
    headers: Mapping[str, str] = {}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    return _json(exc.as_json(), status=exc.status, headers=headers)


def _json(
    payload: dict[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(payload, status=status, headers=headers, dumps=_dumps)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, default=str)  # ensure_ascii: any odd text goes out escaped
