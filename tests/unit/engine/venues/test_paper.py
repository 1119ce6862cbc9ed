"""`walk_book`: what an IOC at a limit takes from a book, best level first."""

from __future__ import annotations

from decimal import Decimal

from engine.types import BookSnapshot, Side
from engine.venues.paper import walk_book

BOOK = BookSnapshot(
    venue="v",
    symbol="BTC/USDT",
    ts_ns=0,
    bids=((64_999.9, 0.5), (64_999.0, 1.0), (64_990.0, 2.0)),
    asks=((65_000.1, 0.3), (65_001.0, 0.4), (65_010.0, 5.0)),
)


def test_a_buy_walks_the_asks_up_to_its_limit_and_no_further():
    takes = walk_book(BOOK, Side.BUY, Decimal("1"), Decimal("65001.0"))
    assert takes == [(Decimal("65000.1"), Decimal("0.3")), (Decimal("65001.0"), Decimal("0.4"))]


def test_a_sell_walks_the_bids_down_and_stops_when_filled():
    takes = walk_book(BOOK, Side.SELL, Decimal("0.7"), Decimal("64000"))
    assert takes == [(Decimal("64999.9"), Decimal("0.5")), (Decimal("64999.0"), Decimal("0.2"))]


def test_nothing_at_the_limit_takes_nothing():
    assert walk_book(BOOK, Side.BUY, Decimal("1"), Decimal("65000.0")) == []
    assert walk_book(BOOK, Side.SELL, Decimal("1"), Decimal("65000.0")) == []
