"""OTC / broker mode: firm quotes on request, priced off the external books (pure)."""

from engine.broker.errors import (
    DailyLimitExceeded,
    InsufficientInventory,
    MalformedRequest,
    NotQuoting,
    QuoteExpired,
    QuoteNotYours,
    RequestLimitExceeded,
    RfqError,
    SizeRejected,
    UnknownQuote,
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
    inventory_shortfall,
)

__all__ = [
    "ClientLimits",
    "DailyLimitExceeded",
    "FirmQuote",
    "FormulaError",
    "FormulaPrice",
    "FormulaTerm",
    "InsufficientInventory",
    "MalformedRequest",
    "NotQuoting",
    "PriceFormula",
    "QuoteBook",
    "QuoteExpired",
    "QuoteNotYours",
    "RequestLimitExceeded",
    "RfqError",
    "SizeRejected",
    "UnknownQuote",
    "broker_fill",
    "check_size",
    "firm_price",
    "inventory_shortfall",
    "inventory_skew_bps",
    "parse_formula",
    "price_formula",
    "walk_vwap",
]
