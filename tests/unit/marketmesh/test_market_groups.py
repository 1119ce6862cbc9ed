"""How markets are grouped onto MarketActors (`ray.markets_per_actor`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config import ConfigError, load_config
from marketmesh.graph import market_groups
from tests.conftest import LOCAL_CONFIG


def test_one_actor_per_market_by_default():
    cfg = load_config(LOCAL_CONFIG)
    assert cfg.ray.markets_per_actor == 1
    symbols = [m.symbol for m in cfg.markets]
    assert market_groups(symbols, 1) == [[s] for s in symbols]


def test_groups_fill_in_order_and_the_last_may_be_short():
    assert market_groups(["A", "B", "C", "D", "E"], 2) == [["A", "B"], ["C", "D"], ["E"]]


@given(st.lists(st.text(min_size=1), unique=True, max_size=60), st.integers(1, 25))
def test_every_market_in_exactly_one_group_of_at_most_n(symbols, n):
    groups = market_groups(symbols, n)
    assert [s for g in groups for s in g] == symbols
    assert all(1 <= len(g) <= n for g in groups)
    assert len(groups) == -(-len(symbols) // n)


def test_markets_per_actor_must_be_positive(tmp_path):
    text = LOCAL_CONFIG.read_text() + "\nray:\n  markets_per_actor: 0\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match="markets_per_actor"):
        load_config(bad)
