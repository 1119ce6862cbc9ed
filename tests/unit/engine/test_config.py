from pathlib import Path

import pytest
import yaml

from engine.config import ConfigError, MarketTier, load_config, parse_config

LOCAL = Path(__file__).resolve().parents[3] / "configs" / "local.yaml"


def _local() -> dict:
    return yaml.safe_load(LOCAL.read_text())


def test_local_config_loads_with_tier_bands():
    cfg = load_config(LOCAL)
    btc, sol = cfg.market("BTC/USDT"), cfg.market("SOL/USDT")
    assert btc.tier is MarketTier.FLAGSHIP and sol.tier is MarketTier.LONG_TAIL
    assert btc.target_spread_bps < sol.target_spread_bps
    assert btc.max_spread_bps < sol.max_spread_bps
    assert cfg.risk.max_notional_per_trade == 10_000
    assert cfg.risk.max_slippage_bps == 20
    assert cfg.home_venue.id == "home"
    assert len(cfg.hedge_venues) == 3


def test_bad_value_names_file_key_and_reason():
    data = _local()
    data["markets"][1]["levels"] = 0
    with pytest.raises(ConfigError) as err:
        parse_config(data, "my.yaml")
    expected = "my.yaml: markets[1].levels: Input should be greater than or equal to 1"
    assert expected in str(err.value)


def test_a_grid_step_of_zero_is_refused_with_its_venue_and_symbol():
    data = _local()
    venue = next(i for i, v in enumerate(data["venues"]) if v.get("symbol_rules"))
    symbol = next(iter(data["venues"][venue]["symbol_rules"]))
    data["venues"][venue]["symbol_rules"][symbol]["tick_size"] = "0"
    with pytest.raises(ConfigError) as err:
        parse_config(data, "my.yaml")
    assert f"my.yaml: venues[{venue}].symbol_rules.{symbol}.tick_size" in str(err.value)
    assert "greater than or equal to 1E-18" in str(err.value)


def test_unknown_key_is_rejected():
    data = _local()
    data["risk"]["max_slipage_bps"] = 5
    with pytest.raises(ConfigError, match=r"my.yaml: risk.max_slipage_bps: Extra inputs"):
        parse_config(data, "my.yaml")


def test_target_spread_above_max_is_rejected():
    data = _local()
    data["markets"][0]["target_spread_bps"] = 50
    with pytest.raises(ConfigError, match=r"markets\[0\]: .*target_spread_bps 50.0 is above"):
        parse_config(data, "x.yaml")


def test_missing_env_secret_names_key_and_variable(monkeypatch):
    monkeypatch.delenv("MM_TEST_KEY", raising=False)
    data = _local()
    data["venues"][1]["api_key"] = "${MM_TEST_KEY}"
    with pytest.raises(ConfigError, match=r"venues\[1\].api_key: environment variable MM_TEST_KEY"):
        parse_config(data, "x.yaml")


def test_secret_from_env_never_shows_in_repr_or_hash(monkeypatch):
    monkeypatch.setenv("MM_TEST_KEY", "sekret-value-123")
    data = _local()
    data["venues"][1]["api_key"] = "${MM_TEST_KEY}"
    cfg = parse_config(data, "x.yaml")
    assert cfg.venues[1].api_key is not None
    assert cfg.venues[1].api_key.get_secret_value() == "sekret-value-123"
    assert "sekret-value-123" not in repr(cfg)
    assert cfg.config_hash == load_config(LOCAL).config_hash  # secrets do not change the hash


def test_graph_needs_exactly_one_home():
    data = _local()
    data["venues"][1]["role"] = "home"
    with pytest.raises(ConfigError, match="exactly one venue needs role 'home'; found 2"):
        parse_config(data, "x.yaml")


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("venues: [\n  - id: a\n  kind: sim\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+: not valid YAML"):
        load_config(bad)


def test_config_hash_changes_with_config():
    data = _local()
    a = parse_config(data, "x").config_hash
    data["risk"]["max_slippage_bps"] = 25
    assert parse_config(data, "x").config_hash != a


def test_unknown_policy_is_refused_at_parse_time_with_file_and_key():
    data = _local()
    data["markets"][1]["policy"] = "ladderr"
    with pytest.raises(ConfigError, match=r"x.yaml: markets\[1\].policy: Input should be 'ladder'"):
        parse_config(data, "x.yaml")


def test_every_policy_name_has_a_registered_class():
    from engine.config import PolicyName
    from engine.quoting.base import POLICIES

    assert set(POLICIES) == set(PolicyName)


def test_tier_defaults_resolve_every_band_to_a_number():
    cfg = parse_config(_local(), "x.yaml")
    for m in cfg.markets:
        for key in ("target_spread_bps", "max_spread_bps", "depth_band_bps", "depth_target_quote"):
            assert isinstance(getattr(m, key), float), (m.symbol, key)


def test_the_driver_keeps_a_configs_secret_variables_from_ray(tmp_path, monkeypatch):
    """Ray's raylet and its workers inherit the environment ray.init runs in."""
    import os

    from engine.config import env_references
    from marketmesh.graph import without_env

    path = tmp_path / "c.yaml"
    path.write_text("venues:\n  - api_key: ${MM_K}\n    api_secret: ${MM_S:-x}\n")
    assert env_references(path) == {"MM_K", "MM_S"}
    monkeypatch.setenv("MM_K", "k")
    with without_env(env_references(path)):
        assert "MM_K" not in os.environ
    assert os.environ["MM_K"] == "k"
