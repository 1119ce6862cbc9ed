"""The `handover` view against hand-computed days, and the curve in the report."""

import pytest

from analytics.handover import handover_curve
from analytics.report import build_report
from analytics.views import connect
from analytics.writer import PartWriter

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
DAY = 86_400 * 10**9


def _sample(ts, bid, ask, bot_bid, bot_ask, spread=6.0):
    return {
        "ts": ts,
        "market": "BTC/USDT",
        "mid": 100.0,
        "spread_bps": spread,
        "quoting": True,
        "target_spread_bps": 8.0,
        "depth_target_quote": 100.0,
        "depth_band_bps": 50.0,
        "bid_depth_band": bid,
        "ask_depth_band": ask,
        "bot_bid_depth_band": bot_bid,
        "bot_ask_depth_band": bot_ask,
    }


@pytest.fixture
def data(tmp_path):
    # day 1: the bot alone; day 2: users carry 80 % but two samples in a row fall short
    rows = [_sample(T0 + i * 10**9, 120, 120, 120, 120) for i in range(4)]
    rows += [
        _sample(T0 + DAY + i * 10**9, bid, 150, 30, 30)
        for i, bid in enumerate((150, 90, 80, 150, 150))
    ]
    w = PartWriter(str(tmp_path), "book_samples", writer_id="t", run_id="r", config_hash="c")
    w.append(rows)
    w.flush()
    return str(tmp_path)


def test_bot_share_sla_and_longest_gap_per_day(data):
    day1, day2 = handover_curve(connect(data), market="BTC/USDT")
    assert day1["day"] == "2026-01-01" and day1["bot_share_pct"] == 100.0
    assert day1["depth_within_target_pct"] == 100.0 and day1["longest_depth_gap_samples"] == 0
    assert day2["bot_share_pct"] == pytest.approx(100 * 300 / (620 + 750), abs=1e-3)
    assert day2["depth_within_target_pct"] == 60.0
    assert day2["longest_depth_gap_samples"] == 2
    assert day2["user_depth_quote"] == pytest.approx((620 + 750 - 300) / 5 / 2)


def test_report_draws_the_handover_curve(data):
    page = build_report(connect(data))
    assert "Handover: bot share and SLA per day" in page
    assert '"name":"bot share of depth %"' in page
