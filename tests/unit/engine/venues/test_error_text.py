"""Errors as text (engine/venues/errors.py): a signed URL's key and signature never
reach a log line, a stream's status or an alert row."""

from __future__ import annotations

import ccxt
from hypothesis import given
from hypothesis import strategies as st

from engine.venues.errors import classify, describe, redact_urls

KEY = "29f1a29b1d16f1bd9d9c2b6d2e80d70f"
SIGNATURE = "66c1fd8ea6d110f526d65c86d31aad1b823ad067f44c129f122a844ce6054917"


def test_a_ccxt_pro_timeout_quoting_the_signed_stream_url_keeps_no_key():
    # ccxt.pro's own words when HollaEx's private stream misses its keep-alive
    exc = ccxt.RequestTimeout(
        f"Connection to ws://127.0.0.1:38341/stream?api-key={KEY}&api-signature="
        f"{SIGNATURE}&api-expires=1796662625 timed out due to a ping-pong keepalive "
        "missing on time"
    )
    text = describe(exc)
    assert KEY not in text and SIGNATURE not in text
    assert text == (
        "RequestTimeout: Connection to ws://127.0.0.1:38341/stream?<redacted> timed out "
        "due to a ping-pong keepalive missing on time"
    )


def test_a_signed_rest_error_keeps_no_signature_and_says_what_failed():
    exc = ccxt.InvalidOrder(
        f"binance POST https://127.0.0.1:9/api/v3/order?symbol=BTCUSDT&signature={SIGNATURE} 400 "
        'Bad Request {"code":-1013,"msg":"Filter failure: LOT_SIZE"}'
    )
    err = classify(exc, "binance-sim", "create_order")
    assert SIGNATURE not in str(err)
    assert "/api/v3/order?<redacted> 400" in str(err) and "LOT_SIZE" in str(err)


@given(
    secret=st.text(alphabet="0123456789abcdef", min_size=16, max_size=64),
    scheme=st.sampled_from(["ws", "wss", "http", "https"]),
)
def test_no_query_string_survives(secret, scheme):
    text = f"failed: {scheme}://127.0.0.1:9/path?key={secret}&x=1 then more"
    assert secret not in redact_urls(text)
    assert redact_urls("no url here ?key=1") == "no url here ?key=1"  # only URLs'
