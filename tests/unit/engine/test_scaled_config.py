"""`marketmesh scale`'s config: the live one with markets added or removed, nothing else."""

from __future__ import annotations

import re

import pytest
import yaml

from engine.config import ConfigError, load_config, market_definitions, scaled_config
from tests.conftest import LOCAL_CONFIG

ETH_BTC = {
    "symbol": "ETH/BTC",
    "stage": "bootstrap",
    "order_notional_quote": 0.05,
    "inventory_limit": 4,
    "taker_flow": {"rate_per_s": 0.5, "mean_notional_quote": 0.01},
}


@pytest.fixture
def live():
    return load_config(LOCAL_CONFIG)


def test_round_trip_keeps_the_config_hash(live):
    kept = scaled_config(live, add=[], remove=["SOL/USDT"])
    back = scaled_config(kept, add=["SOL/USDT"], remove=[], definitions=[live.market("SOL/USDT")])
    assert back.config_hash == live.config_hash


def test_add_appends_the_definition_and_remove_drops(live):
    defs = market_definitions({"markets": [ETH_BTC]}, "eth-btc.yaml")
    new = scaled_config(live, add=["ETH/BTC"], remove=["SOL/USDT"], definitions=defs)
    assert [m.symbol for m in new.markets] == ["BTC/USDT", "ETH/USDT", "ETH/BTC"]
    assert new.market("ETH/BTC").order_notional_quote == 0.05
    assert new.venues == live.venues and new.risk == live.risk  # nothing else moves
    assert new.config_hash != live.config_hash


@pytest.mark.parametrize(
    ("add", "remove", "needle"),
    [
        ([], ["XRP/USDT"], "--remove-market XRP/USDT: not in the live graph"),
        (["BTC/USDT"], [], "--add-market BTC/USDT: already in the live graph"),
        (["ADA/USDT"], [], "--add-market ADA/USDT: no definition"),
        (["SOL/USDT"], ["SOL/USDT"], "SOL/USDT: both added and removed"),
        ([], [], "nothing to do"),
    ],
)
def test_bad_requests_name_the_market(live, add, remove, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        scaled_config(live, add=add, remove=remove, definitions=[])


def test_a_market_without_a_price_process_is_refused(live):
    defs = market_definitions({"markets": [{**ETH_BTC, "symbol": "ADA/USDT"}]}, "f.yaml")
    with pytest.raises(ConfigError, match=r"ADA/USDT: sim\.assets has no price process for ADA"):
        scaled_config(live, add=["ADA/USDT"], remove=[], definitions=defs)


def test_removing_every_market_is_refused(live):
    with pytest.raises(ConfigError, match="at least one market"):
        scaled_config(live, add=[], remove=[m.symbol for m in live.markets])


def test_definitions_name_the_file_and_the_field():
    with pytest.raises(ConfigError, match=r"f.yaml: markets\[0\].levels"):
        market_definitions({"markets": [{**ETH_BTC, "levels": -1}]}, "f.yaml")
    with pytest.raises(ConfigError, match="expected a mapping with a `markets:` list"):
        market_definitions(yaml.safe_load("- a"), "f.yaml")
