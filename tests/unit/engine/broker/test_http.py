"""engine/broker/http.py: the RFQ edge on a real loopback socket, with a stand-in desk.

The desk here records who it was called for; the checks under test (content
type, key, size, signature, rate limit, JSON, the never-500 catch-all) are the
gateway's own. The same gateway in front of the real BrokerActor is tested in
tests/integration/test_rfq_security.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from engine.broker import FirmQuote, NotQuoting
from engine.broker.auth import RequestSigner
from engine.broker.http import RfqDesk, RfqGateway
from engine.broker.records import fill_json
from engine.broker.requests import QuoteRequest
from engine.config import BrokerConfig
from engine.types import Fill, Side

KEY, SECRET = "acme-key-0123456789", "acme-secret-0123456789-0123456789-xyz"


def broker(**patch: Any) -> BrokerConfig:
    fields: dict[str, Any] = {
        "id": "otc",
        "symbol": "BTC/USDT",
        "clients": {"acme": {"api_key": KEY, "api_secret": SECRET}},
        "rate_limit": {"per_s": 1, "burst": 5},
        "auth_failure_limit": {"per_s": 1, "burst": 100},
        "max_body_bytes": 512,
    }
    return BrokerConfig.model_validate({**fields, **patch})


class StubDesk:
    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.rows: list[tuple[str, str | None, str | None]] = []
        self.fail_with = fail_with

    async def quote(self, client: str, wanted: QuoteRequest, now: int) -> FirmQuote:
        self.calls.append((client, wanted))
        if self.fail_with is not None:
            raise self.fail_with
        return FirmQuote(
            "otc-abc", "otc", client, "BTC/USDT", wanted.side, wanted.size, Decimal(60_000),
            now, now + 10**10, 60_000.0, 60_000.0, 0.0,
        )  # fmt: skip

    async def accept(self, client: str, quote_id: str, now: int) -> tuple[FirmQuote, Fill, bool]:
        self.calls.append((client, quote_id))
        raise NotQuoting("stub desk", code="paused")

    def record(self, now, event, quote, error, quote_id, client) -> None:
        self.rows.append((event, client, None if error is None else error.code))

    def desk(self) -> RfqDesk:
        return RfqDesk(
            quote=self.quote,
            accept=self.accept,
            public_health=lambda now: {"broker": "otc", "quoting": True, "reason": ""},
            client_state=lambda client, now: {"client": client, "used_today_quote": "0"},
            record=self.record,
            fill_json=fill_json,
        )


async def _serve(desk: StubDesk, cfg: BrokerConfig, requests: Any) -> Any:
    server = TestServer(RfqGateway(desk.desk(), cfg).app(), host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession(str(server.make_url(""))) as session:
            return await requests(session, RequestSigner(KEY, SECRET.encode()))
    finally:
        await server.close()


async def _post(session, signer, path, body: bytes, headers=None, sign=True):
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if sign:
        all_headers.update(signer.headers("POST", path, body, time.time_ns()))
    async with session.post(path, data=body, headers=all_headers) as r:
        return r.status, dict(r.headers), json.loads(await r.read())


QUOTE = b'{"side": "buy", "size": "0.1"}'


def test_the_client_is_the_key_owner_whatever_the_body_or_header_says():
    """Issue 11, case 2: the client was whatever the body or X-Client-Id named."""
    desk = StubDesk()

    async def scenario(s, signer):
        ok = await _post(s, signer, "/rfq", QUOTE, {"X-Client-Id": "mallory"})
        named = await _post(s, signer, "/rfq", b'{"side":"buy","size":"0.1","client":"globex"}')
        return ok, named

    ok, named = asyncio.run(_serve(desk, broker(), scenario))
    assert ok[0] == 200 and ok[2]["client"] == "acme"
    assert named[0] == 400 and named[2]["field"] == "client"
    assert desk.calls == [("acme", QuoteRequest(Side.BUY, Decimal("0.1")))]


def test_unsigned_and_text_plain_requests_never_reach_the_desk():
    desk = StubDesk()

    async def scenario(s, signer):
        return [
            await _post(s, signer, "/rfq", QUOTE, sign=False),
            await _post(s, signer, "/rfq", QUOTE, {"Content-Type": "text/plain"}),
            await _post(s, signer, "/rfq", QUOTE, {"api-key": "x" * 20}, sign=False),
            await _post(s, signer, "/rfq", b"x" * 600),  # over max_body_bytes
        ]

    answers = asyncio.run(_serve(desk, broker(), scenario))
    assert [(status, body["error"]) for status, _, body in answers] == [
        (401, "unauthorized"),
        (415, "unsupported_media_type"),
        (401, "unauthorized"),
        (413, "payload_too_large"),
    ]
    assert desk.calls == []
    assert all(h["Cache-Control"] == "no-store" for _, h, _ in answers)
    assert all("Access-Control-Allow-Origin" not in h for _, h, _ in answers)


def test_a_burst_past_the_rate_limit_is_429_with_retry_after():
    desk = StubDesk()

    async def scenario(s, signer):
        return [await _post(s, signer, "/rfq", QUOTE) for _ in range(7)]

    answers = asyncio.run(_serve(desk, broker(), scenario))
    assert [a[0] for a in answers] == [200] * 5 + [429] * 2
    _, headers, body = answers[-1]
    assert headers["Retry-After"] == "1" and body["error"] == "rate_limited"
    assert len(desk.rows) == 5  # a throttled request is counted, not written


def test_an_unexpected_error_is_a_logged_json_400_never_a_500(caplog):
    desk = StubDesk(fail_with=ZeroDivisionError("bug"))

    async def scenario(s, signer):
        out = [await _post(s, signer, "/rfq", QUOTE)]
        for method, path in [("GET", "/nope"), ("DELETE", "/rfq"), ("OPTIONS", "/rfq")]:
            async with s.request(method, path) as r:
                out.append((r.status, dict(r.headers), json.loads(await r.read())))
        return out

    with caplog.at_level(logging.ERROR, logger="engine.broker.http"):
        answers = asyncio.run(_serve(desk, broker(), scenario))
    status, _, body = answers[0]
    assert status == 400 and body["error"] == "request_failed"
    assert "retried" in body["message"] and "bug" not in body["message"]
    assert "ZeroDivisionError" in caplog.text
    # unknown route, wrong method, a CORS preflight: JSON 4xx, no CORS grant
    assert [a[0] for a in answers[1:]] == [404, 405, 405]
    assert all(a[2]["error"] == "bad_request" for a in answers[1:])


def test_a_desk_refusal_is_its_json_and_a_malformed_quote_id_is_unknown():
    desk = StubDesk()

    async def scenario(s, signer):
        return [
            await _post(s, signer, "/rfq/otc-abc/accept", b""),
            await _post(s, signer, "/rfq/%ED%A0%80/accept", b"{}"),
            await _post(s, signer, "/rfq/otc-abc/accept", b'{"client": "acme"}'),
        ]

    stub, odd, with_client = asyncio.run(_serve(desk, broker(), scenario))
    assert stub[0] == 503 and stub[2]["error"] == "paused"
    assert odd[0] == 404 and odd[2]["error"] == "unknown_quote"
    assert with_client[0] == 400 and with_client[2]["field"] == "client"
    assert desk.calls == [("acme", "otc-abc")]


def test_health_is_public_and_the_signed_caller_sees_only_itself():
    async def scenario(s, signer):
        async with s.get("/rfq/health") as r:
            public = (r.status, await r.json())
        headers = signer.headers("GET", "/rfq/health", b"", time.time_ns())
        async with s.get("/rfq/health", headers=headers) as r:
            own = (r.status, await r.json())
        async with s.get("/rfq/health", headers={**headers, "api-signature": "0" * 64}) as r:
            forged = (r.status, await r.json())
        return public, own, forged

    public, own, forged = asyncio.run(_serve(StubDesk(), broker(), scenario))
    assert public == (200, {"broker": "otc", "quoting": True, "reason": ""})
    assert own[0] == 200 and own[1]["client"] == {"client": "acme", "used_today_quote": "0"}
    assert forged[0] == 401
