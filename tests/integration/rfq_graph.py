"""One OTC / broker run shared by test_rfq.py and test_rfq_security.py (a graph costs
20-70 s): real Ray graph (runner), venue-sim over HTTP, ccxt hedges, Parquet.

The scenarios run inside the run (from 2 s), as an integrator's client would:
signed requests over aiohttp on 127.0.0.1, plus raw sockets for what aiohttp
will not send. Every answer, ledger balance and status is kept in `seen` for
the tests to assert on; the run's Parquet is read back with DuckDB.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yaml
from typer.testing import CliRunner

from actors.control import CONTROL_NAME
from analytics.views import connect
from engine.broker.auth import RequestSigner
from engine.config import AppConfig, load_config
from marketmesh.cli import app
from marketmesh.graph import RunResult, run_graph
from tests.conftest import REPO
from tests.integration.rfq_fuzz import fuzz_broker

BROKER_CONFIG = REPO / "configs" / "broker.yaml"
DURATION_S = 6  # the scenarios run inside the loop (from 2 s), so the run outlasts it
TTL_S = 1.5
SIZE = "0.1"
FLUSH_S = 1.0
HOME_BTC = "10.1"  # ~10 BTC left for the oversell scenario after the earlier trades
MAX_BODY_BYTES = 16_384  # above the default 4,096, so 9 kB hostile bodies reach the parser
FUZZ_BODIES = 5_000
BURST = 5


def _key(name: str) -> tuple[str, str]:
    return f"{name}-{secrets.token_urlsafe(12)}", secrets.token_urlsafe(32)


CLIENT_NAMES = ("acme", "globex", "cli", "whale", "burst", "fuzzer")
KEYS = {name: _key(name) for name in CLIENT_NAMES}


@dataclass
class RfqRun:
    cfg: AppConfig
    result: RunResult
    seen: dict[str, Any]
    con: Any
    data_dir: Path


class RfqClient:
    """A client as an integrator writes one: every request signed with its own key."""

    def __init__(self, session: aiohttp.ClientSession, name: str) -> None:
        self.name = name
        self.session = session
        api_key, secret = KEYS[name]
        self.signer = RequestSigner(api_key, secret.encode())

    async def post(
        self,
        url: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        sign: bool = True,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        sent = {"Content-Type": content_type}
        if sign:
            sent.update(self.signer.headers("POST", _path(url), data, time.time_ns()))
        sent.update(headers or {})  # after signing: a test may swap a signed header
        async with self.session.post(url, data=data, headers=sent) as r:
            return r.status, json.loads(await r.read()), dict(r.headers)

    async def health(self, base: str, *, sign: bool) -> tuple[int, dict[str, Any]]:
        url = f"{base}/rfq/health"
        sent = self.signer.headers("GET", _path(url), b"", time.time_ns()) if sign else {}
        async with self.session.get(url, headers=sent) as r:
            return r.status, json.loads(await r.read())


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def raw_request(base: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes aiohttp would refuse to (non-UTF-8 header values); (status, body)."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def signed_raw(name: str, base: str, body: bytes, extra_headers: bytes) -> bytes:
    api_key, secret = KEYS[name]
    signed = RequestSigner(api_key, secret.encode()).headers("POST", "/rfq", body, time.time_ns())
    lines = [
        b"POST /rfq HTTP/1.1",
        f"Host: {urlsplit(base).netloc}".encode(),
        b"Content-Type: application/json",
        f"Content-Length: {len(body)}".encode(),
        b"Connection: close",
        *(f"{k}: {v}".encode() for k, v in signed.items()),
        extra_headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# the scenarios ---------------------------------------------------------------


async def basic_scenario(btc: str, cross: str, h: dict[str, Any]) -> dict[str, Any]:
    """Quotes, refusals, an idempotent accept, expiry, pause, a cross; hedged and booked."""
    broker, ledger, router = h["broker:otc-btc"], h["ledger"], h["router"]
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        acme, cli = RfqClient(s, "acme"), RfqClient(s, "cli")
        out["health"] = await acme.health(btc, sign=False)
        out["malformed"] = await acme.post(f"{btc}/rfq", raw=b"{not json")
        out["unsigned"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": SIZE}, sign=False)
        out["client_field"] = await acme.post(
            f"{btc}/rfq", {"client": "acme", "side": "buy", "size": SIZE}
        )
        out["oversized"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": "5"})
        out["increment"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": "0.0015"})
        out["over_request_limit"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": "1"})
        out["quote"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": SIZE})
        out["sell_quote"] = await acme.post(f"{btc}/rfq", {"side": "sell", "size": SIZE})
        out["ledger_before"] = await ledger.balances.remote()
        qid = out["quote"][1]["quote_id"]
        accept = f"{btc}/rfq/{qid}/accept"
        out["accepts"] = await asyncio.gather(acme.post(accept, {}), acme.post(accept))
        out["ledger_after"] = await ledger.balances.remote()
        out["foreign_accept"] = await cli.post(accept, {})
        out["unknown"] = await acme.post(f"{btc}/rfq/otc-btc-nope-1/accept", {})
        short = await acme.post(f"{btc}/rfq", {"side": "buy", "size": "0.01"})
        await asyncio.sleep(TTL_S + 0.3)
        out["expired"] = await acme.post(f"{btc}/rfq/{short[1]['quote_id']}/accept", {})
        await broker.on_pause.remote("desk closed")
        out["paused"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": SIZE})
        await broker.on_resume.remote()
        out["cross"] = await acme.post(f"{cross}/rfq", {"side": "buy", "size": "1"})
        out["retry_after_ttl"] = await acme.post(accept, {})
    await _until_hedged(ledger)
    out["pending_after"] = await ledger.pending_hedges.remote()
    out["router"] = await router.status.remote()
    out["ledger_hedged"] = await ledger.balances.remote()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        cross_id = out["cross"][1]["quote_id"]
        out["cross_accept"] = await RfqClient(s, "acme").post(f"{cross}/rfq/{cross_id}/accept", {})
    await _until_hedged(ledger)
    out["pending_after_cross"] = await ledger.pending_hedges.remote()
    return out


async def _until_hedged(ledger: Any) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and await ledger.pending_hedges.remote():
        await asyncio.sleep(0.2)


async def security_scenario(btc: str, h: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """Issue 11's broker cases (2, 3, 4, 10), each as a request an attacker would send."""
    broker, ledger = h["broker:otc-btc"], h["ledger"]
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
        acme, globex = RfqClient(s, "acme"), RfqClient(s, "globex")
        quote = {"side": "buy", "size": "0.01"}
        # case 2: the client is the key's owner, whatever the body or X-Client-Id say
        out["spoof_header"] = await acme.post(
            f"{btc}/rfq", quote, headers={"X-Client-Id": "globex"}
        )
        out["spoof_body"] = await acme.post(f"{btc}/rfq", {**quote, "client": "globex"})
        out["spoof_key"] = await acme.post(  # acme's signature under globex's key
            f"{btc}/rfq", quote, headers={"api-key": KEYS["globex"][0]}
        )
        out["globex_quote"] = await globex.post(f"{btc}/rfq", quote)
        gid = out["globex_quote"][1]["quote_id"]
        out["cross_client_accept"] = await acme.post(f"{btc}/rfq/{gid}/accept", {})
        out["made_up_accept"] = await acme.post(f"{btc}/rfq/{gid[:-4]}AAAA/accept", {})
        out["ids"] = [(await acme.post(f"{btc}/rfq", quote))[1]["quote_id"] for _ in range(3)]
        out["globex_accept"] = await globex.post(f"{btc}/rfq/{gid}/accept", {})
        # a web page's "simple" request: text/plain needs no CORS preflight
        out["text_plain"] = await acme.post(
            f"{btc}/rfq", quote, content_type="text/plain;charset=UTF-8"
        )
        out["form"] = await acme.post(
            f"{btc}/rfq",
            raw=b"side=buy&size=0.01",
            content_type="application/x-www-form-urlencoded",
        )
        # health: public, and a signed caller sees only itself
        out["health_public"] = await acme.health(btc, sign=False)
        out["health_globex"] = await globex.health(btc, sign=True)
        # case 3: text that cannot be encoded, in the body and in raw header bytes
        out["surrogate_client"] = await acme.post(
            f"{btc}/rfq", raw=b'{"client": "\\ud800", "side": "buy", "size": "0.01"}'
        )
        out["surrogate_side"] = await acme.post(
            f"{btc}/rfq", raw=b'{"side": "\\ud800", "size": "0.01"}'
        )
        body = json.dumps(quote).encode()
        out["raw_client_header"] = await raw_request(
            btc, signed_raw("acme", btc, body, b"X-Client-Id: \xff\xfe\xed\xa0\x80")
        )
        out["raw_key_header"] = await raw_request(
            btc,
            signed_raw("acme", btc, body, b"X-Forwarded-For: \xff").replace(
                b"api-key: acme", b"api-key: \xff\xfeacme"
            ),
        )
        await broker.flush.remote()  # the flush that died on UnicodeEncodeError before
        out["status_after_flush"] = await broker.status.remote()
        # case 10: parser limits
        out["deep"] = await acme.post(f"{btc}/rfq", raw=b"[" * 1000 + b"]" * 1000)
        out["deep_object"] = await acme.post(
            f"{btc}/rfq", raw=b'{"side":' * 1000 + b'"buy"' + b"}" * 1000
        )
        out["huge_int"] = await acme.post(
            f"{btc}/rfq", raw=b'{"side": "buy", "size": ' + b"1" * 4301 + b"}"
        )
        out["fullwidth_digit"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": "１"})
        out["arabic_digit"] = await acme.post(f"{btc}/rfq", {"side": "buy", "size": "٠.٠١"})
        # rate limit: a burst past the client's bucket
        burst = RfqClient(s, "burst")
        out["burst"] = [await burst.post(f"{btc}/rfq", quote) for _ in range(BURST + 3)]
        # case 4: seven concurrent accepts of 2-BTC quotes against 10 BTC
        whale = RfqClient(s, "whale")
        await _until_hedged(ledger)
        out["home_before_oversell"] = (await ledger.balances.remote())["home"]
        quotes = [await whale.post(f"{btc}/rfq", {"side": "buy", "size": "2"}) for _ in range(7)]
        out["oversell_quotes"] = quotes
        out["oversell"] = await asyncio.gather(
            *(whale.post(f"{btc}/rfq/{q[1]['quote_id']}/accept", {}) for q in quotes)
        )
        await broker.drain.remote()
        out["home_after_oversell"] = (await ledger.balances.remote())["home"]
    out.update(await _storage_outage(btc, broker, data_dir))
    started = time.monotonic()
    out["fuzz"] = await fuzz_broker(btc, KEYS, bodies=FUZZ_BODIES, seed=11)
    out["fuzz_s"] = time.monotonic() - started
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
        out["after_fuzz"] = await RfqClient(s, "acme").post(f"{btc}/rfq", quote)
        out["status_after_fuzz"] = await broker.status.remote()
    out.update(await _crash(btc, broker))
    return out


async def _storage_outage(btc: str, broker: Any, data_dir: Path) -> dict[str, Any]:
    """The broker's `rfq_quotes` directory replaced by a file for three flush intervals:
    every flush of that table fails, the loop and quoting go on, health says so, and the
    rows written meanwhile reach Parquet once the directory is back."""
    out: dict[str, Any] = {}
    table = data_dir / "rfq_quotes"
    await broker.flush.remote()
    aside = data_dir / "rfq_quotes.aside"
    table.rename(aside)
    table.write_text("not a directory")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
            acme = RfqClient(s, "acme")
            out["outage_quote"] = await acme.post(f"{btc}/rfq", {"side": "sell", "size": "0.01"})
            await asyncio.sleep(3 * FLUSH_S + 0.5)
            out["outage_health"] = await acme.health(btc, sign=False)
            out["outage_quote_later"] = await acme.post(
                f"{btc}/rfq", {"side": "sell", "size": "0.01"}
            )
            out["outage_status"] = await broker.status.remote()
    finally:
        table.unlink()
        shutil.move(aside, table)
    await broker.flush.remote()
    out["after_outage_status"] = await broker.status.remote()
    return out


async def _crash(btc: str, broker: Any) -> dict[str, Any]:
    """SIGKILL the broker's worker: Ray restarts it (max_restarts) and it listens again at
    once, though no one calls it; quotes given before the crash are unknown after it."""
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        acme = RfqClient(s, "acme")
        before = await acme.post(f"{btc}/rfq", {"side": "buy", "size": "0.01"})
        await broker.drain.remote()
        await broker.flush.remote()
        info = await broker.process_info.remote()
        os.kill(info["pid"], signal.SIGKILL)
        out["crashed_pid"] = info["pid"]
        deadline = time.monotonic() + 30
        url = None
        while time.monotonic() < deadline and url is None:
            await asyncio.sleep(0.5)
            try:
                url = await asyncio.wait_for(broker.url.remote(), 5)
            except Exception:
                url = None
        out["restarted_url"] = url
        out["restarted_info"] = await broker.process_info.remote()
        if url:
            out["after_crash_quote"] = await acme.post(
                f"{url}/rfq", {"side": "buy", "size": "0.01"}
            )
            out["after_crash_old_accept"] = await acme.post(
                f"{url}/rfq/{before[1]['quote_id']}/accept", {}
            )
            out["after_crash_health"] = await acme.health(url, sign=False)
    return out


# the run ---------------------------------------------------------------------


def _config(tmp: Path) -> tuple[AppConfig, Path]:
    raw = yaml.safe_load(BROKER_CONFIG.read_text())
    for m in raw["markets"]:  # no synthetic takers: the only home fills are the broker's
        m["taker_flow"] = {"rate_per_s": 0}
        # each broker fill followed to its own hedge (flagships net by default since #13)
        m["hedge_mode"] = "mirror"
    raw["venues"][0]["balances"]["BTC"] = HOME_BTC
    raw["analytics"]["flush_interval_s"] = FLUSH_S
    clients: dict[str, Any] = {
        name: {"api_key": key, "api_secret": secret} for name, (key, secret) in KEYS.items()
    }
    clients["acme"].update(
        max_notional_per_request_quote=50_000, max_notional_per_day_quote=200_000
    )
    clients["burst"]["rate_limit"] = {"per_s": 0.2, "burst": BURST}
    clients["fuzzer"]["rate_limit"] = {"per_s": 10_000, "burst": 10_000}
    for b in raw["brokers"]:
        b["port"] = 0
        b["clients"] = clients
        b["auth_failure_limit"] = {"per_s": 200, "burst": 500}
        b["max_body_bytes"] = MAX_BODY_BYTES
    raw["brokers"][0]["quote_expiry_time"] = TTL_S
    path = tmp / "broker.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_config(path), path


def run_rfq_graph(ray: Any, tmp: Path) -> RfqRun:
    cfg, path = _config(tmp)
    data_dir = tmp / "data"
    seen: dict[str, Any] = {}

    def on_status(elapsed_s: float, _markets: Any, _router: Any) -> None:
        if elapsed_s < 2 or seen:
            return
        handles = ray.get(ray.get_actor(CONTROL_NAME).handles.remote())
        btc = ray.get(handles["broker:otc-btc"].url.remote())
        cross = ray.get(handles["broker:otc-eth-btc"].url.remote())
        seen.update(asyncio.run(basic_scenario(btc, cross, handles)))
        cli = CliRunner()  # `marketmesh rfq`, the operator's client, against the same broker
        api_key, secret = KEYS["cli"]
        env = {"MARKETMESH_RFQ_API_KEY": api_key, "MARKETMESH_RFQ_API_SECRET": secret}
        seen["cli_quote"] = cli.invoke(
            app, ["rfq", "quote", btc, "--side", "sell", "--size", "0.002"], env=env
        )
        seen["cli_oversized"] = cli.invoke(
            app, ["rfq", "quote", btc, "--side", "sell", "--size", "3"], env=env
        )
        seen["cli_unknown"] = cli.invoke(app, ["rfq", "accept", btc, "nope"], env=env)
        seen["cli_no_secret"] = cli.invoke(
            app,
            ["rfq", "quote", btc, "--side", "sell", "--size", "0.002", "--api-key", api_key],
            env={"MARKETMESH_RFQ_API_SECRET": ""},
        )
        seen["cli_health"] = cli.invoke(app, ["rfq", "health", btc], env=env)
        seen["security"] = asyncio.run(security_scenario(btc, handles, data_dir))

    result = run_graph(
        cfg,
        config_path=path,
        duration_s=DURATION_S,
        data_dir=str(data_dir),
        on_status=on_status,
    )
    assert seen, "the scenario never ran"
    return RfqRun(cfg, result, seen, connect(str(data_dir)), data_dir)
