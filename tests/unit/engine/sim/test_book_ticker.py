"""venue-sim's `@bookTicker` is real time, as Binance pushes it: at the refresh of a
watched book and when a taker consumes its top, with no depth tick in between."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from engine.sim.binance_ws import BinanceStreams, _Conn
from engine.sim.touch_schedule import TouchSchedule
from engine.types import Side
from tests.unit.engine.sim.test_exchange import KEY, REFRESH_NS, T0, book_at, make_exchange, market


def watching_btc(streams: BinanceStreams, now_ns: int) -> _Conn:
    """A client subscribed to `btcusdt@bookTicker`, registered by one depth tick."""
    conn = _Conn(ws=None, opened_ns=now_ns, streams={"btcusdt@bookTicker"})  # type: ignore[arg-type]
    streams._conns.add(conn)
    streams.tick(now_ns)
    return conn


def pushed(conn: _Conn) -> list[dict[str, Any]]:
    out = []
    while not conn.outbox.empty():
        out.append(json.loads(conn.outbox.get_nowait()))
    return out


def test_a_taker_that_consumes_the_top_moves_the_ticker_at_once():
    exchange = make_exchange()
    streams = BinanceStreams(exchange, credentials={KEY: "secret"})
    conn = watching_btc(streams, T0)
    [first] = pushed(conn)  # the tick's ticker
    best = book_at(T0).asks[0]
    assert (Decimal(first["a"]), Decimal(first["A"])) == (best.price, best.amount)

    half = (best.amount / 2).quantize(Decimal("0.0001"))
    order = exchange.place_order(KEY, market(Side.BUY, str(half)), T0 + 1)
    streams.on_order(KEY, order, T0 + 1, created=True)
    [touch] = pushed(conn)  # no tick ran: the order's own handling pushed it
    assert touch["s"] == "BTCUSDT"
    assert (Decimal(touch["a"]), Decimal(touch["A"])) == (best.price, best.amount - half)
    assert touch["u"] > first["u"]  # the id of the diff that will carry the change


def test_a_refresh_of_a_watched_book_moves_the_ticker_without_a_tick():
    exchange = make_exchange()
    streams = BinanceStreams(exchange, credentials={KEY: "secret"})
    conn = watching_btc(streams, T0)
    pushed(conn)
    streams.push_touches(T0 + REFRESH_NS - 1)  # still the book the tick published
    assert pushed(conn) == []
    streams.push_touches(T0 + REFRESH_NS)
    [touch] = pushed(conn)
    fresh = book_at(T0 + REFRESH_NS)
    assert (Decimal(touch["b"]), Decimal(touch["B"])) == (fresh.bids[0].price, fresh.bids[0].amount)
    assert (Decimal(touch["a"]), Decimal(touch["A"])) == (fresh.asks[0].price, fresh.asks[0].amount)


def test_the_schedule_wakes_each_watched_symbol_at_its_refresh_and_forgets_the_unwatched():
    period = 100

    def next_change(symbol: str, now: int) -> int:
        phase = {"a": 10, "b": 60}[symbol]
        return (now - phase) // period * period + period + phase

    schedule = TouchSchedule(next_change)
    assert schedule.next_due_ns() is None
    assert schedule.due(0, {"a", "b"}) == ["a", "b"]  # first watched: looked at at once
    assert schedule.next_due_ns() == 10
    assert schedule.due(9, {"a", "b"}) == []
    assert schedule.due(10, {"a", "b"}) == ["a"]
    assert schedule.due(65, {"a", "b"}) == ["b"]
    assert schedule.due(115, {"b"}) == []  # "a" is no longer watched: dropped, not due
    assert schedule.due(160, {"b"}) == ["b"]
    assert schedule.due(170, {"a", "b"}) == ["a"]  # watched again: at once
