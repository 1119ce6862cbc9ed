"""The venue edge's error tree: what the venue rejected on purpose, what may
succeed on retry, and what was sent but never answered (outcome unknown).

ccxt's exceptions are mapped onto it in ONE table (`classify`), so every caller
above the edge decides retry vs. give-up vs. look-up from the type alone.
"""

from __future__ import annotations

import functools
import sys

from engine.log_redaction import redact_urls


class VenueError(Exception):
    """Base: carries the venue and the operation that failed, never credentials."""

    def __init__(self, venue: str, operation: str, detail: str) -> None:
        self.venue = venue
        self.operation = operation
        self.detail = detail
        super().__init__(f"{venue}: {operation}: {detail}")


class VenueRejected(VenueError):
    """The venue said no on purpose; retrying the same request will not help."""


class InsufficientFunds(VenueRejected):
    pass


class InvalidOrder(VenueRejected):
    pass


class OrderNotFound(InvalidOrder):
    """The venue has no such order (Binance -2011 on cancel, -2013 on query)."""


class DuplicateClientOrderId(InvalidOrder):
    """The client order id was used before: the order is (or was) already on the venue."""


class BadSymbol(VenueRejected):
    pass


class AuthenticationFailed(VenueRejected):
    pass


class VenueRetryable(VenueError):
    """Nothing happened on the venue; the same request may succeed later."""

    def __init__(
        self, venue: str, operation: str, detail: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(venue, operation, detail)
        self.retry_after_s = retry_after_s


class RateLimited(VenueRetryable):
    """HTTP 429 (or an exhausted local weight budget): wait `retry_after_s`, then retry."""


class Banned(RateLimited):
    """HTTP 418: the venue banned the caller for `retry_after_s` after repeated 429s."""


class UnknownOutcome(VenueError):
    """The request was sent and no answer came: look the order up before any resend."""


@functools.cache
def _ccxt_table() -> tuple[tuple[type[Exception], type[VenueError]], ...]:
    """ccxt exception -> ours; first match wins, so subclasses come before their parents.

    Built on the first classification of a ccxt exception: importing ccxt loads every
    exchange (~0.5 s of a core), and the processes that only read this tree (ledger,
    rebalancer, market actors on a simulated home venue) would pay it at start-up for
    nothing, or mid-run on an event loop at their first error."""
    import ccxt

    return (
        (ccxt.OrderNotFound, OrderNotFound),
        (ccxt.InsufficientFunds, InsufficientFunds),
        (ccxt.BadSymbol, BadSymbol),
        (ccxt.AuthenticationError, AuthenticationFailed),
        (ccxt.InvalidOrder, InvalidOrder),
        (ccxt.BadRequest, InvalidOrder),
        (ccxt.RateLimitExceeded, RateLimited),
        (ccxt.DDoSProtection, RateLimited),
        # -1021: the request's timestamp is outside recvWindow; rejected before execution
        (ccxt.InvalidNonce, VenueRetryable),
        (ccxt.NetworkError, VenueRetryable),
        (ccxt.ExchangeError, VenueRejected),
    )


def classify(
    exc: Exception,
    venue: str,
    operation: str,
    *,
    sent: bool = False,
    retry_after_s: float | None = None,
) -> VenueError:
    """Map a ccxt exception to our tree.

    `sent=True` marks a request that may have reached the venue (an order
    create): a timeout or network failure then means *unknown outcome*, not
    *retryable*, because the order may be live. `retry_after_s` is the
    venue's `Retry-After` header of the failed answer, kept on a rate limit.
    """
    detail = describe(exc)
    ccxt = sys.modules.get("ccxt")
    if ccxt is None:  # never loaded here, so nothing ccxt raised: no table to read
        return _not_from_ccxt(exc, venue, operation, detail, sent=sent)
    may_have_landed = isinstance(exc, ccxt.RequestTimeout | ccxt.ExchangeNotAvailable) or (
        type(exc) is ccxt.NetworkError
    )
    if sent and may_have_landed:
        return UnknownOutcome(venue, operation, detail)
    text = str(exc).lower()
    # ccxt.hollaex files HTTP 429 and an unknown symbol under BadRequest: read the venue's text
    if isinstance(exc, ccxt.BadRequest) and "too many requests" in text:
        return RateLimited(venue, operation, detail, retry_after_s=retry_after_s)
    if isinstance(exc, ccxt.BadRequest) and "invalid symbol" in text:
        return BadSymbol(venue, operation, detail)
    for ccxt_type, ours in _ccxt_table():
        if isinstance(exc, ccxt_type):
            if ours is RateLimited:
                banned = " 418 " in f" {exc} " or "banned" in str(exc).lower()
                kind = Banned if banned else RateLimited
                return kind(venue, operation, detail, retry_after_s=retry_after_s)
            if ours is InvalidOrder and "duplicate" in str(exc).lower():
                return DuplicateClientOrderId(venue, operation, detail)
            return ours(venue, operation, detail)
    return _not_from_ccxt(exc, venue, operation, detail, sent=sent)


def _not_from_ccxt(
    exc: Exception, venue: str, operation: str, detail: str, *, sent: bool
) -> VenueError:
    if isinstance(exc, TimeoutError):
        return (
            UnknownOutcome(venue, operation, "timed out")
            if sent
            else VenueRetryable(venue, operation, "timed out")
        )
    return VenueError(venue, operation, detail)


def parse_retry_after(headers: dict[str, str] | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form, as Binance sends it)."""
    value = header(headers, "Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # the HTTP-date form: no venue we reach sends it
    return seconds if seconds >= 0 else None


def header(headers: dict[str, str] | None, name: str) -> str | None:
    """A response header by case-insensitive name (ccxt keeps the server's spelling)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value)
    return None


def describe(exc: BaseException) -> str:
    """An exception as one short line for logs, statuses and rows: its type and text,
    URLs' query strings redacted, at most 300 characters of text."""
    text = redact_urls(str(exc).strip()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"
