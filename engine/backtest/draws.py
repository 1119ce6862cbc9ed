"""The fast backtest's inputs as arrays: taker draws in bulk and the reference path.

`BulkTakerFlow` draws `engine.sim.takers.TakerFlow`'s distributions for a
whole window at once; `DrawnFeed` serves given draws to the exact engine, so
both engines can be run on the very same inputs (the agreement tests).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.backtest.feeds import ReferenceFeed
from engine.config import TakerFlowConfig
from engine.sim.price import ReferencePrice
from engine.sim.takers import TakerOrder
from engine.types import Side


@dataclass(frozen=True, slots=True)
class TakerDraws:
    """Taker arrivals as arrays: times (sorted), notionals, informed flags, 50/50 coins.

    The side is decided when the taker arrives (informed takers follow the
    reference against the home mid), so it is not part of the draw.
    """

    ts_ns: np.ndarray
    notional_quote: np.ndarray
    informed: np.ndarray
    coin_buy: np.ndarray

    def between(self, since_ns: int, until_ns: int) -> TakerDraws:
        lo, hi = np.searchsorted(self.ts_ns, [since_ns, until_ns], side="left")
        return TakerDraws(
            self.ts_ns[lo:hi],
            self.notional_quote[lo:hi],
            self.informed[lo:hi],
            self.coin_buy[lo:hi],
        )


class BulkTakerFlow:
    """`TakerFlow`'s distributions drawn for a whole window at once.

    Poisson counts over disjoint windows are independent, so one draw per
    chunk has the law of the live flow's draw per 100 ms poll (see
    `engine.sim.takers`); the stream differs, the distribution does not.
    """

    def __init__(self, config: TakerFlowConfig, *, seed: int, symbol: str) -> None:
        self.config = config
        self._rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), 2])
        sigma = config.size_sigma
        self._log_mean = math.log(config.mean_notional_quote) - 0.5 * sigma * sigma

    def draw(self, since_ns: int, until_ns: int) -> TakerDraws:
        """Takers arriving in [since_ns, until_ns), in time order."""
        cfg, rng = self.config, self._rng
        window_ns = max(0, until_ns - since_ns)
        n = int(rng.poisson(cfg.rate_per_s * window_ns / 1e9)) if window_ns else 0
        ts = since_ns + np.sort(np.floor(rng.random(n) * window_ns).astype(np.int64))
        return TakerDraws(
            ts,
            rng.lognormal(self._log_mean, cfg.size_sigma, n),
            rng.random(n) < cfg.informed_share,
            rng.random(n) < 0.5,
        )


class FixedTakers:
    """Given draws served by window: a hand-built scenario, or one draw shared by two engines."""

    def __init__(self, draws: TakerDraws) -> None:
        self.draws = draws

    def draw(self, since_ns: int, until_ns: int) -> TakerDraws:
        return self.draws.between(since_ns, until_ns)


class TakerSource(Protocol):
    def draw(self, since_ns: int, until_ns: int) -> TakerDraws: ...


class DrawnFeed(ReferenceFeed):
    """A `MarketFeed` serving given draws: the exact engine on the fast path's inputs."""

    def __init__(
        self,
        reference: ReferencePrice,
        symbol: str,
        draws: TakerDraws,
        *,
        start_ns: int,
        end_ns: int,
        step_ms: int,
    ) -> None:
        super().__init__(reference, symbol, start_ns=start_ns, end_ns=end_ns, step_ms=step_ms)
        self._draws = draws

    def takers(self, since_ns: int, until_ns: int, home_mid: float | None) -> list[TakerOrder]:
        d = self._draws.between(since_ns, until_ns)
        ref = self.reference(until_ns)[0]
        self._taker_orders += len(d.ts_ns)
        informed_buy = None if home_mid is None else ref > home_mid
        out = []
        for ts, notional, informed, coin in zip(
            d.ts_ns.tolist(), d.notional_quote.tolist(), d.informed, d.coin_buy, strict=True
        ):
            buy = informed_buy if informed and informed_buy is not None else bool(coin)
            out.append(TakerOrder(ts, Side.BUY if buy else Side.SELL, notional / ref))
        return out


def reference_path(reference: ReferencePrice, asset: str, steps: np.ndarray) -> list[float]:
    """`reference.price` at many step indices, read from its seeded chunks, bit for bit.

    `math.exp`, not `np.exp`: numpy's vector exp can differ in the last bit.
    """
    chunk_len = 4096  # engine.sim.price._CHUNK
    logs = np.empty(len(steps), dtype=float)
    chunks = steps // chunk_len
    for c in np.unique(chunks).tolist():
        sel = chunks == c
        logs[sel] = reference._chunk(asset, c)[steps[sel] % chunk_len]
    exp = math.exp
    return [exp(x) for x in logs.tolist()]
