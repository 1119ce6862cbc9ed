"""Generated L2 books of the simulated external venues.

A venue's book is a pure function of (seed, venue id, symbol, refresh bucket):
the mid is the shared reference price shifted by the venue's offset plus a
Gaussian noise drawn for the bucket, and the ladder around it follows the
venue's depth profile (`BookProfileConfig`): level i sits
`half_spread_bps + i * level_spacing_bps` away from the mid and holds
`level_notional_quote * depth_growth**i` of quote, jittered a little. The
shape is the usual static "depth grows away from the touch" profile of
aggregator-facing venues (cf. Cont, Stoikov & Talreja 2010, "A stochastic
model for order book dynamics", section 2: mean depth increases with the
distance to the best quote over the first levels). Every process building a
generator with the same inputs sees the very same book, and the book is
constant within one refresh bucket so that liquidity a taker consumed can be
tracked until the next refresh. Each symbol's buckets start on its own phase
(a hash of venue and symbol within one `refresh_ms`): a real venue's symbols
do not all change in the same instant, and in lockstep a diff stream of 50
symbols went silent between refreshes, so no event vouched for the quiet
books (`engine/venues/streams.py`) and venue-sim built every book in one burst.

Prices and amounts are exact `Decimal` on the symbol's tick/lot grid; the
`BookSnapshot` view is floats for the engine.

Deeper than the profile: a depth request may ask for up to `MAX_LEVELS` levels
(Binance serves up to 5000). Levels past the profile's `levels` continue the
ladder at the same spacing with the last profile level's notional, jittered
from a second seeded stream, so the profile's own levels never change and every
process still sees the same (extended) book.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import numpy as np

from engine.config import SymbolRulesConfig, VenueConfig
from engine.sim.ladder import Count, ladder, to_levels
from engine.sim.price import ReferencePrice
from engine.sim.resting_book import anchor_bucket, resting_ladder
from engine.types import BookSnapshot

# Each level's amount is scaled by 1 + U(-j, j): enough to look organic, small
# enough that the configured depth profile is what a router sees.
AMOUNT_JITTER = 0.1
MAX_LEVELS = 5_000
_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price level as the venue trades it: exact price and amount."""

    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class GeneratedBook:
    """The full generated ladder of one symbol for one refresh bucket, best price first.

    Held as counts (price in ticks, amount in lots: `engine.sim.ladder`); the exact
    `BookLevel`s are built on first use, as the streams publish most books without."""

    venue: str
    symbol: str
    bucket: int
    mid: float
    tick: Decimal
    lot: Decimal
    bid_counts: tuple[Count, ...]
    ask_counts: tuple[Count, ...]
    levels: int = 0  # how many levels a side were generated (fewer bids if prices hit 0)

    @cached_property
    def bids(self) -> tuple[BookLevel, ...]:
        return tuple(BookLevel(p, a) for p, a in to_levels(self.bid_counts, self.tick, self.lot))

    @cached_property
    def asks(self) -> tuple[BookLevel, ...]:
        return tuple(BookLevel(p, a) for p, a in to_levels(self.ask_counts, self.tick, self.lot))

    def snapshot(self, ts_ns: int, depth: int) -> BookSnapshot:
        return BookSnapshot(
            venue=self.venue,
            symbol=self.symbol,
            ts_ns=ts_ns,
            bids=tuple((float(lv.price), float(lv.amount)) for lv in self.bids[:depth]),
            asks=tuple((float(lv.price), float(lv.amount)) for lv in self.asks[:depth]),
        )


