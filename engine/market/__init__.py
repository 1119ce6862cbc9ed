"""One home market's quoting, decided without I/O: `Quoter` (the live MarketActor and the
exact backtest drive the same object; see `engine.market.quoter`)."""

from engine.market.quoter import (
    GridQuote,
    HomeBookView,
    QuoteAction,
    QuoteDecision,
    Quoter,
)

__all__ = ["GridQuote", "HomeBookView", "QuoteAction", "QuoteDecision", "Quoter"]
