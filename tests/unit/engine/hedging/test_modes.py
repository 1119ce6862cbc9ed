"""The hedge modes behind one protocol (engine/hedging/modes.py)."""

from decimal import Decimal

import pytest
import yaml

from engine.config import ConfigError, HedgeMode, load_config, parse_config
from engine.hedging import HybridModel, MirrorModel, NetModel, UnhedgedFills, model_for
from engine.hedging.modes import HedgeModel, with_hedge_mode
from engine.types import Fill, Side
from tests.conftest import LOCAL_CONFIG

S = 10**9


def _fill(fill_id="f1", side=Side.BUY, amount="0.5", ts_s=0):
    return Fill(ts_s * S, "home", "BTC/USDT", fill_id, "o", side, Decimal("100"),
                Decimal(amount), Decimal(0), "USDT")  # fmt: skip


def test_hybrid_mode_and_slicing_are_configured_per_market_and_risk():
    data = yaml.safe_load(LOCAL_CONFIG.read_text())
    data["markets"][0].update(
        {"hedge_mode": "hybrid", "hybrid_threshold_quote": 5000, "hybrid_max_age_s": 1.5}
    )
    data["risk"].update({"slice_interval_s": 0.5, "max_slices": 20})
    cfg = parse_config(data, "x.yaml")
    market = cfg.market(data["markets"][0]["symbol"])
    assert market.hedge_mode is HedgeMode.HYBRID
    assert (market.hybrid_threshold_quote, market.hybrid_max_age_s) == (5000, 1.5)
    assert (cfg.risk.slice_interval_s, cfg.risk.max_slices) == (0.5, 20)
    data["markets"][0]["hybrid_max_age_s"] = 0
    with pytest.raises(ConfigError, match=r"x.yaml: markets\[0\].hybrid_max_age_s: "):
        parse_config(data, "x.yaml")


def test_each_mode_is_a_model_the_desk_asks_the_same_way():
    models: list[HedgeModel] = [MirrorModel(), NetModel(), HybridModel(250.0, 5.0)]
    fill = _fill(side=Side.BUY, amount="3")
    waiting = UnhedgedFills("BTC/USDT", (fill,))
    mirror, net, hybrid = models
    hedge = mirror.on_fill(fill)
    assert hedge is not None and hedge.side is Side.SELL and hedge.amount == 3.0
    assert net.on_fill(fill) is None and hybrid.on_fill(fill) is None
    assert [m.holds_fills for m in models] == [False, False, True]
    # only the hybrid model ever says held fills are due: 300 quote >= 250
    assert [m.due(waiting, 100.0, 0) for m in models][:2] == [None, None]
    assert "threshold 250" in (hybrid.due(waiting, 100.0, 0) or "")
    assert hybrid.due(waiting, 50.0, 1 * S) is None  # 150 quote, 1 s old: keep waiting


def test_model_for_follows_the_config_and_a_removed_market_is_mirrored():
    cfg = load_config(LOCAL_CONFIG)
    hybrid = with_hedge_mode(cfg, HedgeMode.HYBRID, threshold_quote=7_000, max_age_s=3)
    assert model_for(hybrid, "BTC/USDT") == HybridModel(7_000, 3)
    assert isinstance(model_for(with_hedge_mode(cfg, HedgeMode.NET), "ETH/USDT"), NetModel)
    assert isinstance(model_for(hybrid, "DOGE/USDT"), MirrorModel)  # not in the config
