"""engine/broker/pricing.py against hand-computed values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.broker import (
    NotQuoting,
    firm_price,
    inventory_skew_bps,
    parse_formula,
    price_formula,
    walk_vwap,
)
from engine.types import BookSnapshot, Side

NOW = 1_700_000_000_000_000_000


def book(venue, symbol, bids, asks, age_s=0.0):
    return BookSnapshot(venue, symbol, NOW - int(age_s * 1e9), tuple(bids), tuple(asks))


def btc_books(**extra):
    books = {
        "a": {"BTC/USDT": book("a", "BTC/USDT", [(99, 1), (98, 2)], [(101, 1), (102, 2)])},
        "b": {"BTC/USDT": book("b", "BTC/USDT", [(99.5, 1)], [(100.5, 1)])},
    }
    books.update(extra)
    return books


def priced(formula, books, side, size, max_dev=25.0, max_age=5.0):
    return price_formula(
        parse_formula(formula),
        books,
        side,
        size,
        NOW,
        max_book_age_s=max_age,
        max_deviation_bps=max_dev,
    )


def test_walk_vwap_takes_levels_in_order():
    # 1 @ 100 + 1.5 @ 101 = 251.5 over 2.5
    assert walk_vwap([(100, 1), (101, 2), (103, 5)], 2.5, what="x") == pytest.approx(100.6)


def test_walk_vwap_refuses_a_short_book():
    with pytest.raises(NotQuoting) as exc:
        walk_vwap([(100, 1), (101, 2)], 3.5, what="a:BTC/USDT asks")
    assert exc.value.code == "insufficient_depth"
    assert "a:BTC/USDT asks" in exc.value.message


def test_named_venue_is_walked_for_the_size_on_the_clients_side():
    buy = priced("a:BTC/USDT", btc_books(), Side.BUY, 2)
    assert buy.walked_price == pytest.approx((101 + 102) / 2)  # not the touch: 101.5
    assert buy.mid_price == pytest.approx(100)
    sell = priced("a:BTC/USDT", btc_books(), Side.SELL, 2)
    assert sell.walked_price == pytest.approx((99 + 98) / 2)


def test_star_walks_every_healthy_venue_merged():
    # merged asks: 1 @ 100.5 (b), 1 @ 101 (a), 2 @ 102 (a); 1.5 = 100.5 + 0.5 * 101
    buy = priced("*:BTC/USDT", btc_books(), Side.BUY, 1.5)
    assert buy.walked_price == pytest.approx((100.5 + 0.5 * 101) / 1.5)
    assert buy.mid_price == pytest.approx(100)


def test_fair_price_check_refuses_sources_that_disagree():
    books = btc_books(c={"BTC/USDT": book("c", "BTC/USDT", [(109.9, 1)], [(110.1, 1)])})
    with pytest.raises(NotQuoting) as exc:
        priced("a,c:BTC/USDT", books, Side.BUY, 0.5)
    assert exc.value.code == "fair_price_deviation"
    # c's mid 110 vs a's mid 100 (the merged hedge book is crossed: 105.2, in between)
    assert exc.value.fields["deviation_bps"] == pytest.approx(1000, abs=0.01)


def test_an_outlier_venue_trips_the_check_even_when_not_named():
    # the formula names only a, but the hedge book of all venues sits at (109.9 + 100.5) / 2
    books = btc_books(c={"BTC/USDT": book("c", "BTC/USDT", [(109.9, 1)], [(110.1, 1)])})
    with pytest.raises(NotQuoting) as exc:
        priced("a:BTC/USDT", books, Side.BUY, 0.5)
    assert exc.value.fields["deviation_bps"] == pytest.approx(520, abs=0.01)


def test_deviation_within_the_limit_is_quoted_and_reported():
    # a mid 100, b mid 100, merged mid (99.5 + 100.5) / 2 = 100: 0 bps
    assert priced("a,b:BTC/USDT", btc_books(), Side.BUY, 0.5).deviation_bps == pytest.approx(0)
    books = btc_books(b={"BTC/USDT": book("b", "BTC/USDT", [(99.7, 1)], [(100.5, 1)])})
    # b mid 100.1, merged (99.7 + 100.5) / 2 = 100.1, a 100: 10 bps
    p = priced("a,b:BTC/USDT", books, Side.BUY, 0.5, max_dev=10.5)
    assert p.deviation_bps == pytest.approx(10, abs=1e-6)
    with pytest.raises(NotQuoting):
        priced("a,b:BTC/USDT", books, Side.BUY, 0.5, max_dev=9.5)


def test_a_stale_named_book_refuses_to_quote():
    books = btc_books(a={"BTC/USDT": book("a", "BTC/USDT", [(99, 1)], [(101, 1)], age_s=6)})
    with pytest.raises(NotQuoting) as exc:
        priced("a:BTC/USDT", books, Side.BUY, 0.5)
    assert exc.value.code == "stale_books"
    assert "a:BTC/USDT" in exc.value.message and "6.0s" in exc.value.message
    # `*` drops the stale venue and quotes off the fresh one (b: 100.5)
    assert priced("*:BTC/USDT", books, Side.BUY, 0.5).walked_price == pytest.approx(100.5)


def test_all_books_stale_or_missing_refuses():
    books = {"a": {"BTC/USDT": book("a", "BTC/USDT", [(99, 1)], [(101, 1)], age_s=9)}}
    with pytest.raises(NotQuoting) as exc:
        priced("*:BTC/USDT", books, Side.BUY, 0.5)
    assert exc.value.code == "stale_books"
    with pytest.raises(NotQuoting) as exc:
        priced("z:BTC/USDT", books, Side.BUY, 0.5)
    assert exc.value.code == "no_books"


def test_cross_walks_the_divisor_on_the_other_side():
    books = {
        "a": {"BTC/USDT": book("a", "BTC/USDT", [(59990, 10)], [(60010, 1), (60020, 10)])},
        "b": {"ETH/USDT": book("b", "ETH/USDT", [(2999, 10), (2998, 100)], [(3001, 100)])},
    }
    p = priced("a:BTC/USDT / b:ETH/USDT", books, Side.BUY, 1.5)
    # client buys 1.5 BTC for ETH: buy 1.5 BTC on a's asks, sell 1.5 * 60000 / 3000 = 30 ETH
    # on b's bids (10 @ 2999 + 20 @ 2998)
    btc = (60010 + 0.5 * 60020) / 1.5
    eth = (10 * 2999 + 20 * 2998) / 30
    assert p.walked_price == pytest.approx(btc / eth)
    assert p.walked_price == pytest.approx(20.015564, abs=1e-6)
    assert p.mid_price == pytest.approx(20)


def test_multiplying_term_trades_the_converted_amount():
    books = {
        "a": {"ETH/BTC": book("a", "ETH/BTC", [(0.0499, 100)], [(0.05, 100)])},
        "b": {"BTC/USDT": book("b", "BTC/USDT", [(59900, 10)], [(60000, 1), (60100, 10)])},
    }
    p = priced("a:ETH/BTC * b:BTC/USDT", books, Side.BUY, 30, max_dev=100)
    # 30 ETH cost 1.4985 BTC at the ETH/BTC mid 0.04995: 1 @ 60000 + 0.4985 @ 60100
    btc = (60000 + 0.4985 * 60100) / 1.4985
    assert p.walked_price == pytest.approx(0.05 * btc)
    assert p.mid_price == pytest.approx(0.04995 * 59950)


def test_constant_scales_mid_and_walked_price():
    p = priced("a:BTC/USDT * 1.01", btc_books(), Side.BUY, 1)
    assert p.walked_price == pytest.approx(101 * 1.01)
    assert p.mid_price == pytest.approx(101)


def test_firm_price_adds_spread_and_rounds_in_the_brokers_favour():
    tick = Decimal("0.01")
    # 100.6 * 1.005 = 101.103 -> up to 101.11
    assert firm_price(100.6, Side.BUY, spread_pct=0.5, skew_bps=0, tick=tick) == Decimal("101.11")
    # 98.5 * 0.995 = 98.0075 -> down to 98.00
    assert firm_price(98.5, Side.SELL, spread_pct=0.5, skew_bps=0, tick=tick) == Decimal("98.00")
    # long 10 bps: 100.6 * 1.005 * 0.999 = 101.001897 -> 101.01
    assert firm_price(100.6, Side.BUY, spread_pct=0.5, skew_bps=10, tick=tick) == Decimal("101.01")
    # short 10 bps: 98.5 * 0.995 * 1.001 = 98.1055075 -> 98.10
    assert firm_price(98.5, Side.SELL, spread_pct=0.5, skew_bps=-10, tick=tick) == Decimal("98.10")


def test_inventory_skew_direction_and_clamp():
    assert inventory_skew_bps(0.5, 0, 1, 20) == pytest.approx(10)  # long: prices down
    assert inventory_skew_bps(-3, 0, 1, 20) == pytest.approx(-20)  # clamped at the limit
    assert inventory_skew_bps(1, 1, 2, 20) == pytest.approx(0)  # at target
