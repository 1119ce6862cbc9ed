"""The fast backtest makes the exact engine's decisions, and `marketmesh sla` reads what it writes.

The fast path models the unhedged book (the exact engine with `hedge=False`):
with hedges modelled the desk quotes on its net exposure and prices each level
against the hedge venues, which only the exact engine does (issue 13).
Both engines get the same inputs (`DrawnFeed` serves the fast path's taker
draws to `MarketBacktest`), so they must agree fill for fill: the tolerance is
zero, not a statistical band.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from analytics.sla import sla_summary
from analytics.views import connect
from engine.backtest import BacktestSettings, MarketBacktest, RecordedFeed, Recording
from engine.backtest.models import ConstantLatency, FeeModel, VenueFees
from engine.backtest.vectorised import (
    BulkTakerFlow,
    DrawnFeed,
    FastLadderBacktest,
    FastPathUnsupported,
    FixedTakers,
    TakerDraws,
    fast_path_problem,
)
from engine.config import HedgeMode, PolicyName, load_config
from engine.sim.price import ReferencePrice
from marketmesh.commands.backtest import (
    BacktestArgsError,
    BacktestEngine,
    ParquetColumnWriters,
    run_backtests,
)
from tests.conftest import LOCAL_CONFIG
from tests.unit.engine.backtest.test_engine import MemoryTables

S = 10**9
T0 = 1_750_000_000 * S
TOTALS = (
    "book_events",
    "taker_orders",
    "decisions",
    "requotes",
    "fills",
    "volume_quote",
    "home_cash_quote",
    "home_position_base",
    "hedge_cash_quote",
    "hedge_position_base",
    "last_mid",
    "samples",
    "samples_spread_within_target",
    "inventory_sum",
    "inventory_sumsq",
)


class MemoryColumns:
    """The fast path's columns, concatenated per table."""

    def __init__(self) -> None:
        self.parts: dict[str, list[dict[str, Any]]] = {}

    def write_columns(self, table: str, columns: dict[str, Any]) -> None:
        self.parts.setdefault(table, []).append(columns)

    def column(self, table: str, name: str) -> list[Any]:
        out: list[Any] = []
        for part in self.parts.get(table, []):
            values = part[name]
            out.extend(values.tolist() if hasattr(values, "tolist") else values)
        return out


def _both(
    cfg, market, draws: TakerDraws, seconds: float, *, hedge: bool = False, compiled: bool = True
):
    """(exact result, its rows, fast result, its columns) on the same reference and takers."""
    end = T0 + int(seconds * S)
    reference = ReferencePrice(cfg.sim.assets, seed=3, step_ms=cfg.sim.step_ms, start_ns=T0)
    feed = DrawnFeed(reference, market.symbol, draws, start_ns=T0, end_ns=end, step_ms=100)
    rows, cols = MemoryTables(), MemoryColumns()
    settings = BacktestSettings(hedge=hedge)
    exact = MarketBacktest(
        cfg, market, feed, seed=3, session="t", writers=rows, settings=settings
    ).run()
    fast = FastLadderBacktest(
        cfg,
        market,
        seed=3,
        session="t",
        start_ns=T0,
        duration_s=seconds,
        writers=cols,
        settings=settings,
        takers=FixedTakers(draws),
        chunk_s=60.0,  # several chunks: state carried across chunk edges
        compiled=compiled,
    ).run()
    return exact, rows, fast, cols


def _assert_same(exact, rows: MemoryTables, fast, cols: MemoryColumns) -> None:
    for name in TOTALS:
        assert getattr(fast, name) == getattr(exact, name), name
    for name in ("ts", "fill_id", "order_id", "side", "price", "amount", "mid", "seen_ts"):
        assert cols.column("fills", name) == [f[name] for f in rows.rows["fills"]], name
    exact_quotes = sorted(
        (q["ts"], q["action"], q["client_order_id"] or "", q["price"] or 0.0, q["amount"] or 0.0)
        for q in rows.rows["quotes"]
    )
    fast_quotes = sorted(
        (t, a, c or "", p if p == p and p is not None else 0.0, n if n is not None else 0.0)
        for t, a, c, p, n in zip(
            cols.column("quotes", "ts"),
            cols.column("quotes", "action"),
            cols.column("quotes", "client_order_id"),
            cols.column("quotes", "price"),
            cols.column("quotes", "amount"),
            strict=True,
        )
    )
    assert fast_quotes == exact_quotes
    for name in ("best_bid", "best_ask", "spread_bps", "bid_depth_50bps", "ask_depth_band"):
        exact_col = [np.nan if r[name] is None else r[name] for r in rows.rows["book_samples"]]
        np.testing.assert_array_equal(cols.column("book_samples", name), exact_col, name)


