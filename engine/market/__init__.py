"""One home market's quoting, decided without I/O: `Quoter` (the live MarketActor and the
exact backtest drive the same object; see `engine.market.quoter`)."""

from engine.market.exposure import DeskExposure
from engine.market.quoter import (
    GridQuote,
    HomeBookView,
    QuoteAction,
    QuoteDecision,
    Quoter,
)

__all__ = ["DeskExposure", "GridQuote", "HomeBookView", "QuoteAction", "QuoteDecision", "Quoter"]
