"""The config bench/scale.py generates: valid for engine.config and servable by venue-sim."""

from pathlib import Path

import pytest
import yaml

from engine.config import HedgeMode, load_config, parse_config
from engine.sim.exchange import SimExchange
from engine.sim.price import ReferencePrice
from tests.unit.bench._load import bench_module

REPO = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000 * 10**9


def _generator():
    return bench_module("_scale_config")


scale_config = _generator().scale_config
SCALE_REFRESH_MS = _generator().SCALE_REFRESH_MS


@pytest.mark.parametrize("n", [1, 10, 50, 120])
def test_n_markets_validate_through_yaml(tmp_path, n):
    path = tmp_path / "scale.yaml"
    path.write_text(yaml.safe_dump(scale_config(n)))
    cfg = load_config(path)
    symbols = [m.symbol for m in cfg.markets]
    assert len(symbols) == n == len(set(symbols))
    assert all(s.endswith("/USDT") for s in symbols)
    assert len(cfg.sim.assets) == n
    for m in cfg.markets:
        assert m.requote_interval_s == 1.0
        assert m.taker_flow.rate_per_s > 0
        assert m.hedge_mode is HedgeMode.MIRROR  # every synthetic fill is hedged
    for v in cfg.hedge_venues:
        assert v.simulated and v.exchange == "binance"
        for m in cfg.markets:
            assert v.balances[m.base] > 0
            assert m.symbol in v.symbol_rules
    # every actor fits the local Ray: markets share what the fixed actors leave
    fixed = cfg.ray.venue_actor_cpus * (len(cfg.hedge_venues) + 3)
    assert n * cfg.ray.market_actor_cpus + fixed <= cfg.ray.num_cpus
    assert cfg.ray.market_actor_cpus <= 0.1


def test_hedge_venues_are_those_of_the_default_config():
    """The same venues, fees and book profiles, but refreshed every `SCALE_REFRESH_MS` and
    followed by the diffs alone, as every 50-market figure was measured."""
    local = load_config(REPO / "configs" / "local.yaml")
    cfg = parse_config(scale_config(5), "scale")
    ours = {(v.id, v.taker_fee, v.book) for v in cfg.hedge_venues}
    slower = {"refresh_ms": SCALE_REFRESH_MS}
    assert ours == {
        (v.id, v.taker_fee, v.book.model_copy(update=slower)) for v in local.hedge_venues
    }
    assert all(v.book.refresh_ms == SCALE_REFRESH_MS for v in cfg.hedge_venues)
    assert all(v.touch_stream for v in local.hedge_venues)
    assert not any(v.touch_stream for v in cfg.hedge_venues)


def test_every_symbol_has_a_book_on_its_grid_near_the_reference():
    cfg = parse_config(scale_config(12), "scale")
    reference = ReferencePrice(cfg.sim.assets, seed=cfg.sim.seed, step_ms=100, start_ns=T0)
    symbols = [m.symbol for m in cfg.markets]
    for venue in cfg.hedge_venues:
        ex = SimExchange(venue, reference, cfg.sim.seed, cfg.quote_asset, symbols)
        for m in cfg.markets:
            bids, asks, _ = ex.depth(m.symbol, T0, 5)
            best_bid, best_ask = bids[0].price, asks[0].price
            assert best_bid < best_ask
            initial = cfg.sim.assets[m.base].initial_price
            assert abs(float(best_bid + best_ask) / 2 / initial - 1) < 0.01
            rules = venue.rules_for(m.symbol)
            assert best_bid % rules.tick_size == 0
            # the grid is fine enough to quote the market's bands: a tick is at most 1 bp
            assert float(rules.tick_size) / initial <= 1e-4
            # a mean taker fill, mirrored, clears the venue minimum and the per-trade cap
            notional = m.taker_flow.mean_notional_quote
            assert float(rules.min_notional) < notional <= cfg.risk.max_notional_per_trade


def test_no_markets_is_refused():
    with pytest.raises(ValueError, match="n_markets must be at least 1"):
        scale_config(0)


def test_market_data_mode_reaches_every_hedge_venue_and_only_them():
    polled = parse_config(scale_config(3, market_data="poll"), "scale")
    assert [v.streams for v in polled.hedge_venues] == [False, False, False]
    default = parse_config(scale_config(3), "scale")
    assert [v.streams for v in default.hedge_venues] == [True, True, True]  # ccxt: stream
    assert not polled.home_venue.streams