def _draws(market, seconds: float, seed: int = 11) -> TakerDraws:
    flow = BulkTakerFlow(market.taker_flow, seed=seed, symbol=market.symbol)
    return flow.draw(T0, T0 + int(seconds * S))


def test_same_fills_quotes_samples_and_pnl_as_the_exact_engine():
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    exact, rows, fast, cols = _both(cfg, market, _draws(market, 240), 240)
    assert exact.fills > 100 and exact.requotes > 100
    _assert_same(exact, rows, fast, cols)
    assert fast.pnl_quote == exact.pnl_quote
    assert not cols.column("hedge_orders", "hedge_id") and not rows.rows.get("hedge_orders")


@pytest.mark.parametrize("policy", [PolicyName.AVELLANEDA_STOIKOV, PolicyName.GLFT])
def test_model_policies_make_the_exact_engines_decisions(policy):
    """A-S with the online sigma, GLFT once its intensity fit has enough trades."""
    cfg = load_config(LOCAL_CONFIG)
    base = cfg.market("BTC/USDT")
    params = base.policy_params.model_copy(
        update={"calibration_min_trades": 20, "calibration_window_s": 120.0}
    )
    market = base.model_copy(update={"policy": policy, "policy_params": params})
    ladder = base.model_copy(update={"policy_params": params})
    draws = _draws(market, 240)
    exact, rows, fast, cols = _both(cfg, market, draws, 240)
    assert exact.fills > 100 and exact.requotes > 100
    _assert_same(exact, rows, fast, cols)
    assert fast.pnl_quote == exact.pnl_quote
    ladder_fast = _both(cfg, ladder, draws, 240)[2]
    assert fast.pnl_quote != ladder_fast.pnl_quote  # the model, not the warm-up ladder, quoted


def test_the_interpreted_loop_is_the_compiled_ones_reference():
    """`kernel.run_chunk.py_func` (pure Python) and the compiled kernel: the same rows."""
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    draws = _draws(market, 120)
    _, _, compiled, c_cols = _both(cfg, market, draws, 120)
    _, _, interpreted, i_cols = _both(cfg, market, draws, 120, compiled=False)
    for name in TOTALS:
        assert getattr(compiled, name) == getattr(interpreted, name), name
    for table, column in (("fills", "price"), ("fills", "fill_id"), ("quotes", "price")):
        np.testing.assert_array_equal(
            np.asarray(c_cols.column(table, column), dtype=object),
            np.asarray(i_cols.column(table, column), dtype=object),
        )


def test_hedged_backtests_run_on_the_exact_engine_only():
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    assert "net exposure" in (fast_path_problem(market, hedge=True) or "")
    with pytest.raises(FastPathUnsupported, match="hedges modelled"):
        FastLadderBacktest(
            cfg, market, seed=1, session="s", start_ns=T0, duration_s=10,
            settings=BacktestSettings(hedge=True),
        )  # fmt: skip


def test_same_decisions_through_vol_guard_widen_and_pause():
    cfg = load_config(LOCAL_CONFIG)
    jumpy = cfg.sim.assets["BTC"].model_copy(update={"jumps_per_day": 20_000, "jump_std": 0.002})
    cfg = cfg.model_copy(
        update={"sim": cfg.sim.model_copy(update={"assets": {**cfg.sim.assets, "BTC": jumpy}})}
    )
    market = cfg.market("BTC/USDT").model_copy(
        update={
            "hedge_mode": HedgeMode.NET,
            "vol_guard": cfg.market("BTC/USDT").vol_guard.model_copy(
                update={"min_samples": 5, "widen_ratio": 1.1, "pause_ratio": 1.4}
            ),
        }
    )
    exact, rows, fast, cols = _both(cfg, market, _draws(market, 300), 300)
    spreads = [r["spread_bps"] for r in rows.rows["book_samples"]]
    assert any(s is not None and s > 10 for s in spreads)  # widened
    assert any(not r["quoting"] for r in rows.rows["book_samples"])  # paused
    _assert_same(exact, rows, fast, cols)


