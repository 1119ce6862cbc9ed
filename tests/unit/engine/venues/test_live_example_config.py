"""configs/live.example.yaml validates, and its venues are built the way its comments say.

Nothing here contacts an exchange: building a ccxt client opens no connection.
"""

from __future__ import annotations

from pathlib import Path

import ccxt.async_support as ccxt_async
import pytest

from actors.hedge_venue import build_hedge_venue
from engine.config import ConfigError, load_config
from engine.venues.ccxt_venue import CcxtVenue
from engine.venues.paper import PaperVenue

EXAMPLE = Path(__file__).parents[4] / "configs" / "live.example.yaml"
ENV = {
    f"{venue}_{part}": f"dummy-{venue.lower()}-{part.lower()}-7f3a"
    for venue in ("BINANCE", "OKX", "KRAKEN")
    for part in ("API_KEY", "API_SECRET")
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


def test_the_example_validates_with_real_ccxt_ids_in_paper_mode(env):
    config = load_config(EXAMPLE)
    hedges = {v.id: v for v in config.hedge_venues}
    assert {v.exchange for v in hedges.values()} == {"binance", "okx", "kraken"}
    assert all(hasattr(ccxt_async, v.exchange) for v in hedges.values())
    assert all(v.mode == "paper" and not v.simulated for v in hedges.values())
    assert hedges["binance"].api_key.get_secret_value() == env["BINANCE_API_KEY"]
    assert env["BINANCE_API_SECRET"] not in repr(config)
    assert env["BINANCE_API_SECRET"] not in config.model_dump_json()


def test_without_the_environment_every_missing_key_is_named(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE)
    lines = str(caught.value).splitlines()
    assert len(lines) == 6
    assert lines[0] == (
        f"{EXAMPLE}: venues[1].api_key: environment variable BINANCE_API_KEY is not set"
    )


def test_paper_venues_get_no_key_and_live_venues_get_theirs(env):
    config = load_config(EXAMPLE)
    binance = next(v for v in config.hedge_venues if v.id == "binance")
    paper = build_hedge_venue(binance, ["BTC/USDT"])
    assert isinstance(paper, PaperVenue)
    assert not paper.live.client.apiKey and not paper.live.client.secret
    live = build_hedge_venue(binance.model_copy(update={"mode": "live"}), ["BTC/USDT"])
    assert isinstance(live, CcxtVenue)
    assert live.client.apiKey == env["BINANCE_API_KEY"]
    assert "api.binance.com" in str(live.client.urls["api"])


def test_a_mode_other_than_live_or_paper_is_refused(env, tmp_path):
    text = EXAMPLE.read_text().replace("mode: paper                  # paper | live", "mode: demo")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=r"bad.yaml: venues\[1\]\.mode: "):
        load_config(bad)
