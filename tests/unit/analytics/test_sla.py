"""SLA summary on a hand-built dataset whose every answer is worked out by hand here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from analytics.render import sla_json, sla_table
from analytics.sla import EXTRA_KEYS, SLA_KEYS, sla_summary
from analytics.views import connect
from analytics.writer import PartWriter

S = 10**9
T0 = 1_714_521_600 * S  # 2024-05-01T00:00:00Z
RUN, OTHER_RUN = "run-a", "run-b"

# BTC/USDT: 10 samples, the last two one-sided (no ask)
QUOTING = [True, True, False, True, True, False, True, True, False, True]
SPREADS_BPS = [2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 12.0, 20.0, None, None]
BID_DEPTH = [60e3, 55e3, 40e3, 70e3, 50e3, 80e3, 65e3, 52e3, 30e3, 90e3]
ASK_DEPTH = [51e3, 49e3, 60e3, 75e3, 50e3, 20e3, 66e3, 58e3, 0.0, 0.0]
MIDS = [100.0, 100.2, 100.1, 100.3, 100.4, 100.6, 100.5, 100.7, 100.9, 101.0]


def _sample(i: int, market: str = "BTC/USDT", run_id: str = RUN) -> dict:
    spread = SPREADS_BPS[i]
    mid = MIDS[i]
    return {
        "ts": T0 + i * S,
        "run_id": run_id,
        "market": market,
        "best_bid": mid * (1 - (spread or 0) / 2e4),
        "best_ask": mid * (1 + spread / 2e4) if spread is not None else None,
        "mid": mid,
        "spread_bps": spread,
        "quoting": QUOTING[i],
        "target_spread_bps": 8.0,
        "max_spread_bps": 15.0,
        "depth_band_bps": 50.0,
        "depth_target_quote": 50_000.0,
        "bid_depth_band": BID_DEPTH[i],
        "ask_depth_band": ASK_DEPTH[i],
    }


def _fill(fill_id, side, price, amount, fee, fee_currency, ts, market="BTC/USDT", mid=None):
    return {
        "ts": ts,
        "market": market,
        "fill_id": fill_id,
        "order_id": f"o-{fill_id}",
        "side": side,
        "price": price,
        "amount": amount,
        "fee": fee,
        "fee_currency": fee_currency,
        "liquidity": "maker",
        "mid": mid,
    }


def _hedge_order(cid, side, amount, decision_mid, status, filled, ts, source=None, venue="x"):
    return {
        "ts": ts,
        "market": "BTC/USDT",
        "hedge_id": f"h-{source or cid}",
        "source_fill_id": source,
        "venue": venue,
        "client_order_id": cid,
        "side": side,
        "type": "limit" if cid else None,
        "amount": amount,
        "limit_price": None,
        "decision_mid": decision_mid,
        "status": status,
        "reason": "mirror" if status != "skipped" else "no venue within slippage limit",
        "filled_amount": filled,
    }


def _hedge_fill(cid, side, price, amount, fee, ts):
    return {
        "ts": ts,
        "market": "BTC/USDT",
        "hedge_id": f"h-{cid}",
        "client_order_id": cid,
        "venue": "x",
        "side": side,
        "price": price,
        "amount": amount,
        "cost": price * amount,
        "fee": fee,
        "fee_currency": "USDT",
    }


def _write(data_dir: str, table: str, rows: list[dict]) -> None:
    w = PartWriter(data_dir, table, writer_id="t", run_id=RUN, config_hash="cfg")
    w.append(rows)
    w.flush()


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp("sla"))
    sol = [{**_sample(i, "SOL/USDT"), "target_spread_bps": 30.0} for i in range(4)]
    other_run = [_sample(i, run_id=OTHER_RUN) | {"ts": T0 + 100 * S} for i in range(5)]
    _write(data_dir, "book_samples", [_sample(i) for i in range(10)] + sol + other_run)
    _write(
        data_dir,
        "fills",
        [
            _fill("f1", "buy", 100.0, 2.0, 0.2, "USDT", T0 + 1 * S),
            _fill("f2", "sell", 102.0, 0.5, 0.051, "USDT", T0 + 2 * S),
            _fill("f3", "buy", 99.0, 1.0, 0.001, "BTC", T0 + 7 * S),
            _fill("e1", "sell", 3000.0, 0.1, 0.3, "USDT", T0 + 3 * S, "ETH/USDT", mid=3010.0),
        ],
    )
    _write(
        data_dir,
        "hedge_orders",
        [
            _hedge_order("c1", "sell", 2.0, 100.4, "filled", 2.0, T0 + 1 * S, "f1"),
            _hedge_order("c2", "buy", 0.5, 101.7, "filled", 0.5, T0 + 2 * S, "f2"),
            _hedge_order("c3", "sell", 1.0, 99.2, "rejected", 0.0, T0 + 7 * S, "f3"),
            _hedge_order(None, "sell", 1.0, None, "skipped", 0.0, T0 + 7 * S, "f3", venue=None),
        ],
    )
    _write(
        data_dir,
        "hedge_fills",
        [
            _hedge_fill("c1", "sell", 100.5, 2.0, 0.2, T0 + 1 * S),
            _hedge_fill("c2", "buy", 101.8, 0.5, 0.05, T0 + 2 * S),
        ],
    )
    return connect(data_dir)


@pytest.fixture(scope="module")
def rows(con):
    return {r["market"]: r for r in sla_summary(con, run_id=RUN)}


def test_one_row_per_market_sorted_with_the_sla_keys_first(con, rows):
    summary = sla_summary(con, run_id=RUN)
    assert [r["market"] for r in summary] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert all(list(r) == [*SLA_KEYS, *EXTRA_KEYS] for r in summary)


def test_uptime_is_the_share_of_samples_with_two_sided_quotes(rows):
    assert rows["BTC/USDT"]["samples"] == 10
    assert rows["BTC/USDT"]["uptime_pct"] == 70.0


def test_spread_percentiles_over_two_sided_samples(rows):
    two_sided = [s for s in SPREADS_BPS if s is not None]
    btc = rows["BTC/USDT"]
    assert btc["spread_bps_p50"] == round(float(np.percentile(two_sided, 50)), 4)
    assert btc["spread_bps_p95"] == round(float(np.percentile(two_sided, 95)), 4)
    assert btc["spread_bps_p95"] == 17.2  # 12 + 0.65 * (20 - 12)


def test_one_sided_samples_breach_the_spread_target(rows):
    # within 8 bps while the bot quotes both sides: 2, 4, 7, 8; breaches: 9, 12, 20, the
    # two one-sided samples and the 6 bps sample without the bot's two-sided quotes
    # (issue 13: a book inside the target without the bot's quotes does not meet its SLA)
    assert rows["BTC/USDT"]["spread_within_target_pct"] == 40.0
    assert rows["BTC/USDT"]["target_spread_bps"] == 8.0


def test_depth_in_band_medians_and_share_of_samples_meeting_the_target(rows):
    btc = rows["BTC/USDT"]
    assert btc["bid_depth_median"] == float(np.median(BID_DEPTH))
    assert btc["ask_depth_median"] == float(np.median(ASK_DEPTH))
    # both sides >= 50k: samples 0, 3, 4 (exactly 50k counts), 6, 7
    assert btc["depth_within_target_pct"] == 50.0
    assert (btc["depth_target_quote"], btc["depth_band_bps"]) == (50_000.0, 50.0)


def test_fills_volume_and_hedged_share(rows):
    btc = rows["BTC/USDT"]
    assert btc["fills"] == 3
    assert btc["volume_quote"] == 200.0 + 51.0 + 99.0
    assert btc["hedged_pct"] == round(100 * (2.0 + 0.5) / (2.0 + 0.5 + 1.0), 4)
    assert rows["ETH/USDT"]["hedged_pct"] == 0.0
    assert rows["SOL/USDT"]["hedged_pct"] == 100.0  # no fills: nothing left unhedged
    assert rows["SOL/USDT"]["fills"] == 0


def test_hedge_slippage_is_volume_weighted_against_the_decision_mid(rows):
    sell_bps = (100.4 - 100.5) / 100.4 * 1e4  # sold above the decision mid: negative = better
    buy_bps = (101.8 - 101.7) / 101.7 * 1e4  # bought above it: positive = worse
    expected = (2.0 * sell_bps + 0.5 * buy_bps) / 2.5
    assert rows["BTC/USDT"]["hedge_slippage_bps"] == pytest.approx(expected, abs=1e-4)
    assert rows["ETH/USDT"]["hedge_slippage_bps"] is None


def test_pnl_marks_the_net_position_at_the_last_sampled_mid(rows):
    cash = -200.0 + 51.0 - 99.0 - 0.2 - 0.051  # fills, quote fees
    cash += 201.0 - 50.9 - 0.2 - 0.05  # hedge fills
    position = 2.0 - 0.5 + 1.0 - 0.001 - 2.0 + 0.5  # the BTC fee reduces the position
    assert rows["BTC/USDT"]["pnl_quote"] == pytest.approx(cash + position * 101.0, abs=1e-4)
    # no samples for ETH: the open short is marked at the fill's reference mid
    assert rows["ETH/USDT"]["pnl_quote"] == pytest.approx(300.0 - 0.3 - 0.1 * 3010.0, abs=1e-4)
    assert rows["SOL/USDT"]["pnl_quote"] == 0.0


def test_a_market_with_fills_and_no_samples_reports_no_sample_figures(rows):
    eth = rows["ETH/USDT"]
    assert eth["samples"] == 0
    assert eth["uptime_pct"] is None and eth["spread_bps_p50"] is None
    assert eth["fills"] == 1


def test_filters_by_market_run_and_time_window(con):
    (btc,) = sla_summary(con, market="BTC/USDT", run_id=RUN)
    assert btc["samples"] == 10
    all_runs = {r["market"]: r for r in sla_summary(con)}
    assert all_runs["BTC/USDT"]["samples"] == 15
    (late,) = sla_summary(con, market="BTC/USDT", run_id=RUN, start_ns=T0 + 5 * S)
    assert late["samples"] == 5
    assert late["uptime_pct"] == 60.0  # samples 5..9: F T T F T
    assert late["fills"] == 1  # f3
    (early,) = sla_summary(con, market="BTC/USDT", start_ns=T0, end_ns=T0 + 2 * S)
    assert (early["samples"], early["fills"]) == (2, 1)
    assert sla_summary(con, start_ns=T0 + 86_400 * S) == []


def test_sla_on_an_empty_dataset_is_empty(tmp_path):
    assert sla_summary(connect(str(tmp_path))) == []


def test_json_and_table_render_the_summary_with_breaches_in_red(con):
    summary = sla_summary(con, run_id=RUN)
    assert json.loads(sla_json(summary)) == summary
    table = sla_table(summary, wide=True)
    console = Console(record=True, width=250)
    console.print(table)
    assert "BTC/USDT" in console.export_text()
    cells = {str(c.header).replace("\n", " "): list(c.cells) for c in table.columns}
    btc_uptime, btc_spread = cells["uptime %"][0], cells["spread p50/p95 bps (target)"][0]
    assert (str(btc_uptime), btc_uptime.style) == ("70.0", "bold red")  # under 95 %
    assert str(btc_spread) == "7.50 / 17.20 (8.0)"
    assert btc_spread.style == ""  # the median spread is inside the 8 bps target
    assert cells["hedged %"][2].style == ""  # SOL: no fills, fully hedged
    assert cells["bot share %"][0] == (
        "-" if summary[0]["bot_share_pct"] is None else f"{summary[0]['bot_share_pct']:,.1f}"
    )


def test_by_hour_splits_periods_with_independent_figures(tmp_path):
    import numpy as np

    hour0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
    w = PartWriter(str(tmp_path), "book_samples", writer_id="t", run_id="r", config_hash="c")
    spreads = {0: [5.0, 6.0, 7.0, 20.0], 1: [4.0, 4.0, 9.0, 9.0]}
    quoting = {0: [True, True, True, False], 1: [True, True, True, True]}
    for h in (0, 1):
        for i, (sp, q) in enumerate(zip(spreads[h], quoting[h], strict=True)):
            w.append(
                [
                    {
                        "ts": hour0 + h * 3_600 * 10**9 + i * 60 * 10**9,
                        "market": "BTC/USDT",
                        "best_bid": 100.0,
                        "best_ask": 100.0 + sp / 100,
                        "mid": 100.0 + sp / 200,
                        "spread_bps": sp,
                        "quoting": q,
                        "target_spread_bps": 8.0,
                        "max_spread_bps": 15.0,
                        "depth_band_bps": 50.0,
                        "depth_target_quote": 1000.0,
                        "bid_depth_band": 2000.0,
                        "ask_depth_band": 500.0 if h == 0 else 3000.0,
                        "bot_bid_depth_band": 1000.0,
                        "bot_ask_depth_band": 500.0 if h == 0 else 1500.0,
                    }
                ]
            )
    w.flush()
    rows = sla_summary(connect(str(tmp_path)), by="hour")
    assert [r["period"] for r in rows] == ["2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00"]
    for h, row in enumerate(rows):
        assert row["samples"] == 4
        assert row["uptime_pct"] == 100.0 * np.mean(quoting[h])
        assert row["spread_bps_p50"] == pytest.approx(np.quantile(spreads[h], 0.5))
        assert row["spread_bps_p95"] == pytest.approx(np.quantile(spreads[h], 0.95), abs=1e-4)
        within = np.mean([s <= 8.0 for s in spreads[h]]) * 100
        assert row["spread_within_target_pct"] == pytest.approx(within)
    assert rows[0]["depth_breach"] is True and rows[1]["depth_breach"] is False
    assert rows[0]["depth_within_target_pct"] == 0.0 and rows[1]["depth_within_target_pct"] == 100
    assert rows[1]["bot_share_pct"] == pytest.approx(100 * 2500 / 5000)
    with pytest.raises(ValueError, match="by='week'"):
        sla_summary(connect(str(tmp_path)), by="week")
