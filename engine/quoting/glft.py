"""GLFT quotes: the closed-form approximation of Gueant, Lehalle and Fernandez-Tapia.

Gueant, Lehalle and Fernandez-Tapia, "Dealing with the inventory risk: a
solution to the market making problem", Mathematics and Financial Economics
7(4), 2013, and its generalisation in Gueant, "Optimal market making",
Applied Mathematical Finance 24(2), 2017 (closed-form approximations, with
xi = gamma for the risk-averse "model A"). For order size Delta, inventory q,
fill intensity lambda(delta) = A exp(-k delta) and mid volatility sigma::

    c1 = 1 / (xi Delta) * ln(1 + xi Delta / k)
    c2 = sqrt( gamma / (2 A Delta k) * (1 + xi Delta / k) ^ (k / (xi Delta) + 1) )
    bid depth  delta_b(q) = c1 + (Delta / 2 + q) * sigma * c2
    ask depth  delta_a(q) = c1 + (Delta / 2 - q) * sigma * c2

With Delta = 1 and q in order sizes this is the 2013 paper's
delta_b = (1/gamma) ln(1 + gamma/k)
          + (2q + 1)/2 * sqrt(sigma^2 gamma / (2 k A) * (1 + gamma/k)^(1 + k/gamma)).
Unlike Avellaneda-Stoikov there is no horizon, which suits a market that never closes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.config import MarketConfig
from engine.quoting.avellaneda_stoikov import ladder_around
from engine.quoting.base import QuoteContext
from engine.quoting.ladder import LadderPolicy
from engine.types import QuoteLevel


@dataclass(frozen=True, slots=True)
class GLFT:
    """GLFT depths from mid; `xi` defaults to `gamma` and `order_size` (Delta) to 1."""

    gamma: float
    order_size: float = 1.0
    xi: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("gamma", self.gamma), ("order_size", self.order_size)):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"GLFT: {name} {value} must be positive and finite")

    def coefficients(self, a: float, k: float) -> tuple[float, float]:
        """(c1, c2) for intensity A exp(-k delta)."""
        if not (a > 0 and k > 0):
            raise ValueError(f"GLFT: intensity A {a} and k {k} must be positive")
        xi = self.gamma if self.xi is None else self.xi
        x = xi * self.order_size
        c1 = math.log1p(x / k) / x
        c2 = math.sqrt(
            self.gamma / (2.0 * a * self.order_size * k) * (1.0 + x / k) ** (k / x + 1.0)
        )
        return c1, c2

    def depths(self, inventory: float, sigma: float, a: float, k: float) -> tuple[float, float]:
        """(bid depth, ask depth) below and above mid; a depth can be negative when q is large."""
        c1, c2 = self.coefficients(a, k)
        half = self.order_size / 2.0
        return c1 + (half + inventory) * sigma * c2, c1 + (half - inventory) * sigma * c2

    def quote(
        self, mid: float, inventory: float, sigma: float, a: float, k: float
    ) -> tuple[float, float]:
        """(bid, ask) = (mid - bid depth, mid + ask depth); floats, no rounding."""
        bid_depth, ask_depth = self.depths(inventory, sigma, a, k)
        return mid - bid_depth, mid + ask_depth


class GLFTPolicy:
    """`policy: glft`: GLFT touches in bps of mid from online sigma and (A, k), ladder behind.

    Until the calibration has a fit (too few home trades, or no sigma yet) it
    quotes like the ladder policy, so a new market is never left without quotes.
    """

    def __init__(self, market: MarketConfig) -> None:
        self.market = market
        self.params = market.policy_params
        self.model = GLFT(gamma=self.params.gamma)
        self.warmup = LadderPolicy(market)

    def desired_quotes(self, ctx: QuoteContext) -> list[QuoteLevel]:
        if not (ctx.mid > 0 and math.isfinite(ctx.mid)):
            raise ValueError(f"market {self.market.symbol}: mid {ctx.mid} must be positive")
        sigma = self.params.sigma_bps_per_sqrt_s or ctx.sigma_bps_per_sqrt_s
        if ctx.intensity is None or sigma is None:
            return self.warmup.desired_quotes(ctx)
        q = ctx.inventory / (self.market.order_notional_quote / ctx.mid)
        bid_depth, ask_depth = self.model.depths(
            q, sigma, ctx.intensity.a_per_s, ctx.intensity.k_per_bps
        )
        return ladder_around(ctx.mid, -bid_depth, ask_depth, self.market)
