"""Where a backtest's market comes from: the simulator, or a recorded run replayed.

A feed answers two questions on the backtest's clock: what is the reference
mid now (and since when is it known), and which takers arrived in a window.
`SimulatedFeed` asks the very objects the live home venue uses
(`engine.sim.price.ReferencePrice`, `engine.sim.takers.TakerFlow`);
`RecordedFeed` replays a previous run's `book_samples` mids and turns its
recorded fills back into the market orders that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.config import AppConfig, MarketConfig
from engine.sim.price import ReferencePrice
from engine.sim.takers import TakerFlow, TakerOrder
from engine.types import Side


class MarketFeed(Protocol):
    start_ns: int
    end_ns: int

    def reference(self, ts_ns: int) -> tuple[float, int] | None:
        """(reference mid, ts_ns it was observed at) as of `ts_ns`; None before the first."""
        ...

    def takers(self, since_ns: int, until_ns: int, home_mid: float | None) -> list[TakerOrder]:
        """Market orders arriving in [since_ns, until_ns), in time order."""
        ...

    def book_events(self, until_ns: int) -> int:
        """Events the feed produced up to `until_ns`: reference updates plus taker orders."""
        ...


class ReferenceFeed:
    """The simulator's reference price of one market (one update per grid step); a feed
    adds its takers."""

    def __init__(
        self, reference: ReferencePrice, symbol: str, *, start_ns: int, end_ns: int, step_ms: int
    ) -> None:
        if end_ns <= start_ns:
            raise ValueError(f"simulated feed: end {end_ns} is not after start {start_ns}")
        self._reference = reference
        self._symbol = symbol
        self._step_ns = step_ms * 1_000_000
        self.start_ns = start_ns
        self.end_ns = end_ns
        self._taker_orders = 0

    def reference(self, ts_ns: int) -> tuple[float, int]:
        return self._reference.symbol_price(self._symbol, ts_ns), ts_ns

    def book_events(self, until_ns: int) -> int:
        steps = max(0, min(until_ns, self.end_ns) - self.start_ns) // self._step_ns
        return int(steps) + self._taker_orders


class SimulatedFeed(ReferenceFeed):
    """The simulator's reference price and its synthetic takers."""

    def __init__(
        self,
        reference: ReferencePrice,
        symbol: str,
        takers: TakerFlow,
        *,
        start_ns: int,
        end_ns: int,
        step_ms: int,
    ) -> None:
        super().__init__(reference, symbol, start_ns=start_ns, end_ns=end_ns, step_ms=step_ms)
        self._flow = takers

    def takers(self, since_ns: int, until_ns: int, home_mid: float | None) -> list[TakerOrder]:
        # priced at the window's end, like HomeSimVenue.poll_fills
        orders = self._flow.arrivals(
            since_ns,
            until_ns,
            reference_price=self._reference.symbol_price(self._symbol, until_ns),
            home_mid=home_mid,
        )
        self._taker_orders += len(orders)
        return orders


@dataclass(frozen=True, slots=True)
class Recording:
    """One market of a recorded run as arrays: reference mids and the takers behind its fills.

    `taker_is_buy[i]` is True when the taker bought (the bot's fill was a sell).
    """

    market: str
    sample_ts_ns: np.ndarray
    sample_mid: np.ndarray
    taker_ts_ns: np.ndarray
    taker_is_buy: np.ndarray
    taker_amount: np.ndarray

    def __post_init__(self) -> None:
        if len(self.sample_ts_ns) == 0:
            raise ValueError(f"recording of {self.market}: no book_samples with a mid")
        if len(self.sample_ts_ns) != len(self.sample_mid):
            raise ValueError(f"recording of {self.market}: sample ts and mid lengths differ")
        n = len(self.taker_ts_ns)
        if not (len(self.taker_is_buy) == len(self.taker_amount) == n):
            raise ValueError(f"recording of {self.market}: taker columns have different lengths")
        if np.any(np.diff(self.sample_ts_ns) < 0) or np.any(np.diff(self.taker_ts_ns) < 0):
            raise ValueError(f"recording of {self.market}: timestamps must be sorted")


def takers_from_fills(
    ts_ns: np.ndarray, maker_is_buy: np.ndarray, amount: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The market orders behind maker fills: one order per (ts, side) run of fills, opposite side.

    A taker that walked several of the bot's levels left one fill per level at
    one timestamp; replayed, it is one order of the summed amount again.
    Inputs must be sorted by time.
    """
    if len(ts_ns) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, dtype=bool), np.zeros(0, dtype=float)
    ts = np.asarray(ts_ns, dtype=np.int64)
    buy = ~np.asarray(maker_is_buy, dtype=bool)
    starts = np.flatnonzero(np.r_[True, (np.diff(ts) != 0) | (np.diff(buy) != 0)])
    return ts[starts], buy[starts], np.add.reduceat(np.asarray(amount, dtype=float), starts)


class RecordedFeed:
    """A recorded run replayed: the mid of its latest book sample, its takers at their times."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.start_ns = int(recording.sample_ts_ns[0])
        self.end_ns = int(recording.sample_ts_ns[-1]) + 1

    def reference(self, ts_ns: int) -> tuple[float, int] | None:
        r = self.recording
        i = int(np.searchsorted(r.sample_ts_ns, ts_ns, side="right")) - 1
        if i < 0:
            return None
        return float(r.sample_mid[i]), int(r.sample_ts_ns[i])

    def takers(self, since_ns: int, until_ns: int, home_mid: float | None) -> list[TakerOrder]:
        r = self.recording
        lo = int(np.searchsorted(r.taker_ts_ns, since_ns, side="left"))
        hi = int(np.searchsorted(r.taker_ts_ns, until_ns, side="left"))
        return [
            TakerOrder(
                ts_ns=int(r.taker_ts_ns[i]),
                side=Side.BUY if r.taker_is_buy[i] else Side.SELL,
                amount=float(r.taker_amount[i]),
            )
            for i in range(lo, hi)
        ]

    def book_events(self, until_ns: int) -> int:
        r = self.recording
        return int(np.searchsorted(r.sample_ts_ns, until_ns, side="left")) + int(
            np.searchsorted(r.taker_ts_ns, until_ns, side="left")
        )


def simulated_feed(
    config: AppConfig, market: MarketConfig, *, seed: int, start_ns: int, duration_s: float
) -> SimulatedFeed:
    """The simulator's feed of `market`, as a live run with `seed` from `start_ns` sees it."""
    reference = ReferencePrice(
        config.sim.assets, seed=seed, step_ms=config.sim.step_ms, start_ns=start_ns
    )
    return SimulatedFeed(
        reference,
        market.symbol,
        TakerFlow(market.taker_flow, seed=seed, symbol=market.symbol),
        start_ns=start_ns,
        end_ns=start_ns + int(duration_s * 1e9),
        step_ms=config.sim.step_ms,
    )
