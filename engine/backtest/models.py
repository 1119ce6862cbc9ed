"""Small swappable models for the backtests: order latency, queue position, fees.

Shaped as hftbacktest's (nkaz001/hftbacktest: `ConstantLatency`,
`RiskAverseQueueModel`, `ProbQueueModel` with a power queue function), each
behind one small protocol so a variant overrides one method:

* `LatencyModel`: an order's *entry* latency (sent -> live at the venue) and
  *response* latency (venue event -> the bot knows), split because a cancel's
  entry delay keeps a stale quote live while a fill's response delay keeps the
  bot quoting on an old inventory.
* `QueueModel`: where a resting quote stands when other liquidity rests at
  its price. The position ahead (`front`, base units) moves on trades at the
  price and on changes of the level's resting amount; the quote fills by what
  trades beyond the front.
* `FeeModel`: a fee rate per venue, side and liquidity (maker/taker).

Defaults keep today's results: `ConstantLatency()` is zero both ways,
`FeeModel.from_config` charges each venue's configured maker/taker rate on
either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from engine.config import AppConfig
from engine.types import Side


class LatencyModel(Protocol):
    def entry_ns(self, ts_ns: int) -> int:
        """Delay from the bot sending an order (or cancel) at `ts_ns` to the venue acting."""
        ...

    def response_ns(self, ts_ns: int) -> int:
        """Delay from a venue event at `ts_ns` (ack, fill) to the bot seeing it."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantLatency:
    """The same entry and response latency for every order (zero: today's backtests)."""

    entry_latency_ns: int = 0
    response_latency_ns: int = 0

    def __post_init__(self) -> None:
        if self.entry_latency_ns < 0 or self.response_latency_ns < 0:
            raise ValueError("latency: entry and response must be >= 0 ns")

    def entry_ns(self, ts_ns: int) -> int:
        return self.entry_latency_ns

    def response_ns(self, ts_ns: int) -> int:
        return self.response_latency_ns

    def round_trip_ns(self, ts_ns: int) -> int:
        """Sent at `ts_ns` until the bot sees the venue's answer."""
        return self.entry_ns(ts_ns) + self.response_ns(ts_ns + self.entry_ns(ts_ns))


@dataclass(slots=True)
class QueuePosition:
    """A resting quote's place: `front` base ahead of it, `traded` since the last depth
    update (so a depth drop that a trade already explained is not counted twice)."""

    front: float
    traded: float = 0.0


class QueueModel(Protocol):
    def on_trade(self, pos: QueuePosition, amount: float) -> float:
        """A trade of `amount` at the quote's price: what of it fills the quote."""
        ...

    def on_depth(self, pos: QueuePosition, prev_amount: float, new_amount: float) -> None:
        """The level's resting amount (others' and ours) went from `prev` to `new`."""
        ...


def _fill_from_trade(pos: QueuePosition, amount: float) -> float:
    """Trades eat the front first; what trades beyond it fills the quote."""
    pos.traded += amount
    filled = max(0.0, amount - pos.front)
    pos.front = max(0.0, pos.front - amount)
    return filled


@dataclass(frozen=True, slots=True)
class RiskAverseQueue:
    """The quote advances on trades only: a cancel is always assumed behind it (the
    most pessimistic model), except that the front never exceeds what rests."""

    def on_trade(self, pos: QueuePosition, amount: float) -> float:
        return _fill_from_trade(pos, amount)

    def on_depth(self, pos: QueuePosition, prev_amount: float, new_amount: float) -> None:
        pos.traded = 0.0
        pos.front = min(pos.front, new_amount)


@dataclass(frozen=True, slots=True)
class PowerProbQueue:
    """A cancel of `c` at the level is behind the quote with probability
    p = f(back) / (f(back) + f(front)), f(x) = x ** power (hftbacktest's
    `PowerProbQueueFunc`); the front shrinks by the expected share ahead,
    (1 - p) c, and by whatever the back could not hold."""

    power: float = 2.0

    def __post_init__(self) -> None:
        if not self.power > 0:
            raise ValueError(f"queue model: power {self.power} must be positive")

    def prob_behind(self, front: float, back: float) -> float:
        fb, ff = back**self.power, front**self.power
        return fb / (fb + ff) if fb + ff > 0 else 1.0

    def on_trade(self, pos: QueuePosition, amount: float) -> float:
        return _fill_from_trade(pos, amount)

    def on_depth(self, pos: QueuePosition, prev_amount: float, new_amount: float) -> None:
        cancelled = prev_amount - new_amount - pos.traded
        pos.traded = 0.0
        if cancelled <= 0:  # others joined behind, or trades explain the drop
            pos.front = min(pos.front, new_amount)
            return
        front = pos.front
        back = max(0.0, prev_amount - front)
        p = self.prob_behind(front, back)
        estimate = front - (1.0 - p) * cancelled + min(back - p * cancelled, 0.0)
        pos.front = max(0.0, min(estimate, new_amount))


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class VenueFees:
    """Fee rates (fractions of notional) of one venue, per side and liquidity."""

    maker_buy: float
    maker_sell: float
    taker_buy: float
    taker_sell: float

    def rate(self, side: Side, liquidity: Liquidity) -> float:
        if liquidity is Liquidity.MAKER:
            return self.maker_buy if side is Side.BUY else self.maker_sell
        return self.taker_buy if side is Side.BUY else self.taker_sell


@dataclass(frozen=True, slots=True)
class FeeModel:
    """Fee rates by venue id; `fee` is rate x notional (the venue's own rounding aside)."""

    venues: Mapping[str, VenueFees] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: AppConfig) -> FeeModel:
        """Each configured venue's maker and taker rate, the same on either side."""
        venues = [config.home_venue, *config.hedge_venues]
        return cls(
            {v.id: VenueFees(v.maker_fee, v.maker_fee, v.taker_fee, v.taker_fee) for v in venues}
        )

    def rate(self, venue: str, side: Side, liquidity: Liquidity) -> float:
        try:
            return self.venues[venue].rate(side, liquidity)
        except KeyError:
            raise KeyError(f"fee model: no fees for venue {venue!r}") from None

    def fee(self, venue: str, side: Side, liquidity: Liquidity, notional_quote: float) -> float:
        return self.rate(venue, side, liquidity) * notional_quote