def test_one_sided_at_the_inventory_limit_and_never_crossed():
    """Takers that only buy drive the bot short past its limit: then it quotes bids only."""
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT").model_copy(update={"inventory_limit": 0.3})
    n = 120
    draws = TakerDraws(
        ts_ns=T0 + np.arange(1, n + 1, dtype=np.int64) * S // 2,
        notional_quote=np.full(n, 3_000.0),
        informed=np.zeros(n, dtype=bool),
        coin_buy=np.ones(n, dtype=bool),
    )
    exact, rows, fast, cols = _both(cfg, market, draws, 70)
    _assert_same(exact, rows, fast, cols)
    assert fast.home_position_base <= -0.3
    fills_ts = np.asarray(cols.column("fills", "seen_ts"))  # when the book changed
    fills_amount = np.asarray(cols.column("fills", "amount"))
    sample_ts = np.asarray(cols.column("book_samples", "ts"))
    short = np.array([fills_amount[fills_ts <= t].sum() for t in sample_ts])  # all sales
    at_limit = short >= market.inventory_limit
    assert at_limit.any()
    asks = np.asarray(cols.column("book_samples", "ask_depth_200bps"))
    bids = np.asarray(cols.column("book_samples", "bid_depth_200bps"))
    assert (asks[at_limit] == 0).all() and (bids[at_limit] > 0).all()
    best_bid = np.asarray(cols.column("book_samples", "best_bid"))
    best_ask = np.asarray(cols.column("book_samples", "best_ask"))
    two_sided = ~np.isnan(best_bid) & ~np.isnan(best_ask)
    assert (best_bid[two_sided] < best_ask[two_sided]).all()
    placed = [
        (t, s, p)
        for t, s, p, a in zip(
            cols.column("quotes", "ts"),
            cols.column("quotes", "side"),
            cols.column("quotes", "price"),
            cols.column("quotes", "action"),
            strict=True,
        )
        if a == "place"
    ]
    for t in {t for t, _, _ in placed}:
        bid = max((p for u, s, p in placed if u == t and s == "buy"), default=-np.inf)
        ask = min((p for u, s, p in placed if u == t and s == "sell"), default=np.inf)
        assert bid < ask


def test_writes_parquet_that_sla_reads(tmp_path):
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    data = str(tmp_path / "data")
    writers = ParquetColumnWriters(
        data, writer_id="fast-BTC-USDT", run_id="bt-fast", config_hash="h"
    )
    r = FastLadderBacktest(
        cfg,
        market,
        seed=4,
        session="bt-fast",
        start_ns=T0,
        duration_s=600,
        writers=writers,
        settings=BacktestSettings(hedge=False),
    ).run()
    (row,) = sla_summary(connect(data), run_id="bt-fast")
    assert row["samples"] == r.samples == 1200
    assert row["fills"] == r.fills > 0
    # unhedged, a position stays open: the SLA marks it at the last sample's book mid, the
    # backtest at the last reference mid (a few bps apart)
    open_value = abs(r.home_position_base) * r.last_mid
    assert row["pnl_quote"] == pytest.approx(r.pnl_quote, abs=0.01 + open_value * 1e-3)
    assert row["spread_within_target_pct"] == pytest.approx(r.spread_sla_pct, abs=1e-3)


def test_the_mirror_policy_and_user_makers_are_refused_with_the_reason():
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    for policy in (PolicyName.LADDER, PolicyName.AVELLANEDA_STOIKOV, PolicyName.GLFT):
        assert fast_path_problem(market.model_copy(update={"policy": policy})) is None
    mirror = market.model_copy(update={"policy": PolicyName.MIRROR})
    assert "hedge venues' books" in (fast_path_problem(mirror) or "")
    with pytest.raises(FastPathUnsupported, match="mirror"):
        FastLadderBacktest(cfg, mirror, seed=1, session="s", start_ns=T0, duration_s=10)
    users = market.model_copy(
        update={"user_makers": market.user_makers.model_copy(update={"depth_quote": 1e4})}
    )
    assert "user_makers" in (fast_path_problem(users) or "")


