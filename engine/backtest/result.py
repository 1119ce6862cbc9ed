"""What one market's backtest adds up to, and the backtest-only switches.

Apart from the loop (`engine.backtest.engine`) because both engines, exact
and fast (`engine.backtest.vectorised`), fill the same totals and report the
same derived figures (PnL split, SLA shares) the CLI prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    """Backtest-only switches; the loop timings are the live ones (`config.timing`)."""

    hedge: bool = True


@dataclass
class BacktestResult:
    """Totals of one market's backtest; PnL is marked at the last reference mid."""

    market: str
    policy: str
    start_ns: int
    end_ns: int
    book_events: int = 0
    taker_orders: int = 0
    decisions: int = 0
    requotes: int = 0
    fills: int = 0
    volume_quote: float = 0.0
    home_cash_quote: float = 0.0
    home_position_base: float = 0.0
    hedge_cash_quote: float = 0.0
    hedge_position_base: float = 0.0
    last_mid: float = 0.0
    samples: int = 0
    samples_spread_within_target: int = 0
    inventory_sum: float = 0.0
    inventory_sumsq: float = 0.0
    wall_s: float = 0.0
    rejected_quotes: int = 0
    samples_depth_within_target: int = 0
    samples_two_sided: int = 0
    capture_quote: float = 0.0
    """Edge of the home fills against the reference mid when they were seen."""
    home_fee_quote: float = 0.0
    hedge_fee_quote: float = 0.0
    hedge_slippage_quote: float = 0.0
    """What the hedges paid against the reference mid at their decision (before fees)."""
    subsidy_quote: float = 0.0
    """Hedge cost the fills' quotes expected beyond their edge when placed (sla gives it)."""
    hedges: int = 0
    hedged_base: float = 0.0

    @property
    def pnl_unhedged_quote(self) -> float:
        """Home fills only: spread capture plus the inventory's mark-to-market."""
        return self.home_cash_quote + self.home_position_base * self.last_mid

    @property
    def pnl_quote(self) -> float:
        """Home fills and hedges, as `marketmesh sla` computes it."""
        position = self.home_position_base + self.hedge_position_base
        return self.home_cash_quote + self.hedge_cash_quote + position * self.last_mid

    @property
    def inventory_std_base(self) -> float:
        """Standard deviation of the home inventory over the book samples."""
        if self.samples == 0:
            return 0.0
        mean = self.inventory_sum / self.samples
        return math.sqrt(max(0.0, self.inventory_sumsq / self.samples - mean * mean))

    @property
    def spread_sla_pct(self) -> float:
        """Samples with a two-sided book within the target spread, as `marketmesh sla` counts."""
        return 100.0 * self.samples_spread_within_target / self.samples if self.samples else 0.0

    @property
    def depth_sla_pct(self) -> float:
        """Samples with both sides' band depth at or above the configured target."""
        return 100.0 * self.samples_depth_within_target / self.samples if self.samples else 0.0

    @property
    def uptime_pct(self) -> float:
        """Samples with the bot quoting both sides."""
        return 100.0 * self.samples_two_sided / self.samples if self.samples else 0.0

    @property
    def inventory_pnl_quote(self) -> float:
        """What is left of the PnL once capture, fees and slippage are counted: the price
        moving while exposure was held (the waiting of netting, the end position)."""
        return self.pnl_quote - (
            self.capture_quote
            - self.home_fee_quote
            - self.hedge_fee_quote
            - self.hedge_slippage_quote
        )

    @property
    def book_events_per_s(self) -> float:
        return self.book_events / self.wall_s if self.wall_s > 0 else 0.0
