"""A symmetric quote ladder around the reference mid, skewed by inventory.

The inventory skew is the practitioner's linear form of the reservation-price
shift in Avellaneda and Stoikov (2008, "High-frequency trading in a limit order
book", eq. 29, r = s - q * gamma * sigma^2 * (T - t)): when long, move both
sides down so the ask is hit more often and the bid less, and the inventory
mean-reverts; when short, the opposite.

With q = inventory / inventory_limit (inventory: the desk's net unhedged
exposure, not the home fills), for level i = 0 .. levels-1 (in bps of mid)::

    half      = (min(target_spread_bps, max_spread_bps) - buffer) / 2,
                buffer = min(spread_buffer_bps, target / 2)
    skew      = clamp(skew_bps_at_limit * clamp(q, -1, 1), -3/4 half, +3/4 half)
    bid_i     = mid * (1 - (half + i * level_spacing_bps + skew) / 1e4)
    ask_i     = mid * (1 + (half + i * level_spacing_bps - skew) / 1e4)

Sizes are solved from the depth target, so depth by construction: the levels
inside the band at any skew (`half + i * spacing + max_skew <= depth_band_bps`,
n of them) each hold at least::

    floor     = depth_target_quote * (1 + depth_headroom) / n / (1 - depth_band_bps / 1e4)

of quote at mid (the last factor: a bid at the band's edge is worth less than at
mid). A level holds max(order_notional_quote / levels, floor). The side that adds
to the exposure shrinks linearly toward the floor as |q| -> 1, never below it;
the side that reduces it keeps its size. So while |q| < 1 both sides' depth in
the band is >= depth_target_quote; the skew moves prices only. At |q| >= 1 only
the reducing side is quoted (as `guards.one_sided_at_limit` enforces for every
policy).

Clamping the skew to 3/4 of the half-spread keeps each touch at least 1/4 of
the half-spread from mid, so bid < mid < ask always and the ladder never
crosses.
"""

from __future__ import annotations

import math

from engine.config import MarketConfig
from engine.quoting.avellaneda_stoikov import depth_floor_notional
from engine.quoting.base import QuoteContext
from engine.types import QuoteLevel, Side

_MAX_SKEW_SHARE_OF_HALF = 0.75


def _clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else (hi if x > hi else x)


class LadderPolicy:
    """`levels` bids and asks spaced `level_spacing_bps` apart, skewed by exposure, sized to
    keep the depth target in the band at every exposure inside the limit."""

    def __init__(self, market: MarketConfig) -> None:
        self.market = market
        # aim inside the target: rounding to the venue's tick widens the spread outward
        target = min(market.target_spread_bps, market.max_spread_bps)
        buffer = min(market.spread_buffer_bps, target / 2)  # never more than half the target
        self.half_spread_bps = (target - buffer) / 2.0
        if self.half_spread_bps <= 0:
            raise ValueError(
                f"market {market.symbol}: the ladder policy needs target_spread_bps > 0, "
                "or its bid and ask would meet at mid"
            )
        spacing = market.level_spacing_bps
        self._offsets_bps = tuple(self.half_spread_bps + i * spacing for i in range(market.levels))
        band = market.depth_band_bps
        self.levels_in_band = sum(o + self.max_skew_bps <= band for o in self._offsets_bps)
        nominal = market.order_notional_quote / market.levels
        if market.depth_target_quote > 0 and self.levels_in_band == 0:
            raise ValueError(
                f"market {market.symbol}: no ladder level stays within depth_band_bps {band:g} "
                f"at full skew (touch {self._offsets_bps[0] + self.max_skew_bps:.2f} bps), so "
                "no size can meet depth_target_quote: narrow the ladder or widen the band"
            )
        self.floor_notional_quote = depth_floor_notional(market, self.levels_in_band)
        self.level_notional_quote = max(nominal, self.floor_notional_quote)
        self._floor_factor = self.floor_notional_quote / self.level_notional_quote

    @property
    def max_skew_bps(self) -> float:
        """The largest shift `skew_bps` gives: 3/4 of the half spread."""
        return _MAX_SKEW_SHARE_OF_HALF * self.half_spread_bps

    @property
    def offsets_bps(self) -> tuple[float, ...]:
        """Each level's distance from mid before the skew, best first."""
        return self._offsets_bps

    def skew_bps(self, inventory: float) -> float:
        """Shift of both sides in bps, positive (down) when long, clamped to keep the touch."""
        q = _clamp(inventory / self.market.inventory_limit, -1.0, 1.0)
        limit = self.max_skew_bps
        return _clamp(self.market.skew_bps_at_limit * q, -limit, limit)

    def size_factors(self, inventory: float) -> tuple[float, float]:
        """(bid, ask) size as a multiple of `level_size`: the side adding exposure shrinks
        toward the depth floor as |q| -> 1 (never below it) and is not quoted at the limit;
        the other keeps 1."""
        q = _clamp(inventory / self.market.inventory_limit, -1.0, 1.0)
        shrunk = 0.0 if abs(q) >= 1.0 else 1.0 - (1.0 - self._floor_factor) * abs(q)
        return (shrunk, 1.0) if q > 0 else (1.0, shrunk)

    def price_factors(self, inventory: float) -> tuple[list[float], list[float]]:
        """(bid, ask) prices as multiples of mid, best first: the ladder is `mid * k`."""
        skew = self.skew_bps(inventory)
        offsets = self._offsets_bps
        return [1 - (o + skew) / 1e4 for o in offsets], [1 + (o - skew) / 1e4 for o in offsets]

    def level_size(self, mid: float) -> float:
        """Base units per level before the exposure factor (`level_notional_quote` at mid)."""
        return self.level_notional_quote / mid

    def desired_quotes(self, ctx: QuoteContext) -> list[QuoteLevel]:
        """Bids best first, then asks best first; levels with zero size are left out."""
        if not (ctx.mid > 0 and math.isfinite(ctx.mid)):
            raise ValueError(f"market {self.market.symbol}: mid {ctx.mid} must be positive")
        size = self.level_size(ctx.mid)
        bid_factor, ask_factor = self.size_factors(ctx.inventory)
        bid_size, ask_size = size * bid_factor, size * ask_factor
        bid_k, ask_k = self.price_factors(ctx.inventory)
        bids = [QuoteLevel(Side.BUY, ctx.mid * k, bid_size) for k in bid_k] if bid_size > 0 else []
        asks = [QuoteLevel(Side.SELL, ctx.mid * k, ask_size) for k in ask_k] if ask_size > 0 else []
        return [b for b in bids if b.price > 0] + asks
