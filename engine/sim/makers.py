"""Synthetic users who add their own liquidity to the home book (limit orders, not takers).

They stand for the traders a growing market attracts: the bot's step-back
rule measures their resting depth inside the band and gives them room. Every
`refresh_s` they replace their whole book: `levels` orders per side at
distances drawn uniformly in [min_offset_bps, max_offset_bps] from the
reference price, sharing `depth_quote` of notional per side with Dirichlet(1)
weights (uniform over the simplex), so the total per side is exact and the
shape varies from refresh to refresh.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from engine.config import UserMakerConfig
from engine.types import Side


@dataclass(frozen=True, slots=True)
class UserOrder:
    """One user limit order: `amount` in base units."""

    side: Side
    price: float
    amount: float


class UserMakerFlow:
    """Seeded user maker books for one symbol; the same seed and calls give the same orders."""

    def __init__(self, config: UserMakerConfig, *, seed: int, symbol: str) -> None:
        self.config = config
        self.symbol = symbol
        self._rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), 1])
        self._next_refresh_ns: int | None = None

    @property
    def enabled(self) -> bool:
        return self.config.depth_quote > 0

    def due(self, now_ns: int) -> bool:
        """True when the users replace their orders (at once on the first call)."""
        if not self.enabled:
            return False
        return self._next_refresh_ns is None or now_ns >= self._next_refresh_ns

    def refresh(self, now_ns: int, reference_price: float) -> list[UserOrder]:
        """The users' new book around `reference_price`: bids, then asks."""
        if not (reference_price > 0):
            raise ValueError(f"{self.symbol}: reference_price {reference_price} must be positive")
        cfg = self.config
        self._next_refresh_ns = now_ns + int(cfg.refresh_s * 1e9)
        if not self.enabled:
            return []
        out = []
        for side in (Side.BUY, Side.SELL):
            offsets_bps = self._rng.uniform(cfg.min_offset_bps, cfg.max_offset_bps, cfg.levels)
            weights = self._rng.dirichlet(np.ones(cfg.levels))
            sign = -1.0 if side is Side.BUY else 1.0
            for offset, w in zip(offsets_bps, weights, strict=True):
                price = reference_price * (1 + sign * float(offset) / 1e4)
                out.append(UserOrder(side, price, cfg.depth_quote * float(w) / price))
        return out
