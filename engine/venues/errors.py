"""The venue edge's error tree: what the venue rejected on purpose, what may
succeed on retry, and what was sent but never answered (outcome unknown).

ccxt's exceptions are mapped onto it in ONE table (`classify`), so every caller
above the edge decides retry vs. give-up vs. look-up from the type alone.
"""

from __future__ import annotations

import ccxt


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
    pass


class UnknownOutcome(VenueError):
    """The request was sent and no answer came: look the order up before any resend."""


# ccxt exception -> ours; first match wins, so subclasses come before their parents.
_CCXT_TABLE: tuple[tuple[type[Exception], type[VenueError]], ...] = (
    (ccxt.InsufficientFunds, InsufficientFunds),
    (ccxt.BadSymbol, BadSymbol),
    (ccxt.AuthenticationError, AuthenticationFailed),
    (ccxt.InvalidOrder, InvalidOrder),
    (ccxt.BadRequest, InvalidOrder),
    (ccxt.RateLimitExceeded, RateLimited),
    (ccxt.DDoSProtection, RateLimited),
    (ccxt.NetworkError, VenueRetryable),
    (ccxt.ExchangeError, VenueRejected),
)


def classify(exc: Exception, venue: str, operation: str, *, sent: bool = False) -> VenueError:
    """Map a ccxt exception to our tree.

    `sent=True` marks a request that may have reached the venue (an order
    create): a timeout or network failure then means *unknown outcome*, not
    *retryable*, because the order may be live.
    """
    detail = _short(exc)
    may_have_landed = isinstance(exc, ccxt.RequestTimeout | ccxt.ExchangeNotAvailable) or (
        type(exc) is ccxt.NetworkError
    )
    if sent and may_have_landed:
        return UnknownOutcome(venue, operation, detail)
    for ccxt_type, ours in _CCXT_TABLE:
        if isinstance(exc, ccxt_type):
            return ours(venue, operation, detail)
    if isinstance(exc, TimeoutError):
        return (
            UnknownOutcome(venue, operation, "timed out")
            if sent
            else VenueRetryable(venue, operation, "timed out")
        )
    return VenueError(venue, operation, detail)


def _short(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"
