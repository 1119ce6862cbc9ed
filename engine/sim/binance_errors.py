"""THE table from the simulated venue's errors to Binance's (code, HTTP status).

Split out of `engine/sim/binance_http.py` (issue 12); `binance_http` re-exports
`binance_error`.
"""

from __future__ import annotations

from engine.sim.binance_auth import (
    InvalidApiKey,
    InvalidSignature,
    MissingApiKey,
    TimestampOutsideRecvWindow,
)
from engine.sim.binance_limits import IpBanned, TooMuchWeight
from engine.sim.binance_orders import (
    CancelReplaceFailed,
    InvalidOrderType,
    InvalidSide,
    InvalidTimeInForce,
)
from engine.sim.binance_wire import (
    BadInterval,
    BadPrecision,
    BadRecvWindow,
    TooManyOrders,
    UnknownEndpoint,
    UnreadParameters,
    UnsupportedOrder,
)
from engine.sim.exchange import (
    CancelRejected,
    DuplicateOrder,
    FilterFailure,
    InsufficientBalance,
    InvalidRequest,
    MalformedParameter,
    MissingParameter,
    OrderNotFound,
    OrderRefused,
    OrderRejected,
    OrderWouldTake,
    SimError,
    UnexpectedParameter,
    UnknownSymbol,
)

# THE table from our error types to Binance's (code, HTTP status); first match wins, so
# subclasses come before their parents. ccxt's binance `exceptions` map turns these into:
# -1003 (429) DDoSProtection, -2014/-2015/-1022 AuthenticationError, -1021 InvalidNonce,
# -2010 "Account has insufficient balance..." InsufficientFunds, other -2010 InvalidOrder,
# -1013 LOT_SIZE/PRICE_FILTER InvalidOrder (NOTIONAL: BadRequest), -1121 BadSymbol,
# -2011/-2013 OrderNotFound, -11xx BadRequest.
BINANCE_ERRORS: tuple[tuple[type[SimError], int, int], ...] = (
    (TooMuchWeight, -1003, 429),
    (TooManyOrders, -1015, 429),
    (UnknownEndpoint, -1020, 404),
    (IpBanned, -1003, 418),
    (MissingApiKey, -2014, 401),
    (InvalidApiKey, -2015, 401),
    (InvalidSignature, -1022, 400),
    (TimestampOutsideRecvWindow, -1021, 400),
    (InsufficientBalance, -2010, 400),
    (OrderRefused, -2010, 400),
    (OrderWouldTake, -2010, 400),
    (UnsupportedOrder, -2010, 400),
    (DuplicateOrder, -2010, 400),
    (FilterFailure, -1013, 400),
    (OrderRejected, -2010, 400),
    (UnknownSymbol, -1121, 400),
    (OrderNotFound, -2013, 400),
    (CancelRejected, -2011, 400),
    (MalformedParameter, -1100, 400),
    (MissingParameter, -1102, 400),
    (UnexpectedParameter, -1106, 400),
    (UnreadParameters, -1104, 400),
    (BadPrecision, -1111, 400),
    (BadInterval, -1120, 400),
    (BadRecvWindow, -1131, 400),
    (InvalidTimeInForce, -1115, 400),
    (InvalidOrderType, -1116, 400),
    (InvalidSide, -1117, 400),
    (InvalidRequest, -1130, 400),
    (SimError, -1000, 400),
)


def binance_error(exc: SimError) -> tuple[int, int]:
    """(Binance error code, HTTP status) of one of our errors."""
    if isinstance(exc, CancelReplaceFailed):
        return exc.code, 400
    for error_type, code, status in BINANCE_ERRORS:
        if isinstance(exc, error_type):
            return code, status
    return -1000, 500