def test_bulk_taker_draws_follow_the_configured_flow():
    cfg = load_config(LOCAL_CONFIG)
    flow_cfg = cfg.market("BTC/USDT").taker_flow
    d = BulkTakerFlow(flow_cfg, seed=1, symbol="BTC/USDT").draw(T0, T0 + 20_000 * S)
    n = len(d.ts_ns)
    assert n == pytest.approx(flow_cfg.rate_per_s * 20_000, rel=0.03)
    assert (np.diff(d.ts_ns) >= 0).all() and d.ts_ns[0] >= T0 and d.ts_ns[-1] < T0 + 20_000 * S
    assert d.notional_quote.mean() == pytest.approx(flow_cfg.mean_notional_quote, rel=0.05)
    assert d.informed.mean() == pytest.approx(flow_cfg.informed_share, abs=0.02)
    assert d.coin_buy.mean() == pytest.approx(0.5, abs=0.02)


def test_cli_runs_the_fast_engine_and_refuses_what_it_cannot_model(tmp_path):
    cfg = load_config(LOCAL_CONFIG)
    data = str(tmp_path / "bt")
    common = {"markets": ["BTC/USDT"], "days": 0.002, "data_dir": data, "hedge": False}
    (r,), run_id = run_backtests(cfg, policy="ladder", engine=BacktestEngine.FAST, **common)
    assert r.fills > 0 and r.samples == 346  # 172.8 s sampled every 0.5 s from 0
    (row,) = sla_summary(connect(data), run_id=run_id)
    open_value = abs(r.home_position_base) * r.last_mid  # marked at another mid (see above)
    assert row["fills"] == r.fills
    assert row["pnl_quote"] == pytest.approx(r.pnl_quote, abs=0.01 + open_value * 1e-3)
    for policy in ("avellaneda_stoikov", "glft"):
        (r,), _ = run_backtests(
            cfg, policy=policy, engine=BacktestEngine.FAST, **{**common, "data_dir": data + policy}
        )
        assert r.fills > 0 and r.samples == 346
    btc = cfg.market("BTC/USDT")
    users = btc.model_copy(
        update={"user_makers": btc.user_makers.model_copy(update={"depth_quote": 1e4})}
    )
    with_users = cfg.model_copy(
        update={"markets": [users if m.symbol == "BTC/USDT" else m for m in cfg.markets]}
    )
    with pytest.raises(BacktestArgsError, match="--engine fast: market BTC/USDT: user_makers"):
        run_backtests(with_users, policy="ladder", engine=BacktestEngine.FAST, **common)
    with pytest.raises(BacktestArgsError, match="hedges modelled"):
        run_backtests(cfg, policy="ladder", engine=BacktestEngine.FAST, **{**common, "hedge": True})
    replay = {**common, "data_dir": data + "-replay", "days": None}
    (again,), _ = run_backtests(
        cfg, policy="ladder", engine=BacktestEngine.FAST, from_data=data, **replay
    )
    assert again.fills > 0 and again.samples > 0


def test_maker_fees_per_side_from_the_fee_model():
    """A rebate on bids and a fee on asks: each fill pays its side's rate (8 places)."""
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    home = cfg.home_venue.id
    fees = FeeModel({home: VenueFees(-0.0001, 0.0003, 0.001, 0.001)})
    cols = MemoryColumns()
    r = FastLadderBacktest(
        cfg, market, seed=5, session="f", start_ns=T0, duration_s=120, writers=cols,
        settings=BacktestSettings(hedge=False), fees=fees,
    ).run()  # fmt: skip
    sides, price, amount = (cols.column("fills", c) for c in ("side", "price", "amount"))
    fee = cols.column("fills", "fee")
    assert {"buy", "sell"} <= set(sides) and r.fills == len(fee)
    for s, p, a, f in zip(sides, price, amount, fee, strict=True):
        rate = -0.0001 if s == "buy" else 0.0003
        assert f == pytest.approx(rate * p * a, abs=1e-8)
    sign = [1.0 if s == "buy" else -1.0 for s in sides]
    cash = -sum(g * p * a + f for g, p, a, f in zip(sign, price, amount, fee, strict=True))
    assert r.home_cash_quote == pytest.approx(cash, rel=1e-12)


