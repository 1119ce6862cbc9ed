"""A backtest is a deterministic run whose tables `marketmesh sla` reads like a live run's."""

from __future__ import annotations

import numpy as np
import pyarrow.dataset as ds
import pytest
import yaml

from analytics.schemas import SCHEMAS
from analytics.sla import sla_summary
from analytics.views import connect
from analytics.writer import PartWriters
from engine.backtest import (
    BacktestSettings,
    MarketBacktest,
    RecordedFeed,
    Recording,
    simulated_feed,
    takers_from_fills,
)
from engine.backtest.vectorised import (
    BulkTakerFlow,
    DrawnFeed,
    FastLadderBacktest,
    FixedTakers,
)
from engine.config import HedgeMode, load_config, market_definitions
from engine.sim.price import ReferencePrice
from engine.types import Side
from tests.conftest import LOCAL_CONFIG, REPO

S = 10**9
T0 = 1_750_000_000 * S
TABLES = ("book_samples", "quotes", "fills", "hedge_orders", "hedge_fills")


class MemoryTables:
    """Rows by table, in memory: the `TableWriters` of a test."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLES}

    def __getitem__(self, table: str) -> _Table:
        return _Table(self.rows[table])


class _Table:
    def __init__(self, target: list[dict]) -> None:
        self._target = target

    def append(self, rows: list[dict]) -> None:
        self._target.extend(rows)


def _backtest(
    policy: str,
    *,
    seconds: float = 120,
    seed: int = 5,
    writers=None,
    hedge=True,
    hedge_mode: str = "mirror",
    **market_keys,
):
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT").model_copy(
        update={"policy": policy, "hedge_mode": HedgeMode(hedge_mode), **market_keys}
    )
    feed = simulated_feed(cfg, market, seed=seed, start_ns=T0, duration_s=seconds)
    bt = MarketBacktest(
        cfg,
        market,
        feed,
        seed=seed,
        session="bt-test",
        writers=writers,
        settings=BacktestSettings(hedge=hedge),
    )
    return bt.run()


@pytest.mark.parametrize("policy", ["ladder", "avellaneda_stoikov", "glft"])
def test_same_seed_same_rows_and_totals(policy):
    a, b = MemoryTables(), MemoryTables()
    ra = _backtest(policy, writers=a)
    rb = _backtest(policy, writers=b)
    assert ra.fills > 0 and ra.requotes > 0
    assert a.rows == b.rows
    assert (ra.fills, ra.pnl_quote, ra.inventory_std_base) == (
        rb.fills,
        rb.pnl_quote,
        rb.inventory_std_base,
    )
    other = _backtest(policy, seed=6)
    assert (other.fills, other.pnl_quote) != (ra.fills, ra.pnl_quote)


def test_mirror_hedging_leaves_no_position_and_every_fill_has_its_hedge():
    rows = MemoryTables()
    r = _backtest("ladder", writers=rows)
    assert r.home_position_base + r.hedge_position_base == pytest.approx(0.0, abs=1e-9)
    fill_ids = {f["fill_id"] for f in rows.rows["fills"]}
    assert fill_ids == {h["source_fill_id"] for h in rows.rows["hedge_orders"]}
    for fill, hedge in zip(rows.rows["fills"], rows.rows["hedge_fills"], strict=True):
        assert Side(hedge["side"]) is Side(fill["side"]).opposite
        assert hedge["amount"] == pytest.approx(fill["amount"])
        assert hedge["fee"] > 0  # the taker fee is paid on every hedge


def test_writes_the_real_schemas_and_sla_reads_them(tmp_path):
    data = str(tmp_path / "data")
    writers = PartWriters(
        data, TABLES, writer_id="backtest-BTC-USDT", run_id="bt-run", config_hash="abc"
    )
    r = _backtest("ladder", writers=writers)
    writers.flush()
    for table in TABLES:
        written = ds.dataset(f"{data}/{table}", format="parquet", partitioning="hive")
        for field in SCHEMAS[table]:
            assert written.schema.field(field.name).type == field.type, (table, field.name)
    (row,) = sla_summary(connect(data), run_id="bt-run")
    assert row["market"] == "BTC/USDT"
    assert row["samples"] == r.samples
    assert row["fills"] == r.fills
    assert row["hedged_pct"] == pytest.approx(100.0)
    assert row["pnl_quote"] == pytest.approx(r.pnl_quote, abs=0.01)
    assert row["spread_within_target_pct"] == pytest.approx(r.spread_sla_pct, abs=1e-3)


def test_takers_from_fills_merge_one_walk_into_one_order_of_the_other_side():
    ts = np.array([1, 1, 2, 3, 3], dtype=np.int64)
    maker_buy = np.array([True, True, True, False, True])
    amount = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    t, taker_buy, amt = takers_from_fills(ts, maker_buy, amount)
    assert t.tolist() == [1, 2, 3, 3]
    assert taker_buy.tolist() == [False, False, True, False]
    assert amt.tolist() == pytest.approx([0.3, 0.3, 0.4, 0.5])


def test_replay_of_a_tiny_recording_trades_its_takers_against_the_policy():
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    sample_ts = T0 + np.arange(0, 60 * S, S // 2, dtype=np.int64)
    mids = 65_000.0 * (1 + 1e-4 * np.sin(np.arange(len(sample_ts)) / 10))
    # a taker buying 0.05 BTC every 5 s: each lifts the bot's asks
    taker_ts = T0 + np.arange(5, 60, 5, dtype=np.int64) * S
    recording = Recording(
        market=market.symbol,
        sample_ts_ns=sample_ts,
        sample_mid=mids,
        taker_ts_ns=taker_ts,
        taker_is_buy=np.ones(len(taker_ts), dtype=bool),
        taker_amount=np.full(len(taker_ts), 0.05),
    )
    rows = MemoryTables()
    bt = MarketBacktest(
        cfg, market, RecordedFeed(recording), seed=1, session="replay", writers=rows
    )
    r = bt.run()
    assert r.taker_orders == len(taker_ts)
    assert r.book_events == len(sample_ts) + len(taker_ts)
    fills = rows.rows["fills"]
    assert {f["side"] for f in fills} == {"sell"}  # the bot sold to every buyer
    assert sum(f["amount"] for f in fills) == pytest.approx(0.05 * len(taker_ts))
    for f in fills:  # at the ask the ladder put above the recorded mid of that moment
        i = np.searchsorted(sample_ts, f["ts"], side="right") - 1
        assert f["price"] > mids[i]
    assert r.samples == 120


def test_a_cross_market_backtests_at_the_cross_price_on_both_engines():
    cfg = load_config(LOCAL_CONFIG)
    (market,) = market_definitions(
        yaml.safe_load((REPO / "configs" / "markets" / "eth-btc.yaml").read_text()), "eth-btc"
    )
    feed = simulated_feed(cfg, market, seed=3, start_ns=T0, duration_s=600)
    mid, _ = feed.reference(T0)
    assert 0.03 < mid < 0.07  # ETH in BTC, not ETH in USDT
    result = MarketBacktest(cfg, market, feed, seed=3, session="x").run()
    assert result.fills > 0
    end = T0 + 600 * 10**9
    draws = BulkTakerFlow(market.taker_flow, seed=3, symbol=market.symbol).draw(T0, end)
    reference = ReferencePrice(cfg.sim.assets, seed=3, step_ms=cfg.sim.step_ms, start_ns=T0)
    drawn = DrawnFeed(reference, market.symbol, draws, start_ns=T0, end_ns=end, step_ms=100)
    unhedged = BacktestSettings(hedge=False)
    exact = MarketBacktest(cfg, market, drawn, seed=3, session="x", settings=unhedged).run()
    fast = FastLadderBacktest(
        cfg, market, seed=3, session="x", start_ns=T0, duration_s=600, settings=unhedged,
        takers=FixedTakers(draws),
    ).run()  # fmt: skip
    assert exact.fills > 0 and 0.03 < fast.last_mid < 0.07
    for name in ("fills", "requotes", "decisions", "home_position_base", "pnl_quote"):
        assert getattr(fast, name) == getattr(exact, name), name


def test_netting_hedges_less_than_it_fills_and_the_pnl_decomposes():
    mirror = _backtest("ladder", seconds=600)
    netted = _backtest("ladder", seconds=600, hedge_mode="hybrid")
    assert netted.fills == mirror.fills > 100
    assert netted.hedged_base < 0.7 * mirror.hedged_base  # opposite fills cancelled
    assert netted.hedge_fee_quote < 0.7 * mirror.hedge_fee_quote
    for r in (mirror, netted):
        parts = r.capture_quote - r.home_fee_quote - r.hedge_fee_quote - r.hedge_slippage_quote
        assert parts + r.inventory_pnl_quote == pytest.approx(r.pnl_quote)
        assert r.depth_sla_pct == 100.0 and r.uptime_pct == 100.0


def test_hedged_fills_leave_the_desk_flat_so_one_way_flow_never_one_sides_the_book():
    """Issue 13: quoting on home fills went one-sided at the limit while the desk was flat.
    Takers that only buy sell the home venue far past the limit; every fill is hedged, so
    the desk's net exposure stays flat and both sides stay quoted at full depth."""
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT").model_copy(
        update={
            "hedge_mode": HedgeMode.MIRROR,
            "inventory_limit": 0.2,
            "taker_flow": cfg.market("BTC/USDT").taker_flow.model_copy(
                update={"informed_share": 1.0}  # informed: one way while the price trends
            ),
        }
    )
    feed = simulated_feed(cfg, market, seed=3, start_ns=T0, duration_s=600)
    r = MarketBacktest(cfg, market, feed, seed=3, session="t").run()
    assert abs(r.home_position_base) > market.inventory_limit  # home drifted past the limit
    assert r.uptime_pct == 100.0 and r.depth_sla_pct == 100.0


def test_profit_priority_never_fills_inside_the_hedge_cost():
    rows = MemoryTables()
    r = _backtest("ladder", seconds=300, writers=rows, priority="profit", min_profit_bps=0.5)
    # each quote kept 0.5 bps over its hedge cost when placed: nothing was subsidised
    assert r.fills > 10 and r.subsidy_quote == 0.0
    assert all(f["expected_hedge_cost_bps"] > 0 for f in rows.rows["fills"])
    placed = [q for q in rows.rows["quotes"] if q["action"] == "place"]
    assert all(q["hedge_cost_bps"] is not None for q in placed)
    sla = _backtest("ladder", seconds=300)
    assert sla.subsidy_quote > 0  # the 8 bps target does not pay for crossing to hedge
