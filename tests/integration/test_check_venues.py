"""`marketmesh check` against live-like venues: the loopback venue-sim, no Ray."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import yaml

from engine.config import ConfigError, parse_config
from engine.readiness import CheckStatus
from engine.sim.server import SimCredentials, VenueSimServer
from marketmesh.commands.check import _venue_checks
from tests.conftest import LOCAL_CONFIG


def _serve(cfg):
    """Run a venue-sim for `cfg` on a background loop; return (urls, stop)."""
    loop = asyncio.new_event_loop()
    server = VenueSimServer(cfg, start_ns=time.time_ns(), credentials=SimCredentials("k", "s"))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    served = asyncio.run_coroutine_threadsafe(server.start(0), loop).result(10)

    def stop():
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)

    return {s.venue_id: s.url for s in served}, stop


def test_clean_sim_passes_every_venue_check():
    cfg = parse_config(yaml.safe_load(LOCAL_CONFIG.read_text()), "local")
    results = _venue_checks(cfg)
    assert results and all(r.status is CheckStatus.PASS for r in results), [
        r for r in results if r.status is not CheckStatus.PASS
    ]


def _pointed_at(urls, **venue_fields):
    data = yaml.safe_load(LOCAL_CONFIG.read_text())
    for v in data["venues"][1:]:
        v.update(url=urls[v["id"]], **venue_fields)
    return data


def test_wrong_key_and_unlisted_symbol_fail():
    urls, stop = _serve(parse_config(yaml.safe_load(LOCAL_CONFIG.read_text()), "local"))
    try:
        wrong_key = _venue_checks(
            parse_config(_pointed_at(urls, api_key="not-the-key", api_secret="nope"), "bad")
        )
        unlisted = _pointed_at(urls, api_key="k", api_secret="s")
        unlisted["sim"]["assets"]["DOGE"] = {"initial_price": 0.1}
        unlisted["markets"].append({"symbol": "DOGE/USDT"})
        # issue 15: a market no hedge venue lists is refused when the config is read,
        # before `check` (or a run) reaches any venue
        with pytest.raises(ConfigError, match="no hedge venue lists DOGE/USDT"):
            parse_config(unlisted, "bad")
        listed_nowhere = _pointed_at(urls, api_key="k", api_secret="s")
        listed_nowhere["sim"]["assets"]["DOGE"] = {"initial_price": 0.1}
        listed_nowhere["markets"].append({"symbol": "DOGE/USDT"})
        binance = next(v for v in listed_nowhere["venues"] if v["id"] == "binance-sim")
        binance.setdefault("symbol_rules", {})["DOGE/USDT"] = {}
        missing_symbol = _venue_checks(parse_config(listed_nowhere, "bad"))
    finally:
        stop()
    by = {(r.check, r.subject): r for r in wrong_key}
    assert by[("venue.reachable", "binance-sim")].status is CheckStatus.PASS
    assert by[("venue.authenticated", "binance-sim")].status is CheckStatus.FAIL
    assert "-2015" in by[("venue.authenticated", "binance-sim")].detail
    # configured on binance-sim only: okx-sim, which the router may also use, lacks it
    by = {(r.check, r.subject): r for r in missing_symbol}
    assert by[("venue.symbols", "okx-sim")].status is CheckStatus.FAIL
    assert "DOGE/USDT" in by[("venue.symbols", "okx-sim")].detail