class BookGenerator:
    """Deterministic L2 books for one simulated venue, one refresh bucket at a time."""

    def __init__(self, venue: VenueConfig, reference: ReferencePrice, seed: int) -> None:
        self._venue = venue
        self._reference = reference
        self._seed = seed
        self._refresh_ns = venue.book.refresh_ms * 1_000_000
        self._venue_key = zlib.crc32(venue.id.encode())
        self._cache: OrderedDict[tuple[str, int], GeneratedBook] = OrderedDict()
        self._ladders: dict[int, tuple[list[float], list[float]]] = {}  # by levels a side
        self._phases: dict[str, int] = {}  # symbol -> where its buckets start, ns

    @property
    def venue_id(self) -> str:
        return self._venue.id

    def bucket(self, symbol: str, ts_ns: int) -> int:
        """Index of `symbol`'s refresh bucket holding `ts_ns` (on the symbol's phase);
        the book is constant within it."""
        return max(0, (ts_ns + self._phase_ns(symbol)) // self._refresh_ns)

    def _phase_ns(self, symbol: str) -> int:
        phase = self._phases.get(symbol)
        if phase is None:
            key = zlib.crc32(f"{self._venue.id}/{symbol}".encode())
            phase = self._phases[symbol] = key % self._refresh_ns
        return phase

    def book(self, symbol: str, ts_ns: int, min_levels: int = 0) -> GeneratedBook:
        """The exact (Decimal) book of `symbol` at `ts_ns`, at least `min_levels` deep
        (at most `MAX_LEVELS`); the profile's own depth when that is deeper."""
        key = (symbol, self.bucket(symbol, ts_ns))
        cached = self._cache.get(key)
        if cached is not None and cached.levels >= min(min_levels, MAX_LEVELS):
            self._cache.move_to_end(key)
            return cached
        book = self._generate(symbol, key[1], min(max(min_levels, 0), MAX_LEVELS))
        self._cache[key] = book
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return book

    def deepest(self, book: GeneratedBook) -> GeneratedBook:
        """`book` extended to `MAX_LEVELS` a side (a taker walked past its levels)."""
        if book.levels >= MAX_LEVELS:
            return book
        deeper = self._generate(book.symbol, book.bucket, MAX_LEVELS)
        self._cache[(book.symbol, book.bucket)] = deeper
        return deeper

    def snapshot(self, symbol: str, ts_ns: int, depth: int) -> BookSnapshot:
        """The book at `ts_ns` as floats, at most `depth` levels a side."""
        return self.book(symbol, ts_ns).snapshot(ts_ns, depth)

    def bucket_start(self, symbol: str, bucket: int) -> int:
        """When `symbol`'s `bucket` starts, ns (the first at 0 whatever the phase)."""
        return max(0, bucket * self._refresh_ns - self._phase_ns(symbol))

    def reference_mid(self, symbol: str, bucket: int) -> float:
        """Reference price of `symbol` at the start of its `bucket` (base priced in the
        quote)."""
        return self._reference.symbol_price(symbol, self.bucket_start(symbol, bucket))

    def fair_mid(self, symbol: str, ts_ns: int) -> float:
        """The reference price shifted by the venue's offset, without the bucket's noise."""
        bucket = self.bucket(symbol, ts_ns)
        return self.reference_mid(symbol, bucket) * (1.0 + self._venue.book.offset_bps / 1e4)

    def _profile_ladder(self, n_levels: int) -> tuple[list[float], list[float]]:
        """Each level's distance from the mid and quote notional (fixed by the profile)."""
        cached = self._ladders.get(n_levels)
        if cached is None:
            profile = self._venue.book
            distances = [
                (profile.half_spread_bps + i * profile.level_spacing_bps) / 1e4
                for i in range(n_levels)
            ]
            notionals = [
                profile.level_notional_quote * profile.depth_growth ** min(i, profile.levels - 1)
                for i in range(n_levels)
            ]
            cached = self._ladders[n_levels] = (distances, notionals)
        return cached

    def _generate(self, symbol: str, bucket: int, min_levels: int = 0) -> GeneratedBook:
        profile = self._venue.book
        rules = self._venue.rules_for(symbol)
        symbol_key = zlib.crc32(symbol.encode())
        seed = [self._seed, self._venue_key, symbol_key, bucket]
        rng = np.random.default_rng(seed)
        noise_bps = float(rng.normal(0.0, profile.noise_bps)) if profile.noise_bps else 0.0
        mid = self.reference_mid(symbol, bucket) * (1.0 + (profile.offset_bps + noise_bps) / 1e4)
        n_levels = max(profile.levels, min_levels)
        if profile.model == "resting":
            anchor = anchor_bucket(bucket, symbol_key, profile.refresh_ms)
            anchor_mid = self.reference_mid(symbol, anchor) * (1.0 + profile.offset_bps / 1e4)
            key = (self._seed * 0x9E3779B97F4A7C15 + (self._venue_key << 32 | symbol_key)) % 2**64
            touch = rng.uniform(-AMOUNT_JITTER, AMOUNT_JITTER, size=2)
            bids, asks = resting_ladder(
                mid,
                anchor_mid,
                profile,
                rules,
                n_levels,
                key,
                bucket,
                AMOUNT_JITTER,
                (float(touch[0]), float(touch[1])),
            )
        else:
            bids, asks = self._redrawn(rng, seed, mid, n_levels, rules)
        return GeneratedBook(
            self._venue.id,
            symbol,
            bucket,
            mid,
            rules.tick_size,
            rules.lot_size,
            tuple(bids),
            tuple(asks),
            n_levels,
        )

    def _redrawn(
        self,
        rng: np.random.Generator,
        seed: list[int],
        mid: float,
        n_levels: int,
        rules: SymbolRulesConfig,
    ) -> tuple[list[Count], list[Count]]:
        """The redraw model's ladder: level i at its profile distance from `mid`, every
        amount drawn afresh for the bucket."""
        profile = self._venue.book
        jitter = rng.uniform(-AMOUNT_JITTER, AMOUNT_JITTER, size=(2, profile.levels))
        if n_levels > profile.levels:  # the extension draws from its own stream
            # drawn level by level (rows), so a deeper book keeps the shallower one's levels
            deeper = np.random.default_rng([*seed, 1]).uniform(
                -AMOUNT_JITTER, AMOUNT_JITTER, size=(n_levels - profile.levels, 2)
            )
            jitter = np.concatenate([jitter, deeper.T], axis=1)
        distances, notionals = self._profile_ladder(n_levels)
        return ladder(mid, distances, notionals, jitter, rules)
