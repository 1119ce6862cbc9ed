import pytest

from engine.config import MarketConfig
from engine.quoting import ExternalBook, MirrorPolicy, QuoteContext, build_policy, consolidate_books
from engine.types import BookSnapshot, Side

A = BookSnapshot("a", "SOL/USDT", 2_000, bids=((99.99, 10.0), (99.95, 20.0)), asks=((100.01, 5.0),))
B = BookSnapshot("b", "SOL/USDT", 1_000, bids=((99.99, 1.0), (99.90, 4.0)), asks=((100.02, 7.0),))

MARKET = MarketConfig(
    symbol="SOL/USDT",
    policy="mirror",
    levels=2,
    level_spacing_bps=5,
    order_notional_quote=100_000,
    policy_params={
        "mirror_margin_bps": 2,
        "mirror_slippage_bps": 1,
        "mirror_depth_share": 0.5,
        "mirror_balance_share": 1.0,
    },
)


def test_consolidate_merges_levels_best_first_with_the_oldest_ts():
    book = consolidate_books("SOL/USDT", [A, B])
    assert book.bids == ((99.99, 11.0), (99.95, 20.0), (99.90, 4.0))
    assert book.asks == ((100.01, 5.0), (100.02, 7.0))
    assert book.ts_ns == 1_000


def _ctx(base_available: float = 1_000.0, quote_available: float = 1e6, market=MARKET):
    external = ExternalBook(
        book=consolidate_books("SOL/USDT", [A, B]),
        base_available=base_available,
        quote_available=quote_available,
        taker_fee=0.0005,
    )
    return QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=market, external=external)


def test_markup_covers_fee_slippage_and_margin():
    assert MirrorPolicy(MARKET).markup_bps(0.0005) == pytest.approx(5 + 1 + 2)


def test_buckets_worst_price_marked_up_and_half_the_size():
    # bids from touch 99.99: bucket 0 = [0, 5) bps -> 99.99 and 99.95 (4 bps), worst 99.95, 31;
    # bucket 1 = [5, 10) bps -> 99.90 (9 bps), 4. Asks: one bucket, worst 100.02, 12. Markup 8 bps.
    policy = build_policy(MARKET)
    assert isinstance(policy, MirrorPolicy)
    levels = policy.desired_quotes(_ctx())
    assert [(q.side, q.price, q.amount) for q in levels] == [
        (Side.BUY, pytest.approx(99.95 * (1 - 8e-4)), pytest.approx(15.5)),
        (Side.BUY, pytest.approx(99.90 * (1 - 8e-4)), pytest.approx(2.0)),
        (Side.SELL, pytest.approx(100.02 * (1 + 8e-4)), pytest.approx(6.0)),
    ]


def test_sizes_shrink_to_the_hedge_balance():
    # 10 base to sell on the hedge venues covers 10 of home bids; 300 quote buys 3 base
    levels = MirrorPolicy(MARKET).desired_quotes(_ctx(base_available=10.0, quote_available=300.0))
    assert [(q.side, q.amount) for q in levels] == [
        (Side.BUY, pytest.approx(10.0)),
        (Side.SELL, pytest.approx(3.0)),
    ]


def test_sizes_stop_at_the_order_notional():
    market = MARKET.model_copy(update={"order_notional_quote": 1_000.0})
    levels = MirrorPolicy(market).desired_quotes(_ctx(market=market))
    assert sum(q.amount for q in levels if q.side is Side.BUY) == pytest.approx(10.0)


def test_no_external_book_no_quotes():
    ctx = QuoteContext(ts_ns=0, mid=100.0, inventory=0.0, market=MARKET)
    assert MirrorPolicy(MARKET).desired_quotes(ctx) == []
