"""Avellaneda-Stoikov (2008) quotes, and the policy that puts them on the home book.

Avellaneda and Stoikov, "High-frequency trading in a limit order book",
Quantitative Finance 8(3), 2008. With mid s, inventory q (in order sizes),
risk aversion gamma, mid volatility sigma, fill intensity
lambda(delta) = A exp(-k delta) and time left T - t, the finite-horizon
approximation of section 3 is::

    reservation price   r = s - q * gamma * sigma^2 * (T - t)                  (eq. 29)
    total spread        gamma * sigma^2 * (T - t) + (2 / gamma) * ln(1 + gamma / k)  (eq. 30)
    bid, ask            r -/+ spread / 2

The rolling-horizon variant keeps T - t = horizon at every decision, which is
the usual reading for a market that never closes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.config import MarketConfig
from engine.quoting.base import QuoteContext
from engine.types import QuoteLevel, Side


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"Avellaneda-Stoikov: {name} {value} must be positive and finite")


@dataclass(frozen=True, slots=True)
class AvellanedaStoikov:
    """Finite-horizon A-S quotes; `t` and `horizon` share the time unit of `sigma`.

    Floats in, floats out, no tick rounding: rounding happens at the venue edge.
    """

    gamma: float
    sigma: float
    k: float
    horizon: float

    def __post_init__(self) -> None:
        _check_positive(gamma=self.gamma, sigma=self.sigma, k=self.k, horizon=self.horizon)

    def time_left(self, t: float) -> float:
        """T - t, never below zero (past the horizon the inventory term vanishes)."""
        return max(self.horizon - t, 0.0)

    def reservation_price(self, mid: float, inventory: float, t: float) -> float:
        """r = s - q gamma sigma^2 (T - t) (eq. 29)."""
        return mid - inventory * self.gamma * self.sigma**2 * self.time_left(t)

    def spread(self, t: float) -> float:
        """gamma sigma^2 (T - t) + (2 / gamma) ln(1 + gamma / k) (eq. 30)."""
        return self.gamma * self.sigma**2 * self.time_left(t) + (2.0 / self.gamma) * math.log1p(
            self.gamma / self.k
        )

    def quote(self, mid: float, inventory: float, t: float) -> tuple[float, float]:
        """(bid, ask) = r -/+ spread / 2."""
        r = self.reservation_price(mid, inventory, t)
        half = self.spread(t) / 2.0
        return r - half, r + half


@dataclass(frozen=True, slots=True)
class RollingAvellanedaStoikov:
    """A-S for a 24/7 market: T - t is always `horizon`, so quotes do not drift with the clock."""

    gamma: float
    sigma: float
    k: float
    horizon: float

    def __post_init__(self) -> None:
        _check_positive(gamma=self.gamma, sigma=self.sigma, k=self.k, horizon=self.horizon)

    def quote(self, mid: float, inventory: float, t: float = 0.0) -> tuple[float, float]:
        """(bid, ask) of the finite-horizon model at t = 0; `t` is accepted and ignored."""
        return AvellanedaStoikov(self.gamma, self.sigma, self.k, self.horizon).quote(
            mid, inventory, 0.0
        )


def depth_floor_notional(market: MarketConfig, levels_in_band: int) -> float:
    """Quote notional (at mid) each of `levels_in_band` levels needs for the side's depth in
    the band to reach `depth_target_quote * (1 + depth_headroom)`, priced at the band's edge."""
    return (
        market.depth_target_quote
        * (1.0 + market.depth_headroom)
        / max(levels_in_band, 1)
        / max(1.0 - market.depth_band_bps / 1e4, 1e-9)
    )


def ladder_around(
    mid: float, bid_bps: float, ask_bps: float, market: MarketConfig
) -> list[QuoteLevel]:
    """`market.levels` bids below `bid_bps` and asks above `ask_bps` (offsets from mid, in bps).

    Levels are `level_spacing_bps` apart and share `order_notional_quote` per side, or
    more: each holds at least its share of the depth target (`depth_floor_notional`),
    so the side meets it whenever the model keeps its levels inside the band.
    """
    per_level = max(
        market.order_notional_quote / market.levels, depth_floor_notional(market, market.levels)
    )
    size = per_level / mid
    bids = [
        QuoteLevel(Side.BUY, mid * (1 + (bid_bps - i * market.level_spacing_bps) / 1e4), size)
        for i in range(market.levels)
    ]
    asks = [
        QuoteLevel(Side.SELL, mid * (1 + (ask_bps + i * market.level_spacing_bps) / 1e4), size)
        for i in range(market.levels)
    ]
    return [b for b in bids if b.price > 0] + asks


class AvellanedaStoikovPolicy:
    """`policy: avellaneda_stoikov`: A-S touches in bps of mid, a ladder behind them.

    Inventory is counted in order sizes (`order_notional_quote / mid`); sigma is
    `policy_params.sigma_bps_per_sqrt_s`, else the online estimate, else the
    fallback. With `rolling_horizon: false` the horizon restarts every
    `horizon_s` seconds of the run (t = elapsed mod horizon).
    """

    def __init__(self, market: MarketConfig) -> None:
        self.market = market
        self.params = market.policy_params

    def model(self, ctx: QuoteContext) -> AvellanedaStoikov | RollingAvellanedaStoikov:
        p = self.params
        sigma = (
            p.sigma_bps_per_sqrt_s or ctx.sigma_bps_per_sqrt_s or p.sigma_fallback_bps_per_sqrt_s
        )
        cls = RollingAvellanedaStoikov if p.rolling_horizon else AvellanedaStoikov
        return cls(gamma=p.gamma, sigma=sigma, k=p.k_per_bps, horizon=p.horizon_s)

    def desired_quotes(self, ctx: QuoteContext) -> list[QuoteLevel]:
        if not (ctx.mid > 0 and math.isfinite(ctx.mid)):
            raise ValueError(f"market {self.market.symbol}: mid {ctx.mid} must be positive")
        q = ctx.inventory / (self.market.order_notional_quote / ctx.mid)
        t = ctx.elapsed_s % self.params.horizon_s
        bid_bps, ask_bps = self.model(ctx).quote(0.0, q, t)
        return ladder_around(ctx.mid, bid_bps, ask_bps, self.market)
