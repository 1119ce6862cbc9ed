from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import ccxt
import pytest

from engine.types import ChildOrder, MarketSpec, Side
from engine.venues.ccxt_venue import CcxtVenue, point_api_urls, quantize
from engine.venues.errors import (
    AuthenticationFailed,
    BadSymbol,
    InsufficientFunds,
    InvalidOrder,
    RateLimited,
    UnknownOutcome,
    VenueRetryable,
    classify,
)


def test_quantize_directions():
    assert quantize(Decimal("1.23456"), Decimal("0.001"), ROUND_FLOOR) == Decimal("1.234")
    assert quantize(Decimal("1.23401"), Decimal("0.001"), ROUND_CEILING) == Decimal("1.235")


def test_every_api_url_is_rewritten_onto_loopback():
    urls = ccxt.binance().urls["api"]
    out = point_api_urls(urls, "http://127.0.0.1:9999")
    flat = [v for v in out.values() if isinstance(v, str)]
    assert flat and all(u.startswith("http://127.0.0.1:9999/") for u in flat)
    assert out["public"] == "http://127.0.0.1:9999/api/v3"


@pytest.mark.parametrize(
    ("exc", "sent", "expected"),
    [
        (ccxt.InsufficientFunds("x"), True, InsufficientFunds),
        (ccxt.InvalidOrder("x"), True, InvalidOrder),
        (ccxt.BadSymbol("x"), False, BadSymbol),
        (ccxt.AuthenticationError("x"), False, AuthenticationFailed),
        (ccxt.RateLimitExceeded("x"), True, RateLimited),
        (ccxt.DDoSProtection("x"), True, RateLimited),
        (ccxt.RequestTimeout("x"), True, UnknownOutcome),
        (ccxt.RequestTimeout("x"), False, VenueRetryable),
        (ccxt.NetworkError("x"), True, UnknownOutcome),
    ],
)
def test_ccxt_errors_map_to_rejected_retryable_or_unknown(exc, sent, expected):
    err = classify(exc, "v1", "create_order", sent=sent)
    assert type(err) is expected
    assert str(err).startswith("v1: create_order: ")


def test_prepare_rounds_to_grid_and_refuses_below_minimum():
    venue = CcxtVenue("v1", "binance", ["BTC/USDT"])
    venue.specs["BTC/USDT"] = MarketSpec(
        "BTC/USDT", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), Decimal("10")
    )
    buy = ChildOrder("h", "c", "v1", "BTC/USDT", Side.BUY, 0.12345, 65000.19)
    assert venue.prepare(buy) == (Decimal("0.123"), Decimal("65000.1"))
    sell = ChildOrder("h", "c", "v1", "BTC/USDT", Side.SELL, 0.12345, 65000.11)
    assert venue.prepare(sell) == (Decimal("0.123"), Decimal("65000.2"))
    tiny = ChildOrder("h", "c", "v1", "BTC/USDT", Side.BUY, 0.0001, 65000.0)
    assert "below venue minimum" in venue.prepare(tiny)
    other = ChildOrder("h", "c", "v1", "ETH/USDT", Side.BUY, 1, 3000.0)
    assert "unknown symbol" in venue.prepare(other)


def test_unknown_exchange_id_is_a_clear_error():
    with pytest.raises(ValueError, match="ccxt has no exchange 'nosuchx'"):
        CcxtVenue("v1", "nosuchx", ["BTC/USDT"])
