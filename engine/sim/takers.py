"""Synthetic users who hit the home book with market orders.

Arrivals are a homogeneous Poisson process with rate `rate_per_s`: the count
in a window of length T is Poisson(rate * T) and, given the count, the arrival
times are independent and uniform on the window. Because Poisson counts over
disjoint windows are independent, asking for many short consecutive windows is
equivalent in distribution to asking for one long one.

Order notional is lognormal with mean `mean_notional_quote` and log-sd
`size_sigma`, i.e. log-mean mu = ln(mean) - sigma^2 / 2 (so E[X] = mean).
A share `informed_share` of takers is informed in the sense of Glosten and
Milgrom (1985, "Bid, ask and transaction prices in a specialist market with
heterogeneously informed traders"): they buy when the reference price is above
the home mid and sell otherwise, which is the adverse selection a market maker
pays for. The rest pick a side 50/50 (noise traders).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from engine.config import TakerFlowConfig
from engine.types import Side


@dataclass(frozen=True, slots=True)
class TakerOrder:
    """One synthetic market order: `amount` in base units."""

    ts_ns: int
    side: Side
    amount: float


class TakerFlow:
    """Seeded taker arrivals for one symbol; the same seed and calls give the same orders."""

    def __init__(self, config: TakerFlowConfig, *, seed: int, symbol: str) -> None:
        self.config = config
        self.symbol = symbol
        self._rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
        sigma = config.size_sigma
        self._log_mean = math.log(config.mean_notional_quote) - 0.5 * sigma * sigma

    def arrivals(
        self,
        since_ns: int,
        until_ns: int,
        *,
        reference_price: float,
        home_mid: float | None,
    ) -> list[TakerOrder]:
        """Takers arriving in [since_ns, until_ns), in time order.

        Without a home mid (an empty or one-sided book) informed takers have no
        signal and pick a side 50/50 like everyone else.
        """
        if reference_price <= 0 or not math.isfinite(reference_price):
            raise ValueError(f"{self.symbol}: reference_price {reference_price} must be positive")
        window_ns = until_ns - since_ns
        if window_ns <= 0:
            return []
        cfg = self.config
        rng = self._rng
        n = int(rng.poisson(cfg.rate_per_s * window_ns / 1e9))
        if n == 0:
            return []
        # every variate is drawn for every arrival, so one taker's kind never shifts the stream
        offsets_ns = np.sort(np.floor(rng.random(n) * window_ns).astype(np.int64))
        notionals = rng.lognormal(self._log_mean, cfg.size_sigma, n)
        informed = rng.random(n) < cfg.informed_share
        coin_buys = rng.random(n) < 0.5
        informed_side = (
            None if home_mid is None else (Side.BUY if reference_price > home_mid else Side.SELL)
        )
        orders = []
        for i in range(n):
            if informed[i] and informed_side is not None:
                side = informed_side
            else:
                side = Side.BUY if coin_buys[i] else Side.SELL
            orders.append(
                TakerOrder(
                    ts_ns=since_ns + int(offsets_ns[i]),
                    side=side,
                    amount=float(notionals[i]) / reference_price,
                )
            )
        return orders
