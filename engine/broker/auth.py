"""Signed RFQ requests: who a client is comes only from a verified signature.

Modelled on HollaEx's private API (https://apidocs.hollaex.com, "Authentication")
and Binance's signed endpoints: every request carries three headers,

    api-key         the client's public key id
    api-expires-ms  unix time in milliseconds after which the request is void
    api-signature   hex HMAC-SHA256(secret, METHOD + path?query + api-expires-ms + body)

where `body` is the exact raw bytes sent (the empty string for a GET). The
expiry must lie in `(now, now + window]`, so a captured request is void after
at most `window`; within it, each signature is accepted once (a replay is
refused), as a nonce would be. HollaEx sends `api-expires` in seconds; the
milliseconds here let a client send two identical requests in one second.

Every refusal is the same `Unauthenticated` (401, one message), so a caller
cannot tell an unknown key from a bad signature. Failed attempts charge one
global `TokenBucket`: once it is empty they are answered 429, and a request
with an unknown key is refused before its body is read, so a flood of bad
keys costs the broker a dict look-up each. Signatures are compared in
constant time (`hmac.compare_digest`). Secrets never appear in a repr,
an error or a log line.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from engine.broker.errors import RateLimited, Unauthenticated
from engine.broker.ratelimit import TokenBucket

KEY_HEADER = "api-key"
EXPIRES_HEADER = "api-expires-ms"
SIGNATURE_HEADER = "api-signature"
AUTH_HEADERS = (KEY_HEADER, EXPIRES_HEADER, SIGNATURE_HEADER)

API_KEY_PATTERN = r"[A-Za-z0-9_-]{16,128}"
_API_KEY = re.compile(API_KEY_PATTERN, re.ASCII)
_EXPIRES = re.compile(r"[0-9]{1,15}", re.ASCII)
_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
MAX_REMEMBERED_SIGNATURES = 100_000
NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class ClientCredential:
    """One client's key pair; `secret` is the HMAC key and never printed."""

    client: str
    api_key: str
    secret: bytes = field(repr=False)


def request_signature(
    secret: bytes, method: str, path_qs: str, expires_ms: str, body: bytes
) -> str:
    """Hex HMAC-SHA256 over METHOD + path?query + expires + the raw body bytes."""
    payload = method.upper().encode("ascii") + path_qs.encode("utf-8") + expires_ms.encode("ascii")
    return hmac.new(secret, payload + body, hashlib.sha256).hexdigest()


class RequestSigner:
    """The client side: headers for one request, valid for `valid_for_s`.

    Expiries from one signer strictly increase, so two identical requests sent
    in the same millisecond still carry different signatures (neither is a replay).
    """

    def __init__(self, api_key: str, secret: bytes, *, valid_for_s: float = 10.0) -> None:
        self._api_key = api_key
        self._secret = secret
        self._valid_for_ms = int(valid_for_s * 1000)
        self._last_ms = 0

    def __repr__(self) -> str:
        return f"RequestSigner(api_key={self._api_key[:4]}…)"

    def headers(self, method: str, path_qs: str, body: bytes, now_ns: int) -> dict[str, str]:
        expires_ms = max(now_ns // NS_PER_MS + self._valid_for_ms, self._last_ms + 1)
        self._last_ms = expires_ms
        expires = str(expires_ms)
        return {
            KEY_HEADER: self._api_key,
            EXPIRES_HEADER: expires,
            SIGNATURE_HEADER: request_signature(self._secret, method, path_qs, expires, body),
        }


class RequestAuthenticator:
    """Verifies signed requests against the configured clients' keys."""

    def __init__(
        self,
        credentials: Iterable[ClientCredential],
        *,
        window_s: float,
        failure_limit: TokenBucket,
    ) -> None:
        self._seen: dict[str, int] = {}  # signature -> its expiry (ms)
        self._expiries: list[tuple[int, str]] = []  # heap of (expiry ms, signature)
        self.failed = 0
        self.reconfigure(credentials, window_s=window_s, failure_limit=failure_limit)

    def reconfigure(
        self,
        credentials: Iterable[ClientCredential],
        *,
        window_s: float,
        failure_limit: TokenBucket,
    ) -> None:
        """New keys and limits (a key rotated live); signatures already seen stay refused."""
        self._by_key = {c.api_key: c for c in credentials}
        self._window_ms = int(window_s * 1000)
        self._failures = failure_limit

    def __repr__(self) -> str:
        return f"RequestAuthenticator({len(self._by_key)} keys)"

    def known_key(self, headers: Mapping[str, str], now_ns: int) -> ClientCredential:
        """The credential named by `api-key`, checked before the body is read.

        A missing, malformed or unknown key is a failure (401, or 429 once the
        failure budget is spent); the body of such a request is never read.
        """
        api_key = headers.get(KEY_HEADER, "")
        credential = self._by_key.get(api_key) if _API_KEY.fullmatch(api_key) else None
        if credential is None:
            raise self._failure(now_ns)
        return credential

    def verify(
        self,
        credential: ClientCredential,
        method: str,
        path_qs: str,
        headers: Mapping[str, str],
        body: bytes,
        now_ns: int,
    ) -> ClientCredential:
        """Check expiry, signature and replay of a request by `credential`'s key."""
        expires = headers.get(EXPIRES_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not (_EXPIRES.fullmatch(expires) and _SIGNATURE.fullmatch(signature)):
            raise self._failure(now_ns)
        try:
            expected = request_signature(credential.secret, method, path_qs, expires, body)
        except UnicodeEncodeError:  # a path no client could have signed
            raise self._failure(now_ns) from None
        if not hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("ascii")):
            raise self._failure(now_ns)
        expires_ms, now_ms = int(expires), now_ns // NS_PER_MS
        if not now_ms < expires_ms <= now_ms + self._window_ms:
            raise self._failure(now_ns)
        self._forget_expired(now_ms)
        signature = signature.lower()
        if signature in self._seen:  # a replay within its window
            raise self._failure(now_ns)
        self._remember(signature, expires_ms)
        return credential

    def authenticate(
        self, method: str, path_qs: str, headers: Mapping[str, str], body: bytes, now_ns: int
    ) -> ClientCredential:
        """`known_key` then `verify`: the client a request comes from, or a refusal."""
        credential = self.known_key(headers, now_ns)
        return self.verify(credential, method, path_qs, headers, body, now_ns)

    def _failure(self, now_ns: int) -> Unauthenticated | RateLimited:
        self.failed += 1
        wait_s = self._failures.take(now_ns)
        return RateLimited(wait_s) if wait_s else Unauthenticated()

    def _remember(self, signature: str, expires_ms: int) -> None:
        if len(self._seen) >= MAX_REMEMBERED_SIGNATURES:  # bounded: the soonest to expire goes
            _, oldest = heapq.heappop(self._expiries)
            self._seen.pop(oldest, None)
        self._seen[signature] = expires_ms
        heapq.heappush(self._expiries, (expires_ms, signature))

    def _forget_expired(self, now_ms: int) -> None:
        while self._expiries and self._expiries[0][0] < now_ms:
            _, signature = heapq.heappop(self._expiries)
            self._seen.pop(signature, None)
