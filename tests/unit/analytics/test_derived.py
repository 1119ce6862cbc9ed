"""Derived views against hand-computed answers."""

import pytest

from analytics.views import connect
from analytics.writer import PartWriter

T0 = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
S = 10**9


def _write(tmp_path, table, rows):
    w = PartWriter(str(tmp_path), table, writer_id="t", run_id="r", config_hash="c")
    w.append(rows)
    w.flush()


def _dataset(tmp_path, hedge_fee: float = 0.1, hedge_fee_currency: str = "USDT"):
    samples = [(0, 100.0), (1, 100.2), (5, 100.5), (60, 99.0)]
    _write(
        tmp_path,
        "book_samples",
        [
            {
                "ts": T0 + t * S,
                "market": "BTC/USDT",
                "mid": mid,
                "best_bid": mid - 0.05,
                "best_ask": mid + 0.05,
                "spread_bps": 10.0,
                "quoting": True,
            }
            for t, mid in samples
        ],
    )
    _write(
        tmp_path,
        "fills",
        [
            {
                "ts": T0,
                "seen_ts": T0 + 20_000_000,
                "market": "BTC/USDT",
                "fill_id": "f1",
                "side": "buy",
                "price": 99.9,
                "amount": 2.0,
                "fee": 0.0,
                "mid": 100.0,
            },
        ],
    )
    _write(
        tmp_path,
        "hedge_orders",
        [
            {
                "ts": T0 + 50_000_000,
                "market": "BTC/USDT",
                "hedge_id": "m-f1",
                "source_fill_id": "f1",
                "venue": "v",
                "client_order_id": "c1",
                "side": "sell",
                "type": "limit",
                "amount": 2.0,
                "limit_price": 99.0,
                "decision_mid": 100.0,
                "status": "filled",
                "reason": "mirror",
                "filled_amount": 2.0,
            },
        ],
    )
    _write(
        tmp_path,
        "hedge_fills",
        [
            {
                "ts": T0 + 60_000_000,
                "market": "BTC/USDT",
                "hedge_id": "m-f1",
                "client_order_id": "c1",
                "venue": "v",
                "side": "sell",
                "price": 99.95,
                "amount": 2.0,
                "cost": 199.9,
                "fee": hedge_fee,
                "fee_currency": hedge_fee_currency,
            },
        ],
    )
    return connect(str(tmp_path))


@pytest.fixture
def con(tmp_path):
    return _dataset(tmp_path)


def test_markouts(con):
    row = con.execute(
        "select mid_1s, mid_5s, mid_60s, effective_spread_bps, realised_spread_5s_bps, "
        "adverse_selection_5s_bps from markouts where fill_id = 'f1'"
    ).fetchone()
    mid_1s, mid_5s, mid_60s, eff, real5, adv5 = row
    assert (mid_1s, mid_5s, mid_60s) == (100.2, 100.5, 99.0)
    assert eff == pytest.approx((100.0 - 99.9) / 100.0 * 1e4)  # bought 10 bps under mid
    assert real5 == pytest.approx((100.5 - 99.9) / 100.0 * 1e4)
    # issue 13: adverse selection is effective - realised, as documented: the mid rose
    # 50 bps after the bot bought, in its favour, so -50 (it was +50, the opposite sign)
    assert adv5 == pytest.approx(eff - real5)
    assert adv5 == pytest.approx(-(100.5 - 100.0) / 100.0 * 1e4)


def test_pnl_decomposes_the_mark_to_market_total(con):
    day, capture, slip, hfees, home, total, inventory = con.execute(
        "select day, spread_capture_quote, hedge_slippage_quote, hedge_fees_quote, "
        "home_fees_quote, total_pnl_quote, inventory_pnl_quote from pnl"
    ).fetchone()
    assert str(day) == "2026-01-01"
    assert capture == pytest.approx(0.1 * 2)  # 0.1 under mid on 2 units
    assert slip == pytest.approx((100.0 - 99.95) * 2)  # sold 0.05 under the decision mid
    assert hfees == pytest.approx(0.1) and home == 0
    assert total == pytest.approx(-99.9 * 2 + 199.9 - 0.1)  # flat: no position to mark
    assert capture - slip - hfees - home + inventory == pytest.approx(total)


def test_a_fee_taken_in_the_base_asset_leaves_the_position_and_is_priced_as_a_fee(tmp_path):
    """Binance takes a fee in what the order received; it had been added to the quote
    fees as if 0.001 BTC were 0.001 USDT, so the view's total ran above the desk PnL
    the run summary prints (by the BTC fees' worth) and the fee column read near 0."""
    con = _dataset(tmp_path, hedge_fee=0.001, hedge_fee_currency="BTC")
    hfees, total, capture, slip, inventory = con.execute(
        "select hedge_fees_quote, total_pnl_quote, spread_capture_quote, "
        "hedge_slippage_quote, inventory_pnl_quote from pnl"
    ).fetchone()
    assert hfees == pytest.approx(0.001 * 99.95)  # valued at the fill's price
    # cash of both legs, and the 0.001 BTC the fee took marked at the last mid (99.0)
    assert total == pytest.approx(-99.9 * 2 + 199.9 - 0.001 * 99.0)
    assert capture - slip - hfees + inventory == pytest.approx(total)
    (summary,) = con.execute("select pnl_quote from sla_daily").fetchone()
    assert total == pytest.approx(summary)  # one desk PnL, whichever table asks


def test_hedge_quality(con):
    ms, seen_ms, filled, vwap, slip = con.execute(
        "select fill_to_hedge_ms, seen_to_hedge_ms, filled, vwap, slippage_bps "
        "from hedge_quality where hedge_id = 'm-f1'"
    ).fetchone()
    assert ms == pytest.approx(50.0) and seen_ms == pytest.approx(30.0)
    assert filled == 2.0 and vwap == pytest.approx(99.95)
    assert slip == pytest.approx(5.0)


def test_sla_period_views_exist_and_agree(con):
    hourly = con.execute("select market, samples from sla_hourly").fetchall()
    daily = con.execute("select market, samples from sla_daily").fetchall()
    assert hourly == daily == [("BTC/USDT", 4)]
