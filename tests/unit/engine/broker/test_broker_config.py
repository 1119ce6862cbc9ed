"""BrokerConfig (engine/config/broker.py): HollaEx-like fields, errors as `file: key: reason`."""

from __future__ import annotations

import pytest
import yaml

from engine.config import ConfigError, load_config, parse_config, structural_changes
from tests.conftest import REPO

EXAMPLE = REPO / "configs" / "broker.yaml"
DEMO_KEY = "acme-demo-key-0123456789"
DEMO_SECRET = "acme-demo-secret-0123456789-abcdefghij"


@pytest.fixture(autouse=True)
def _client_keys(monkeypatch):
    """The example takes acme's key pair from the variables the `marketmesh rfq` CLI reads."""
    monkeypatch.setenv("MARKETMESH_RFQ_API_KEY", DEMO_KEY)
    monkeypatch.setenv("MARKETMESH_RFQ_API_SECRET", DEMO_SECRET)


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
    assert btc.clients["acme"].api_key.get_secret_value() == DEMO_KEY
    assert cross.clients == btc.clients  # one YAML anchor
    assert btc.rate_limit_for("acme").burst == 20 and btc.host == "127.0.0.1"
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
        ({"host": "0.0.0.0"}, "brokers[0]: host '0.0.0.0' is not loopback"),
        ({"host": "192.168.1.20"}, "put it behind a TLS reverse proxy and set allow_remote: true"),
        ({"host": "rfq.example.com"}, "brokers[0]: host 'rfq.example.com' is not loopback"),
        (
            {"clients": {"acme": {"api_key": DEMO_KEY, "api_secret": "short"}}},
            "brokers[0].clients.acme.api_secret: api_secret must be at least 32",
        ),
        (
            {"clients": {"acme": {"api_key": "a b", "api_secret": DEMO_SECRET}}},
            "brokers[0].clients.acme.api_key: api_key must be 16-128",
        ),
        (
            {"clients": {"acme": {"api_key": DEMO_KEY, "api_secret": ""}}},
            "api_secret must be at least 32",  # `${VAR:-}` left empty: refused, not open
        ),
        (
            {
                "clients": {
                    "a": {"api_key": DEMO_KEY, "api_secret": DEMO_SECRET},
                    "b": {"api_key": DEMO_KEY, "api_secret": DEMO_SECRET + "x"},
                }
            },
            "brokers[0]: clients: two clients share an api_key",
        ),
        ({"clients": {"\ud800": {}}}, "brokers[0].clients"),
    ],
)
def test_bad_broker_config_names_file_key_reason(patch, message):
    with pytest.raises(ConfigError) as exc:
        _with(patch)
    assert str(exc.value).startswith("broker.yaml: ")
    assert message in str(exc.value)


def test_a_remote_host_needs_allow_remote():
    """Issue 11: `host: 0.0.0.0` was accepted silently; the API has no TLS of its own."""
    cfg = _with({"host": "0.0.0.0", "allow_remote": True})
    assert cfg.brokers[0].host == "0.0.0.0"
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert _with({"host": host}).brokers[0].host == host


def test_a_missing_key_variable_fails_at_load_naming_it(monkeypatch):
    monkeypatch.delenv("MARKETMESH_RFQ_API_SECRET")
    with pytest.raises(ConfigError, match="environment variable MARKETMESH_RFQ_API_SECRET"):
        load_config(EXAMPLE)


def test_client_secrets_stay_out_of_errors_reprs_and_the_config_hash(monkeypatch):
    cfg = load_config(EXAMPLE)
    assert DEMO_SECRET not in repr(cfg) and DEMO_KEY not in repr(cfg)
    assert DEMO_SECRET not in str(cfg.model_dump(mode="json"))
    monkeypatch.setenv("MARKETMESH_RFQ_API_SECRET", DEMO_SECRET + "-rotated")
    assert load_config(EXAMPLE).config_hash == cfg.config_hash
    with pytest.raises(ConfigError) as exc:
        _with({"clients": {"acme": {"api_key": DEMO_KEY, "api_secret": DEMO_SECRET[:20]}}})
    assert DEMO_SECRET[:20] not in str(exc.value) and DEMO_KEY not in str(exc.value)


def test_unlisted_clients_get_the_default_limits_and_listed_ones_their_own():
    btc = _with(
        {
            "clients": {
                "acme": {
                    "api_key": DEMO_KEY,
                    "api_secret": DEMO_SECRET,
                    "max_notional_per_day_quote": 5,
                    "rate_limit": {"per_s": 1, "burst": 2},
                }
            }
        }
    ).brokers[0]
    acme = btc.limits_for("acme")
    assert (acme.max_notional_per_request_quote, acme.max_notional_per_day_quote) == (150_000, 5)
    assert btc.rate_limit_for("acme").burst == 2 and btc.rate_limit_for("other").burst == 20


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
