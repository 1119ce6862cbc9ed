"""engine/broker/quotes.py: TTL, idempotent accept, sizes, per-client limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.broker import (
    ClientLimits,
    DailyLimitExceeded,
    FirmQuote,
    QuoteBook,
    QuoteExpired,
    RequestLimitExceeded,
    SizeRejected,
    UnknownQuote,
    broker_fill,
    check_size,
    inventory_needed,
    new_quote_id,
)
from engine.broker.quotes import NS_PER_DAY
from engine.types import Side

T0 = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z
S = 10**9
LIMITS = ClientLimits(max_notional_per_request_quote=1_000, max_notional_per_day_quote=1_500)


def quote(qid="q1", client="acme", size="0.01", price="60000", side=Side.BUY, ttl_s=30):
    return FirmQuote(
        quote_id=qid,
        broker="otc",
        client=client,
        symbol="BTC/USDT",
        side=side,
        size=Decimal(size),
        price=Decimal(price),
        created_ns=T0,
        expires_ns=T0 + ttl_s * S,
        mid_price=59_990.0,
        walked_price=59_995.0,
        deviation_bps=1.0,
    )


def fill_of(q, now):
    return broker_fill(q, account="home", fill_id=f"rfq-{q.quote_id}", now=now)


def test_accept_within_ttl_executes_once_then_returns_the_same_fill():
    book = QuoteBook()
    q = quote()
    book.add(q)
    got, fill = book.accept("q1", "acme", T0 + 29 * S, LIMITS)
    assert got == q and fill is None  # the caller executes it
    f = fill_of(q, T0 + 29 * S)
    book.record_fill("q1", f)
    assert book.accept("q1", "acme", T0 + 29 * S, LIMITS) == (q, f)
    # even after the TTL: a retried accept sees its fill, not an error, and no second trade
    assert book.accept("q1", "acme", T0 + 300 * S, LIMITS) == (q, f)
    with pytest.raises(ValueError, match="already executed"):
        book.record_fill("q1", f)
    assert book.used_today("acme", T0) == Decimal("600.00")


def test_expired_unknown_and_foreign_quotes_are_refused_with_their_status():
    book = QuoteBook()
    book.add(quote())
    with pytest.raises(QuoteExpired) as exc:
        book.accept("q1", "acme", T0 + 30 * S + 1, LIMITS)
    assert exc.value.status == 410 and exc.value.fields["quote_id"] == "q1"
    assert "expired at 2023-11-14T22:13:50" in exc.value.message
    with pytest.raises(UnknownQuote) as exc2:
        book.accept("nope", "acme", T0, LIMITS)
    assert exc2.value.status == 404


def test_another_clients_quote_is_as_unknown_as_a_made_up_id():
    """Issue 11: a foreign quote was 403 and an unknown one 404, so ids could be probed.
    Now both answers are byte-identical, expired or not."""
    book = QuoteBook()
    book.add(quote())
    answers = []
    for quote_id, client, now in [
        ("nope", "acme", T0),
        ("q1", "mallory", T0),
        ("q1", "mallory", T0 + 31 * S),  # expired: still not told apart
    ]:
        with pytest.raises(UnknownQuote) as exc:
            book.accept(quote_id, client, now, LIMITS)
        answers.append((exc.value.status, exc.value.as_json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404
    assert book.accept("q1", "acme", T0, LIMITS)[1] is None  # the owner still can


def test_quote_ids_are_unguessable():
    ids = {new_quote_id("otc-btc") for _ in range(2_000)}
    assert len(ids) == 2_000
    for quote_id in list(ids)[:50]:
        prefix, _, token = quote_id.partition("-btc-")
        assert prefix == "otc" and len(token) >= 22  # 128 random bits, url-safe base64


def test_per_request_and_daily_limits():
    book = QuoteBook()
    with pytest.raises(RequestLimitExceeded) as exc:
        book.check_limits("acme", Decimal("1000.01"), LIMITS, T0)
    assert exc.value.status == 403
    for i in (1, 2):
        book.add(quote(qid=f"q{i}", size="0.01"))  # 600 each
    book.accept("q1", "acme", T0, LIMITS)
    book.record_fill("q1", fill_of(quote(qid="q1"), T0))
    book.accept("q2", "acme", T0, LIMITS)  # 1200 <= 1500: fine
    book.record_fill("q2", fill_of(quote(qid="q2"), T0))
    book.add(quote(qid="q3", size="0.01"))
    with pytest.raises(DailyLimitExceeded) as exc2:
        book.accept("q3", "acme", T0, LIMITS)  # 1800 > 1500
    assert exc2.value.status == 429
    assert exc2.value.fields["used_today"] == "1200.00"
    book.check_limits("other", Decimal("600"), LIMITS, T0)  # per client
    next_day = (T0 // NS_PER_DAY + 1) * NS_PER_DAY
    book.check_limits("acme", Decimal("600"), LIMITS, next_day)  # a new UTC day


def test_prune_forgets_old_quotes_only():
    book = QuoteBook(keep_expired_s=60)
    book.add(quote(qid="old", ttl_s=1))
    book.add(quote(qid="new", ttl_s=120))
    assert book.prune(T0 + 62 * S) == 1
    with pytest.raises(UnknownQuote):
        book.get("old", "acme")
    assert book.get("new", "acme").quote_id == "new"


@pytest.mark.parametrize(
    ("size", "code"),
    [("0.0001", "undersized"), ("2.001", "oversized"), ("0.0015", "bad_increment")],
)
def test_size_rules(size, code):
    with pytest.raises(SizeRejected) as exc:
        check_size(
            Decimal(size),
            min_size=Decimal("0.001"),
            max_size=Decimal("2"),
            increment=Decimal("0.001"),
        )
    assert exc.value.code == code and exc.value.status == 422
    assert exc.value.as_json()["max_size"] == "2"


def test_sizes_on_the_grid_pass():
    for size in ("0.001", "0.002", "2"):
        check_size(
            Decimal(size),
            min_size=Decimal("0.001"),
            max_size=Decimal("2"),
            increment=Decimal("0.001"),
        )


def test_fill_is_the_brokers_side_on_the_inventory_account():
    f = fill_of(quote(side=Side.BUY), T0)
    assert (f.side, f.venue, f.market, f.order_id) == (Side.SELL, "home", "BTC/USDT", "q1")
    assert f.quote_amount == Decimal("600.00") and f.fee == 0 and f.fee_currency == "USDT"


def test_the_inventory_delivers_base_to_a_buyer_and_quote_to_a_seller():
    assert inventory_needed(quote(side=Side.BUY)) == ("BTC", Decimal("0.01"))
    assert inventory_needed(quote(side=Side.SELL)) == ("USDT", Decimal("600.00"))
