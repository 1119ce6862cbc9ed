"""BrokerConfig (engine/config/broker.py): HollaEx-like fields, errors as `file: key: reason`."""

from __future__ import annotations

import pytest
import yaml

from engine.config import ConfigError, load_config, parse_config, structural_changes
from tests.conftest import REPO

EXAMPLE = REPO / "configs" / "broker.yaml"


def _with(patch, index=0):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["brokers"][index].update(patch)
    return parse_config(data, "broker.yaml")


def test_example_loads_with_defaults():
    cfg = load_config(EXAMPLE)
    btc, cross = cfg.brokers
    assert (btc.symbol, btc.hedged_symbol, btc.account) == ("BTC/USDT", "BTC/USDT", "home")
    assert cross.price_formula == "*:ETH/USDT / *:BTC/USDT"
    assert cross.quote_expiry_time == 30.0  # HollaEx default
    assert btc.limits_for("acme").max_notional_per_request_quote == 50_000
    assert btc.limits_for("anyone").max_notional_per_request_quote == 150_000
    assert _with({"formula": None}).brokers[0].price_formula == "*:BTC/USDT"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"formula": "nope:BTC/USDT"}, "brokers: [0] (otc-btc).formula: 'nope' is not a hedge"),
        ({"account": "x"}, "brokers: [0] (otc-btc).account: no venue 'x'"),
        ({"formula": "*:ETH/USDT"}, "brokers[0]: formula '*:ETH/USDT' prices ETH/USDT, not BTC"),
        ({"min_size": "5"}, "brokers[0]: min_size 5 is above max_size 2"),
        ({"min_size": "0.0015"}, "brokers[0]: min_size 0.0015 is not a multiple of increment"),
        ({"hedge_symbol": "ETH/USDT"}, "brokers[0]: hedge_symbol ETH/USDT must have the base"),
        ({"spread": -1}, "brokers[0].spread: Input should be greater than or equal to 0"),
    ],
)
def test_bad_broker_config_names_file_key_reason(patch, message):
    with pytest.raises(ConfigError) as exc:
        _with(patch)
    assert str(exc.value).startswith("broker.yaml: ")
    assert message in str(exc.value)


def test_formula_must_use_configured_markets():
    with pytest.raises(ConfigError, match="DOGE/USDT is not a configured market"):
        _with(
            {"symbol": "ETH/DOGE", "formula": "*:ETH/USDT / *:DOGE/USDT"},
            index=1,
        )


def test_adding_or_moving_a_broker_needs_a_restart_but_a_spread_change_does_not():
    old = load_config(EXAMPLE)
    assert structural_changes(old, _with({"spread": 0.3})) == []
    assert any(c.startswith("brokers:") for c in structural_changes(old, _with({"port": 9999})))
