"""The hedge venues as the exact backtest models them: profile books, all-in walk, netting.

The simulated external venues (`engine.sim.books`) lay their books out from a
profile around the reference price: level i sits `half_spread_bps + i *
level_spacing_bps` from the venue's mid (`offset_bps` off the reference) and
holds `level_notional_quote * depth_growth**i`. The backtest uses that profile
without the per-refresh noise and jitter, so it has depth (a big hedge walks
the book) and each venue's taker fee, but no latency: a hedge fills at once.

`profile_external` is what the quoter prices its levels against (the same
`ExternalBook` the live router hands a MarketActor); `walk_all_in` is how a
hedge fills: across the venues best all-in price first, as the router's split
would send it. `NettingPool` is the hybrid mode's wait: fills net out until
their net is worth `hybrid_threshold_quote` or the oldest is `hybrid_max_age_s`
old (the rule of `engine.hedging.hybrid.hybrid_trigger`).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import VenueConfig
from engine.quoting import ExternalBook
from engine.types import BookSnapshot, Side


def profile_book(venue: VenueConfig, symbol: str, reference_mid: float, ts_ns: int) -> BookSnapshot:
    """The venue's book profile around `reference_mid`, without noise or jitter."""
    p = venue.book
    mid = reference_mid * (1.0 + p.offset_bps / 1e4)
    bids, asks = [], []
    for i in range(p.levels):
        distance = (p.half_spread_bps + i * p.level_spacing_bps) / 1e4
        notional = p.level_notional_quote * p.depth_growth**i
        bid, ask = mid * (1.0 - distance), mid * (1.0 + distance)
        if bid > 0:
            bids.append((bid, notional / bid))
        asks.append((ask, notional / ask))
    return BookSnapshot(venue.id, symbol, ts_ns, tuple(bids), tuple(asks))


def profile_external(
    venues: list[VenueConfig], symbol: str, reference_mid: float, ts_ns: int
) -> ExternalBook | None:
    """The hedge venues' profile books as the quoter sees the external market."""
    if not venues:
        return None
    books = tuple((profile_book(v, symbol, reference_mid, ts_ns), v.taker_fee) for v in venues)
    bids = tuple(sorted((lvl for b, _ in books for lvl in b.bids), reverse=True))
    asks = tuple(sorted(lvl for b, _ in books for lvl in b.asks))
    merged = BookSnapshot("consolidated", symbol, ts_ns, bids, asks)
    return ExternalBook(
        merged,
        base_available=float("inf"),
        quote_available=float("inf"),
        taker_fee=max(f for _, f in books),
        venue_books=books,
    )


@dataclass(frozen=True, slots=True)
class VenueFill:
    """What one venue filled of a hedge: `amount` base for `cost` quote (before `fee`)."""

    venue: str
    amount: float
    cost: float
    fee: float

    @property
    def price(self) -> float:
        return self.cost / self.amount


def walk_all_in(external: ExternalBook, side: Side, amount: float) -> list[VenueFill]:
    """Fill `amount` on `side` across the venues, best all-in price first; one entry per venue
    used. A hedge bigger than every venue's book fills what the books hold."""
    sell = side is Side.SELL
    levels: list[tuple[float, float, float, str, float]] = []  # all-in, price, amount, venue, fee
    for book, fee in external.venue_books:
        factor = 1.0 - fee if sell else 1.0 + fee
        for price, size in book.bids if sell else book.asks:
            levels.append((price * factor, price, size, book.venue, fee))
    levels.sort(key=lambda lv: lv[0], reverse=sell)
    left = amount
    by_venue: dict[str, list[float]] = {}
    for _, price, size, venue, fee in levels:
        if left <= amount * 1e-12:
            break
        take = min(size, left)
        left -= take
        acc = by_venue.setdefault(venue, [0.0, 0.0, 0.0])
        acc[0] += take
        acc[1] += take * price
        acc[2] += take * price * fee
    return [VenueFill(v, a, c, f) for v, (a, c, f) in by_venue.items() if a > 0]


@dataclass
class NettingPool:
    """One market's fills waiting to net out (hybrid mode): their net base and oldest time."""

    net_base: float = 0.0
    oldest_ns: int | None = None
    first_fill_id: str | None = None

    def add(self, signed_base: float, ts_ns: int, fill_id: str) -> None:
        if self.oldest_ns is None:
            self.oldest_ns, self.first_fill_id = ts_ns, fill_id
        self.net_base += signed_base

    def due(self, mid: float, now_ns: int, threshold_quote: float, max_age_s: float) -> bool:
        """Hedge now: the net is worth `threshold_quote`, or the oldest fill is `max_age_s` old."""
        if self.oldest_ns is None or self.net_base == 0:
            return False
        if abs(self.net_base) * mid >= threshold_quote:
            return True
        return (now_ns - self.oldest_ns) / 1e9 >= max_age_s

    def clear(self) -> None:
        self.net_base, self.oldest_ns, self.first_fill_id = 0.0, None, None
