"""The reference price every simulated venue shares.

Geometric Brownian motion with Poisson jumps (Merton 1976, "Option pricing
when underlying stock returns are discontinuous", eq. 1) on a fixed time grid.
The path is a pure function of (seed, asset, step index): every process that
builds a `ReferencePrice` with the same seed and start time sees the very same
prices, so the venue-sim subprocess and the home venue inside each Ray actor
agree without talking to each other.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping

import numpy as np

from engine.config import AssetProcessConfig
from engine.types import split_symbol

_CHUNK = 4096
_SECONDS_PER_YEAR = 365.0 * 86_400.0


class ReferencePrice:
    """Seeded, random-access reference price per asset (in the quote asset)."""

    def __init__(
        self,
        assets: Mapping[str, AssetProcessConfig],
        *,
        seed: int,
        step_ms: int,
        start_ns: int,
    ) -> None:
        self._assets = dict(assets)
        self._seed = seed
        self._step_ns = step_ms * 1_000_000
        self._start_ns = start_ns
        self._dt_years = step_ms / 1000.0 / _SECONDS_PER_YEAR
        # per asset: log price at the start of each computed chunk, and the chunks' paths
        self._chunk_start: dict[str, list[float]] = {}
        self._chunks: dict[str, dict[int, np.ndarray]] = {}

    @property
    def assets(self) -> list[str]:
        return list(self._assets)

    @property
    def start_ns(self) -> int:
        return self._start_ns

    def step_index(self, ts_ns: int) -> int:
        return max(0, (ts_ns - self._start_ns) // self._step_ns)

    def price(self, asset: str, ts_ns: int) -> float:
        """Reference price of `asset` at `ts_ns` (constant within one grid step)."""
        if asset not in self._assets:
            raise KeyError(f"no price process for asset {asset!r}")
        step = self.step_index(ts_ns)
        chunk, offset = divmod(step, _CHUNK)
        return float(math.exp(self._chunk(asset, chunk)[offset]))

    def symbol_price(self, symbol: str, ts_ns: int) -> float:
        """`symbol`'s reference price: its base in its quote (a cross such as ETH/BTC divides
        the two legs, both priced in the reference quote)."""
        base, quote = split_symbol(symbol)
        price = self.price(base, ts_ns)
        if quote in self._assets:
            price /= self.price(quote, ts_ns)
        return price

    def log_returns(self, asset: str, ts_ns: int, n_steps: int) -> np.ndarray:
        """The last `n_steps` one-step log returns ending at `ts_ns` (for volatility estimates)."""
        end = self.step_index(ts_ns)
        start = max(0, end - n_steps)
        logs = [
            math.log(self.price(asset, self._start_ns + i * self._step_ns))
            for i in range(start, end + 1)
        ]
        return np.diff(np.asarray(logs))

    def _chunk(self, asset: str, chunk: int) -> np.ndarray:
        cached = self._chunks.setdefault(asset, {})
        if chunk in cached:
            return cached[chunk]
        starts = self._chunk_start.setdefault(asset, [math.log(self._assets[asset].initial_price)])
        while len(starts) <= chunk:  # each chunk starts where the previous one ended
            i = len(starts) - 1
            starts.append(float(self._path(asset, i, starts[i])[-1]))
        path = self._path(asset, chunk, starts[chunk])
        cached[chunk] = path
        if len(cached) > 8:  # keep memory flat on long runs
            for old in sorted(cached)[:-8]:
                del cached[old]
        return path

    def _path(self, asset: str, chunk: int, start_log: float) -> np.ndarray:
        p = self._assets[asset]
        rng = np.random.default_rng([self._seed, zlib.crc32(asset.encode()), chunk])
        dt = self._dt_years
        inc = p.vol_annual * math.sqrt(dt) * rng.standard_normal(_CHUNK)
        inc += -0.5 * p.vol_annual**2 * dt
        if p.jumps_per_day:
            jump_rate = p.jumps_per_day * (self._step_ns / 1e9) / 86_400.0
            inc += rng.poisson(jump_rate, _CHUNK) * rng.normal(0.0, p.jump_std, _CHUNK)
        if chunk == 0:
            inc[0] = 0.0  # step 0 is the configured initial price
        return start_log + np.cumsum(inc)
