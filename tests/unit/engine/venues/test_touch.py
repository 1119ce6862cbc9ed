"""A real-time touch laid over a diff-depth copy (`engine.venues.touch`)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.types import BookSnapshot
from engine.venues.touch import Touch, touch_from_ccxt, touch_is_newer, with_touch

BOOK = BookSnapshot(
    venue="v",
    symbol="BTC/USDT",
    ts_ns=1_000,
    bids=((100.0, 1.0), (99.0, 2.0), (98.0, 3.0)),
    asks=((101.0, 1.0), (102.0, 2.0), (103.0, 3.0)),
)


def touch(bid: float | None, bid_amount: float, ask: float | None, ask_amount: float) -> Touch:
    return Touch(bid, bid_amount, ask, ask_amount, update_id=None, received_ns=2_000)


def test_a_top_that_moved_away_drops_the_levels_it_passed_and_keeps_the_deeper_ones():
    moved = with_touch(BOOK, touch(99.0, 0.5, 102.0, 0.25))
    assert moved.bids == ((99.0, 0.5), (98.0, 3.0))
    assert moved.asks == ((102.0, 0.25), (103.0, 3.0))
    assert moved.ts_ns == BOOK.ts_ns  # the deeper levels are as old as the diff


def test_a_top_that_improved_is_put_in_front_and_the_depth_keeps_its_size():
    better = with_touch(BOOK, touch(100.5, 4.0, 100.9, 0.1))
    assert better.bids == ((100.5, 4.0), (100.0, 1.0), (99.0, 2.0))
    assert better.asks == ((100.9, 0.1), (101.0, 1.0), (102.0, 2.0))


def test_the_same_top_or_no_side_leaves_the_book_as_it_is():
    assert with_touch(BOOK, touch(100.0, 1.0, 101.0, 1.0)) is BOOK
    assert with_touch(BOOK, touch(None, 0.0, None, 0.0)) is BOOK


def test_newer_by_update_id_when_both_have_one_else_by_time():
    t = Touch(100.0, 1.0, 101.0, 1.0, update_id=11, received_ns=500)
    assert touch_is_newer(t, BOOK, 10)
    assert not touch_is_newer(t, BOOK, 11)  # the diff that carried it has come
    assert not touch_is_newer(t, BOOK, None)  # received before the diff's event time
    assert touch_is_newer(Touch(100.0, 1.0, 101.0, 1.0, None, 1_001), BOOK, 10)


def test_a_ccxt_bids_asks_ticker_reads_with_its_update_id_and_an_empty_side_is_none():
    t = touch_from_ccxt(
        {"bid": 100.0, "bidVolume": 2.0, "ask": 0.0, "askVolume": 0.0, "info": {"u": 42}}, 7
    )
    assert t == Touch(100.0, 2.0, None, 0.0, update_id=42, received_ns=7)


prices = st.integers(min_value=1, max_value=60).map(float)


@st.composite
def books_and_touches(draw: st.DrawFn) -> tuple[BookSnapshot, Touch]:
    bid_prices = sorted(draw(st.sets(prices, min_size=1, max_size=8)), reverse=True)
    ask_prices = sorted(p + 60 for p in draw(st.sets(prices, min_size=1, max_size=8)))
    amounts = st.integers(min_value=1, max_value=9).map(float)
    book = BookSnapshot(
        "v",
        "S",
        0,
        tuple((p, draw(amounts)) for p in bid_prices),
        tuple((p, draw(amounts)) for p in ask_prices),
    )
    bid = draw(st.one_of(st.none(), prices))
    ask = draw(st.one_of(st.none(), prices.map(lambda p: p + 60)))
    return book, Touch(bid, draw(amounts), ask, draw(amounts), None, 1)


@settings(max_examples=300, deadline=None)
@given(books_and_touches())
def test_the_top_is_the_touch_and_every_other_level_is_a_deeper_one_of_the_diff(case):
    book, t = case
    out = with_touch(book, t)
    for side, price, amount, old, deeper in (
        (out.bids, t.bid, t.bid_amount, book.bids, lambda p, q: p < q),
        (out.asks, t.ask, t.ask_amount, book.asks, lambda p, q: p > q),
    ):
        if price is None:
            assert side == old
            continue
        assert side[0] == (price, amount)
        assert all(level in old and deeper(level[0], price) for level in side[1:])
        assert len(side) <= len(old)
        assert len({p for p, _ in side}) == len(side)  # each price once
    assert out.bids[0][0] < out.asks[0][0]  # bids stay under asks: touches never cross here
