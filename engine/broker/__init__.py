"""OTC / broker mode: firm quotes on request, priced off the external books (pure)."""

from engine.broker.errors import (
    DailyLimitExceeded,
    InsufficientInventory,
    MalformedRequest,
    NotQuoting,
    PayloadTooLarge,
    QuoteExpired,
    RateLimited,
    RequestLimitExceeded,
    RfqError,
    SizeRejected,
    Unauthenticated,
    UnknownQuote,
    UnsupportedMediaType,
)
from engine.broker.formula import FormulaError, FormulaTerm, PriceFormula, parse_formula
from engine.broker.pricing import (
    FormulaPrice,
    firm_price,
    inventory_skew_bps,
    price_formula,
    walk_vwap,
)
from engine.broker.quotes import (
    ClientLimits,
    FirmQuote,
    QuoteBook,
    broker_fill,
    check_size,
    inventory_needed,
    new_quote_id,
)
from engine.broker.reservations import InventoryReservations

__all__ = [
    "ClientLimits",
    "DailyLimitExceeded",
    "FirmQuote",
    "FormulaError",
    "FormulaPrice",
    "FormulaTerm",
    "InsufficientInventory",
    "InventoryReservations",
    "MalformedRequest",
    "NotQuoting",
    "PayloadTooLarge",
    "PriceFormula",
    "QuoteBook",
    "QuoteExpired",
    "RateLimited",
    "RequestLimitExceeded",
    "RfqError",
    "SizeRejected",
    "Unauthenticated",
    "UnknownQuote",
    "UnsupportedMediaType",
    "broker_fill",
    "check_size",
    "firm_price",
    "inventory_needed",
    "inventory_skew_bps",
    "new_quote_id",
    "parse_formula",
    "price_formula",
    "walk_vwap",
]
