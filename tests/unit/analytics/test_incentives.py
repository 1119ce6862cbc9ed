"""`analytics.incentives` over a hand-made order feed: the DuckDB rule equals the pure one,
absent samples count as zero, one side alone earns a fraction, the budget is shared."""

import pytest

from analytics.incentives import incentive_rows, write_incentives
from analytics.views import connect
from analytics.writer import PartWriter
from engine.config import IncentiveConfig, MarketConfig
from engine.incentives import allocate, sample_score, side_scores
from engine.types import Side

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9
MARKET = MarketConfig(
    symbol="BTC/USDT",
    tier="flagship",
    incentives=IncentiveConfig(budget_quote_per_day=100, min_uptime_pct=30),
)
# (sample, owner, side, price, amount): a two-sided both samples; b one-sided then absent;
# c two-sided in one sample of four (uptime 25 % < 30 %: scored, not paid)
ORDERS = [
    (0, "maker-a", "buy", 99.9, 10.0),
    (0, "maker-a", "sell", 100.2, 5.0),
    (0, "maker-a", "sell", 101.0, 50.0),  # 100 bps out: outside the 50 bps band
    (1, "maker-a", "buy", 99.8, 10.0),
    (1, "maker-a", "sell", 100.1, 10.0),
    (0, "maker-b", "buy", 99.95, 30.0),
    (2, "maker-c", "buy", 99.9, 1.0),
    (2, "maker-c", "sell", 100.1, 1.0),
]


@pytest.fixture
def con(tmp_path):
    w = PartWriter(str(tmp_path), "book_samples", writer_id="t", run_id="r", config_hash="c")
    w.append([{"ts": T0 + i * S, "market": "BTC/USDT", "mid": 100.0} for i in range(4)])
    w.flush()
    o = PartWriter(str(tmp_path), "maker_orders", writer_id="t", run_id="r", config_hash="c")
    o.append(
        [
            {
                "ts": T0 + i * S,
                "market": "BTC/USDT",
                "owner": owner,
                "side": side,
                "price": price,
                "amount": amount,
                "mid": 100.0,
            }
            for i, owner, side, price, amount in ORDERS
        ]
    )
    o.flush()
    return connect(str(tmp_path)), str(tmp_path)


def _pure_scores():
    """The same rule with `engine.incentives`, sample by sample, 4 samples in all."""
    scores = {}
    for owner in ("maker-a", "maker-b", "maker-c"):
        total = 0.0
        for i in range(4):
            mine = [
                (Side(side), price, amount)
                for j, o, side, price, amount in ORDERS
                if j == i and o == owner
            ]
            q_bid, q_ask = side_scores(mine, 100.0, band_bps=50, distance_exponent=2)
            total += sample_score(q_bid, q_ask, 3)
        scores[owner] = total / 4
    return scores


def test_duckdb_scores_equal_the_pure_rule_and_the_budget_is_shared(con):
    db, _ = con
    rows = {r["owner"]: r for r in incentive_rows(db, MARKET, run_id="r", by="day")}
    expected = _pure_scores()
    for owner, score in expected.items():
        assert rows[owner]["score_quote"] == pytest.approx(score, abs=1e-4)
        assert rows[owner]["samples"] == 4
    # 5 bps out: weight (45 / 50)^2; one side only: a third; one sample of four
    assert rows["maker-b"]["score_quote"] == pytest.approx(30 * 99.95 * 0.9**2 / 3 / 4, abs=1e-4)
    assert (rows["maker-a"]["uptime_pct"], rows["maker-c"]["uptime_pct"]) == (50.0, 25.0)
    assert rows["maker-b"]["uptime_pct"] == 0.0  # never two-sided
    payouts = allocate(
        expected,
        {o: r["uptime_pct"] for o, r in rows.items()},
        budget_quote=100,
        min_uptime_pct=30,
    )
    assert rows["maker-c"]["payout_quote"] == 0.0 and rows["maker-b"]["payout_quote"] == 0.0
    assert rows["maker-a"]["payout_quote"] == pytest.approx(payouts["maker-a"]) == 100.0


def test_writing_twice_replaces_the_runs_rows(con):
    db, data = con
    rows = incentive_rows(db, MARKET, run_id="r", by="day")
    write_incentives(data, rows, run_id="r", config_hash="c")
    write_incentives(data, rows, run_id="r", config_hash="c")
    fresh = connect(data)
    assert fresh.execute("select count(*), sum(payout_quote) from incentives").fetchone() == (
        3,
        pytest.approx(100.0),
    )