def _recording(n_samples: int = 600, n_takers: int = 400, *, gap_at: int | None = None):
    """Book samples about every 0.5 s (jittered), a random-walk mid, takers of both sides."""
    rng = np.random.default_rng(4)
    ts = np.sort(
        T0 + np.arange(n_samples, dtype=np.int64) * S // 2 + rng.integers(0, 10**8, n_samples)
    )
    if gap_at is not None:
        ts[gap_at:] += 60 * S  # a minute without samples
    mid = 65_000 * np.exp(np.cumsum(rng.normal(0, 2e-4, n_samples)))
    takers = np.sort(rng.integers(T0, int(ts[-1]), n_takers)).astype(np.int64)
    buys = rng.random(n_takers) < 0.5
    return Recording("BTC/USDT", ts, mid, takers, buys, rng.lognormal(-3.5, 0.8, n_takers))


@pytest.mark.parametrize("policy", [PolicyName.LADDER, PolicyName.AVELLANEDA_STOIKOV])
def test_recorded_runs_replay_as_on_the_exact_engine(policy):
    """`--from-data`: references only when a new sample arrived (news and sigma), recorded
    takers with their sides and amounts."""
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT").model_copy(update={"policy": policy})
    rec, unhedged = _recording(), BacktestSettings(hedge=False)
    exact = MarketBacktest(
        cfg, market, RecordedFeed(rec), seed=1, session="r", settings=unhedged
    ).run()
    fast = FastLadderBacktest(
        cfg, market, seed=1, session="r", start_ns=0, duration_s=math.inf, settings=unhedged,
        recording=rec, chunk_s=60,
    ).run()  # fmt: skip
    assert exact.fills > 100 and exact.requotes > 100
    for name in (*TOTALS, "pnl_quote", "start_ns", "end_ns"):
        assert getattr(fast, name) == getattr(exact, name), name


def test_a_recording_with_a_gap_is_left_to_the_exact_engine():
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    with pytest.raises(FastPathUnsupported, match="max_book_age_s"):
        FastLadderBacktest(
            cfg, market, seed=1, session="r", start_ns=0, duration_s=math.inf,
            settings=BacktestSettings(hedge=False), recording=_recording(gap_at=300),
        ).run()  # fmt: skip


def test_entry_latency_delays_each_replacement_and_takers_meet_the_old_book():
    """500 ms entry latency (5 ticks of 100 ms): the first ladder, decided at t = 0, rests
    from t = 0.5 s; a taker at t = 0.25 s finds an empty book (without latency it fills)."""
    cfg = load_config(LOCAL_CONFIG)
    market = cfg.market("BTC/USDT")
    one_taker = TakerDraws(
        ts_ns=np.array([T0 + S // 4]),
        notional_quote=np.array([3_000.0]),
        informed=np.zeros(1, dtype=bool),
        coin_buy=np.ones(1, dtype=bool),
    )

    def run(latency: ConstantLatency) -> tuple[Any, MemoryColumns]:
        cols = MemoryColumns()
        r = FastLadderBacktest(
            cfg, market, seed=5, session="l", start_ns=T0, duration_s=10, writers=cols,
            settings=BacktestSettings(hedge=False), takers=FixedTakers(one_taker),
            latency=latency,
        ).run()  # fmt: skip
        return r, cols

    late, late_cols = run(ConstantLatency(entry_latency_ns=500_000_000))
    now, now_cols = run(ConstantLatency())
    assert now.fills > 0 and late.fills == 0
    assert now_cols.column("quotes", "ts")[0] == T0
    assert late_cols.column("quotes", "ts")[0] == T0 + S // 2
    assert now_cols.column("book_samples", "quoting")[:2] == [True, True]
    assert late_cols.column("book_samples", "quoting")[:2] == [False, True]  # t = 0, 0.5 s
    with pytest.raises(FastPathUnsupported, match="response latency"):
        run(ConstantLatency(response_latency_ns=1))
