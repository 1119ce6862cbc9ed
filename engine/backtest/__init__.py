"""Backtests: a quoting policy against the simulator or a recorded run, without Ray."""

from engine.backtest.engine import (
    BacktestResult,
    BacktestSettings,
    MarketBacktest,
    TableWriters,
)
from engine.backtest.feeds import (
    MarketFeed,
    RecordedFeed,
    Recording,
    SimulatedFeed,
    simulated_feed,
    takers_from_fills,
)
from engine.sim.home_book import HomeBook

__all__ = [
    "BacktestResult",
    "BacktestSettings",
    "HomeBook",
    "MarketBacktest",
    "MarketFeed",
    "RecordedFeed",
    "Recording",
    "SimulatedFeed",
    "TableWriters",
    "simulated_feed",
    "takers_from_fills",
]
