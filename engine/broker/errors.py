"""Why an RFQ is refused: one typed error per reason, each with its HTTP status.

What the client asked wrongly (4xx) is told apart from the broker refusing to
quote right now (503: paused, stale books, sources disagree), which may
succeed on retry. Every error renders as JSON naming what is wrong.
"""

from __future__ import annotations

from typing import Any


class RfqError(Exception):
    """Base: `status` is the HTTP status, `code` a stable machine-readable name.

    `message` and `fields` go to the client; `detail` is for the operator's log
    only (desk state a client must not see).
    """

    status = 400
    code = "rfq_error"
    detail = ""

    def __init__(self, message: str, *, code: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields

    def as_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.fields}


class MalformedRequest(RfqError):
    """Not JSON, a missing field or a field of the wrong type or value."""

    status = 400
    code = "malformed_request"


class Unauthenticated(RfqError):
    """Unknown key, bad signature, expired or replayed request. One generic message for
    all of them, so a caller learns nothing about which keys exist."""

    status = 401
    code = "unauthorized"

    def __init__(self) -> None:
        super().__init__(
            "request not authenticated: sign it with a valid api-key, api-expires-ms and "
            "api-signature (see `marketmesh rfq --help`)"
        )


class RateLimited(RfqError):
    """Too many requests for this key (or too many failed authentications overall);
    `retry_after_s` is when a request is allowed again (the Retry-After header)."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(
            f"too many requests; retry after {retry_after_s:.3f}s",
            retry_after_s=round(retry_after_s, 3),
        )
        self.retry_after_s = retry_after_s


class UnsupportedMediaType(RfqError):
    """A body that is not `Content-Type: application/json` (a web page cannot send one to
    127.0.0.1 without a CORS preflight, which the broker never answers)."""

    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(RfqError):
    status = 413
    code = "payload_too_large"


class SizeRejected(RfqError):
    """Below `min_size`, above `max_size`, or not a multiple of `increment_size`."""

    status = 422
    code = "bad_size"


class UnknownQuote(RfqError):
    """No such quote for this client: a quote given to another client answers the same,
    so quote ids cannot be probed."""

    status = 404
    code = "unknown_quote"


class QuoteExpired(RfqError):
    status = 410
    code = "quote_expired"


class RequestLimitExceeded(RfqError):
    """One request above the client's per-request notional."""

    status = 403
    code = "client_request_limit"


class DailyLimitExceeded(RfqError):
    """The client's accepted notional today plus this request is above its daily limit."""

    status = 429
    code = "client_daily_limit"


class InsufficientInventory(RfqError):
    """The inventory account cannot deliver what the client would buy (or pay for a sell)."""

    status = 409
    code = "insufficient_inventory"


class NotQuoting(RfqError):
    """The broker refuses to price now: paused, stale or missing books, sources disagree,
    or not enough depth to hedge the size. Retrying later may succeed."""

    status = 503
    code = "not_quoting"
