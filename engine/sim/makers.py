"""Synthetic users who add their own liquidity to the home book (limit orders, not takers).

They stand for the traders a growing market attracts: the bot's step-back
rule measures their resting depth inside the band and gives them room. Every
`refresh_s` they replace their whole book: `levels` orders per side at
distances drawn uniformly in [min_offset_bps, max_offset_bps] from the
reference price, sharing `depth_quote` of notional per side with Dirichlet(1)
weights (uniform over the simplex: normalised Exp(1) draws), so the total per
side is exact and the shape varies from refresh to refresh.

A maturing market adds named makers (`ScheduledMaker`, from
`UserMakerConfig.schedule`): each arrives on its day, grows its depth over a
ramp, keeps its own offsets, size and refresh rate, and withdraws now and then
(all its orders at once: the stress case the bot's step-back must cover).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from engine.config import ScheduledMakerConfig, UserMakerConfig
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
        return _book_around(
            self._rng,
            reference_price,
            cfg.depth_quote,
            cfg.levels,
            cfg.min_offset_bps,
            cfg.max_offset_bps,
        )


MAKER_OWNER_PREFIX = "maker-"
"""Owner id of a scheduled maker on the home book: `maker-<name>`."""

_NS_PER_DAY = 86_400 * 1_000_000_000
_NEVER = 2**62


def _book_around(
    rng: np.random.Generator,
    reference_price: float,
    depth_quote: float,
    levels: int,
    min_offset_bps: float,
    max_offset_bps: float,
) -> list[UserOrder]:
    """`levels` orders per side at uniform offsets, `depth_quote` per side shared with
    Dirichlet(1) weights (drawn as normalised standard exponentials, one call for both
    sides: numpy's per-call cost dominated a refresh)."""
    offsets_bps = rng.uniform(min_offset_bps, max_offset_bps, 2 * levels).tolist()
    draws = rng.standard_exponential(2 * levels).tolist()
    out = []
    for k, (side, sign) in enumerate(((Side.BUY, -1.0), (Side.SELL, 1.0))):
        weights = draws[k * levels : (k + 1) * levels]
        total = sum(weights)
        for offset, w in zip(offsets_bps[k * levels : (k + 1) * levels], weights, strict=True):
            price = reference_price * (1 + sign * offset / 1e4)
            out.append(UserOrder(side, price, depth_quote * w / total / price))
    return out


class ScheduledMaker:
    """One named user maker of a maturing market (`ScheduledMakerConfig`).

    Times are counted from `origin_ns`, the users' first refresh. The maker is
    present from its arrival on, except inside its absence windows (the
    scripted withdrawal and Poisson random ones, drawn lazily in arrival
    order, so the same seed gives the same windows whatever the run length).
    """

    def __init__(
        self, config: ScheduledMakerConfig, *, seed: int, symbol: str, origin_ns: int
    ) -> None:
        self.config = config
        self.owner = f"{MAKER_OWNER_PREFIX}{config.name}"
        self.origin_ns = origin_ns
        tag = zlib.crc32(config.name.encode())
        self._rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), tag, 2])
        self._absence_rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), tag, 3])
        self.arrive_ns = origin_ns + int(config.arrive_day * _NS_PER_DAY)
        self._windows: list[tuple[int, int]] = []
        if config.withdraw_at_day is not None:
            start = origin_ns + int(config.withdraw_at_day * _NS_PER_DAY)
            away_ns = None if config.return_after_s is None else int(config.return_after_s * 1e9)
            end = _NEVER if away_ns is None else start + away_ns
            self._windows.append((start, end))
        self._random_drawn_ns = self.arrive_ns
        self._random: list[tuple[int, int]] = []
        self.next_ns = origin_ns

    def _draw_random_until(self, until_ns: int) -> None:
        rate = self.config.withdrawals_per_day
        if rate <= 0:
            return
        while self._random_drawn_ns <= until_ns:
            gap_ns = int(self._absence_rng.exponential(1.0 / rate) * _NS_PER_DAY)
            start = self._random_drawn_ns + gap_ns
            end = start + int(self.config.withdrawal_s * 1e9)
            self._random.append((start, end))
            self._random_drawn_ns = end

    def _windows_near(self, now_ns: int) -> list[tuple[int, int]]:
        self._draw_random_until(now_ns + int(self.config.refresh_s * 1e9))
        return sorted(w for w in (*self._windows, *self._random) if w[1] > now_ns)

    def absent_until(self, now_ns: int) -> int | None:
        """When the maker comes back if it is away at `now_ns` (not arrived, or withdrawn)."""
        if now_ns < self.arrive_ns:
            return self.arrive_ns
        for start, end in self._windows_near(now_ns):
            if start <= now_ns < end:
                return end
        return None

    def depth_quote(self, now_ns: int) -> float:
        """Per-side notional now: 0 when away, ramping linearly after arrival."""
        if self.absent_until(now_ns) is not None:
            return 0.0
        cfg = self.config
        if cfg.ramp_days <= 0:
            return cfg.depth_quote
        grown = (now_ns - self.arrive_ns) / (cfg.ramp_days * _NS_PER_DAY)
        return cfg.depth_quote * min(1.0, max(0.0, grown))

    def due(self, now_ns: int) -> bool:
        return now_ns >= self.next_ns

    def refresh(self, now_ns: int, reference_price: float) -> list[UserOrder]:
        """The maker's new book (empty while away); sets when it is next due: its refresh
        interval, or sooner at the start of a withdrawal, or at its return when away."""
        cfg = self.config
        back = self.absent_until(now_ns)
        if back is not None:
            self.next_ns = back
            return []
        self.next_ns = now_ns + int(cfg.refresh_s * 1e9)
        for start, _ in self._windows_near(now_ns):
            if start > now_ns:
                self.next_ns = min(self.next_ns, start)
                break
        depth = self.depth_quote(now_ns)
        if depth <= 0:
            return []
        return _book_around(
            self._rng, reference_price, depth, cfg.levels, cfg.min_offset_bps, cfg.max_offset_bps
        )


