"""Hostile requests against a running RFQ broker, from a seeded generator.

Each request picks one way to be wrong: random JSON (wrong types, huge or
deep values, odd Unicode, lone surrogates, NaN), raw bytes that are not
UTF-8, truncated or mangled JSON, duplicate keys, bodies over the size limit,
wrong content types, bad or missing signatures, another key's signature,
expired requests, junk quote ids and paths, wrong methods. Most are signed
with a valid key so they reach the JSON parser and the desk. The answer must
never be a 500; what came back is counted per status and per kind.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from engine.broker.auth import RequestSigner

ODD_TEXT = [
    "\ud800", "\udfff", "\x00", "\u202e", "１", "٣", "\u0301", "😀", "\ufeff", "ｂｕｙ",
    "buy\x00", "BUY", "Sell", "0.01", "1e-3", "-1", "NaN", "Infinity", "inf", " ", "",
]  # fmt: skip
KEYS_SEEN = ["side", "size", "symbol", "client", "price", "quote_id", "__proto__", "\ud800"]


def _text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(ODD_TEXT)
    if roll < 0.7:
        return "".join(chr(rng.randrange(0, 0x110000)) for _ in range(rng.randrange(0, 12)))
    return "x" * rng.choice([1, 64, 300, 3000])


def _number(rng: random.Random) -> Any:
    return rng.choice(
        [
            rng.randrange(-(10**6), 10**6),
            10 ** rng.randrange(20, 60),
            rng.random() * 10 ** rng.randrange(-30, 30),
            float("nan"),
            float("inf"),
            -0.0,
            True,
            None,
        ]
    )


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return _text(rng)
    if roll < 0.6:
        return _number(rng)
    if roll < 0.8:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(KEYS_SEEN): _value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def hostile_body(rng: random.Random) -> tuple[str, bytes]:
    """(kind, body bytes)."""
    kind = rng.choice(
        ["json", "fields", "fields", "deep", "bytes", "mangled", "huge_int", "dup", "big", "empty"]
    )
    if kind == "json":
        body = json.dumps(_value(rng)).encode()
    elif kind == "fields":
        fields = {k: _value(rng) for k in rng.sample(KEYS_SEEN[:4], rng.randrange(1, 4))}
        body = json.dumps(fields).encode()
    elif kind == "deep":
        n = rng.choice([5, 50, 1000, 3000])
        body = (b'{"a":' * n + b"1" + b"}" * n) if rng.random() < 0.5 else b"[" * n + b"]" * n
    elif kind == "bytes":
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    elif kind == "mangled":
        good = bytearray(json.dumps({"side": "buy", "size": "0.01"}).encode())
        for _ in range(rng.randrange(1, 4)):
            good[rng.randrange(len(good))] = rng.randrange(256)
        body = bytes(good[: rng.randrange(1, len(good) + 1)])
    elif kind == "huge_int":
        body = b'{"side": "buy", "size": ' + b"9" * rng.choice([400, 4301, 3900]) + b"}"
    elif kind == "dup":
        body = b'{"side": "buy", "size": "0.01", "side": "sell"}'
    elif kind == "big":
        body = b'{"side": "' + b"b" * 70_000 + b'"}'
    else:
        body = b""
    return kind, body


def hostile_request(
    rng: random.Random, base: str, keys: dict[str, tuple[str, str]], signers: dict[str, Any]
) -> tuple[str, str, str, dict[str, str], bytes]:
    """(kind, method, url, headers, body) of one request."""
    kind, body = hostile_body(rng)
    method, path = "POST", "/rfq"
    roll = rng.random()
    if roll < 0.1:
        path = f"/rfq/{_junk_id(rng)}/accept"
        kind = f"accept:{kind}"
    elif roll < 0.14:
        method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
        kind = f"method:{method}"
    elif roll < 0.16:
        path = rng.choice(["/", "/rfq/", "/rfq/x/y/z", "/rfq/%00/accept", "/rfq/..%2f..%2f/accept"])
        kind = "path"
    headers = {"Content-Type": "application/json"}
    auth = rng.random()
    if auth < 0.65:
        headers.update(signers["fuzzer"].headers(method, path, body, time.time_ns()))
    elif auth < 0.75:
        headers["Content-Type"] = rng.choice(
            ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
             "application/json; charset=latin-1", "application/jsonx", "", "*/*"]
        )  # fmt: skip
        headers.update(signers["fuzzer"].headers(method, path, body, time.time_ns()))
        kind = f"content_type:{kind}"
    elif auth < 0.9:
        signed = signers["fuzzer"].headers(method, path, body, time.time_ns())
        bad = rng.choice(["hex", "short", "missing", "expired", "other_key", "other_body"])
        if bad == "hex":
            signed["api-signature"] = f"{rng.getrandbits(256):064x}"
        elif bad == "short":
            signed["api-signature"] = signed["api-signature"][:10]
        elif bad == "missing":
            signed.pop(rng.choice(list(signed)))
        elif bad == "expired":
            signed["api-expires-ms"] = str(int(signed["api-expires-ms"]) - 60_000)
        elif bad == "other_key":
            signed["api-key"] = keys["acme"][0]
        else:
            signed = signers["fuzzer"].headers(method, path, body + b" ", time.time_ns())
        headers.update(signed)
        kind = f"bad_signature:{bad}"
    else:
        headers["api-key"] = rng.choice(["", "x" * 20, "nobody-" + "a" * 20, "\u00e9" * 20])
        headers["api-key"] = headers["api-key"].encode("utf-8").decode("latin-1")
        kind = "unknown_key"
    return kind, method, f"{base}{path}", headers, body


def _junk_id(rng: random.Random) -> str:
    return rng.choice(
        [
            "otc-btc-" + "A" * 22,
            "otc-btc-1",
            "%ED%A0%80",
            "%FF%FE",
            "x" * 300,
            "..",
            "otc-btc-" + "".join(rng.choice("abcXYZ019_-") for _ in range(22)),
        ]
    )


async def fuzz_broker(
    base: str, keys: dict[str, tuple[str, str]], *, bodies: int, seed: int, concurrency: int = 16
) -> dict[str, Any]:
    """Send `bodies` hostile requests; statuses by count, any 5xx with its request kind."""
    rng = random.Random(seed)
    signers = {name: RequestSigner(k, s.encode()) for name, (k, s) in keys.items()}
    statuses: Counter[int] = Counter()
    by_kind: Counter[str] = Counter()
    server_errors: list[tuple[str, int, str]] = []
    disconnects: list[str] = []
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=20)

    async def one(session: aiohttp.ClientSession) -> None:
        async with gate:  # signed when sent, not when queued: a signature expires
            kind, method, url, headers, body = hostile_request(rng, base, keys, signers)
            try:
                async with session.request(
                    method, URL(url, encoded=True), data=body, headers=headers
                ) as r:
                    text = await r.text(errors="replace")
                    statuses[r.status] += 1
                    by_kind[kind.split(":")[0]] += 1
                    if r.status >= 500 and r.status != 503:
                        server_errors.append((kind, r.status, text[:200]))
                    elif r.status != 204:
                        json.loads(text)  # every answer is JSON
            except (TimeoutError, aiohttp.ClientError) as exc:
                disconnects.append(f"{kind}: {type(exc).__name__}")

    started = time.monotonic()
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, skip_auto_headers=["Content-Type"]
    ) as session:
        await asyncio.gather(*(one(session) for _ in range(bodies)))
    return {
        "statuses": dict(statuses),
        "kinds": dict(by_kind),
        "server_errors": server_errors,
        "disconnects": disconnects,
        "elapsed_s": time.monotonic() - started,
        "host": urlsplit(base).hostname,
    }
