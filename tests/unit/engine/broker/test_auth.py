"""engine/broker/auth.py: the client is whoever holds the key that signed the exact request."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.broker import RateLimited, Unauthenticated
from engine.broker.auth import (
    ClientCredential,
    RequestAuthenticator,
    RequestSigner,
    request_signature,
)
from engine.broker.ratelimit import TokenBucket

T0 = 1_700_000_000 * 10**9
MS = 10**6
ACME = ClientCredential("acme", "acme-key-0123456789", b"acme-secret-" + b"x" * 32)
GLOBEX = ClientCredential("globex", "globex-key-0123456789", b"globex-secret-" + b"y" * 32)
BODY = b'{"side": "buy", "size": "0.1"}'


def authenticator(burst: int = 1_000) -> RequestAuthenticator:
    return RequestAuthenticator(
        [ACME, GLOBEX], window_s=30, failure_limit=TokenBucket(per_s=1, burst=burst)
    )


def signed(cred=ACME, body=BODY, path="/rfq", now=T0, method="POST", valid_for_s=10.0):
    return RequestSigner(cred.api_key, cred.secret, valid_for_s=valid_for_s).headers(
        method, path, body, now
    )


def test_the_signature_is_hmac_sha256_over_method_path_expiry_and_body():
    headers = signed()
    expected = hmac.new(
        ACME.secret, b"POST/rfq" + headers["api-expires-ms"].encode() + BODY, hashlib.sha256
    ).hexdigest()
    assert headers["api-signature"] == expected
    assert int(headers["api-expires-ms"]) == T0 // MS + 10_000


def test_a_signed_request_authenticates_its_key_owner_only():
    auth = authenticator()
    assert auth.authenticate("POST", "/rfq", signed(), BODY, T0).client == "acme"
    assert auth.authenticate("POST", "/rfq", signed(GLOBEX), BODY, T0).client == "globex"


@pytest.mark.parametrize(
    "tamper",
    [
        "body",  # a byte of the body changed (e.g. size or side)
        "path",  # the same signature replayed on another endpoint
        "method",
        "key",  # acme's signature presented with globex's key: a spoofed client
        "expires",
        "unknown_key",
        "no_headers",
        "non_ascii_key",
        "non_ascii_signature",
        "expired",
        "too_far_ahead",
    ],
)
def test_every_tampered_or_expired_request_gets_the_same_401(tamper):
    auth = authenticator()
    headers, body, path, method, now = signed(), BODY, "/rfq", "POST", T0
    if tamper == "body":
        body = BODY.replace(b"0.1", b"0.9")
    elif tamper == "path":
        path = "/rfq/otc-x/accept"
    elif tamper == "method":
        method = "PUT"
    elif tamper == "key":
        headers["api-key"] = GLOBEX.api_key
    elif tamper == "expires":
        headers["api-expires-ms"] = str(int(headers["api-expires-ms"]) + 1)
    elif tamper == "unknown_key":
        headers["api-key"] = "nobody-0123456789abc"
    elif tamper == "no_headers":
        headers = {}
    elif tamper == "non_ascii_key":
        headers["api-key"] = "acme-key-０１２３456789"
    elif tamper == "non_ascii_signature":
        headers["api-signature"] = "é" * 64
    elif tamper == "expired":
        now = T0 + 10 * 10**9  # at api-expires-ms: void
    elif tamper == "too_far_ahead":
        headers = signed(valid_for_s=31)  # beyond the 30 s window
    with pytest.raises(Unauthenticated) as exc:
        auth.authenticate(method, path, headers, body, now)
    assert exc.value.status == 401
    assert exc.value.as_json() == Unauthenticated().as_json()  # one generic answer


def test_a_replayed_request_is_refused_until_it_expires():
    auth = authenticator()
    headers = signed()
    auth.authenticate("POST", "/rfq", headers, BODY, T0)
    with pytest.raises(Unauthenticated):
        auth.authenticate("POST", "/rfq", headers, BODY, T0 + 5 * 10**9)
    signer = RequestSigner(ACME.api_key, ACME.secret, valid_for_s=5)
    first = signer.headers("POST", "/rfq", BODY, T0)
    second = signer.headers("POST", "/rfq", BODY, T0)  # same millisecond, same body
    assert first != second  # a signer never repeats itself
    auth.authenticate("POST", "/rfq", first, BODY, T0)
    auth.authenticate("POST", "/rfq", second, BODY, T0)


def test_failures_past_the_global_budget_are_429_without_verifying():
    auth = authenticator(burst=3)
    bad = {"api-key": "nobody-0123456789abc"}
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            auth.known_key(bad, T0)
    with pytest.raises(RateLimited) as exc:
        auth.known_key(bad, T0)
    assert exc.value.status == 429 and exc.value.retry_after_s == pytest.approx(1.0)
    # a good request still passes while the flood is throttled
    assert auth.authenticate("POST", "/rfq", signed(), BODY, T0).client == "acme"
    assert auth.failed == 4


def test_reconfigure_rotates_keys_and_keeps_refusing_replays():
    auth = authenticator()
    headers = signed()
    auth.authenticate("POST", "/rfq", headers, BODY, T0)
    rotated = ClientCredential("acme", "acme-key-rotated-0001", b"z" * 40)
    auth.reconfigure([rotated], window_s=30, failure_limit=TokenBucket(1, 100))
    with pytest.raises(Unauthenticated):  # the old key is gone
        auth.authenticate("POST", "/rfq", signed(), BODY, T0)
    assert auth.authenticate("POST", "/rfq", signed(rotated), BODY, T0).client == "acme"


def test_secrets_never_show_in_a_repr():
    signer = RequestSigner(ACME.api_key, ACME.secret)
    for obj in (ACME, signer, authenticator()):
        assert "acme-secret" not in repr(obj) and "xxxx" not in repr(obj)


@given(
    body=st.binary(max_size=200),
    path=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
)
def test_any_body_and_path_round_trip(body, path):
    headers = RequestSigner(ACME.api_key, ACME.secret).headers("POST", path, body, T0)
    assert authenticator().authenticate("POST", path, headers, body, T0).client == "acme"
    assert (
        request_signature(ACME.secret, "POST", path, headers["api-expires-ms"], body)
        == (headers["api-signature"])
    )