class UserMakers:
    """Every synthetic user maker of one symbol: the anonymous `UserMakerFlow` (owner
    `anonymous_owner`) and the scheduled makers, whose days count from the first refresh."""

    def __init__(
        self, config: UserMakerConfig, *, seed: int, symbol: str, anonymous_owner: str
    ) -> None:
        self.config = config
        self._seed, self._symbol = seed, symbol
        self.anonymous = UserMakerFlow(config, seed=seed, symbol=symbol)
        self.anonymous_owner = anonymous_owner
        self.scheduled: list[ScheduledMaker] = []
        self.origin_ns: int | None = None

    @property
    def enabled(self) -> bool:
        return self.config.active

    def _start(self, now_ns: int) -> None:
        self.origin_ns = now_ns
        self.scheduled = [
            ScheduledMaker(m, seed=self._seed, symbol=self._symbol, origin_ns=now_ns)
            for m in self.config.schedule
        ]

    def due(self, now_ns: int) -> bool:
        """True when any maker replaces (or withdraws) its orders (at once on the first call)."""
        if not self.enabled:
            return False
        if self.origin_ns is None:
            return True
        return self.anonymous.due(now_ns) or any(m.due(now_ns) for m in self.scheduled)

    def refresh(self, now_ns: int, reference_price: float) -> list[tuple[str, list[UserOrder]]]:
        """(owner, new book) of every maker due now: its old orders are to be replaced."""
        if not (reference_price > 0):
            raise ValueError(f"{self._symbol}: reference_price {reference_price} must be positive")
        if self.origin_ns is None:
            self._start(now_ns)
        out = []
        if self.anonymous.due(now_ns):
            out.append((self.anonymous_owner, self.anonymous.refresh(now_ns, reference_price)))
        for maker in self.scheduled:
            if maker.due(now_ns):
                out.append((maker.owner, maker.refresh(now_ns, reference_price)))
        return out
