"""The firm price of an RFQ: the formula walked for the size, a spread and an inventory skew.

For a client buying `size` (the broker sells), every formula term is priced
at the volume-weighted average of walking its sources' asks for the amount
the hedge would buy there (bids for a client sell); a dividing term is walked
on the other side, since its asset flows the other way. Term amounts follow
the formula's units: the first term trades `size`, a multiplying term
`size * prefix_mid`, a dividing term `size * prefix_mid / term_mid`, where
`prefix_mid` is the formula's value at mids up to that term. Then::

    client buy:  price = walked * (1 + spread_pct / 100) * (1 - skew_bps / 1e4)
    client sell: price = walked * (1 - spread_pct / 100) * (1 - skew_bps / 1e4)
    skew_bps = skew_bps_at_limit * clamp((inventory - target) / limit, -1, 1)

so a long inventory lowers both prices (sells are cheaper to take, buys pay
less), as the ladder policy's skew does. The price is rounded to the tick in
the broker's favour (up for a client buy, down for a sell).

Fair-price check: for each term, the mid of every source book, and the mid
of every fresh healthy venue's book merged (where the hedge runs), must lie
within `max_deviation_bps` of each other (max/min - 1), or nothing is quoted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from engine.broker.errors import NotQuoting
from engine.broker.formula import PriceFormula
from engine.consolidated import consolidate_books
from engine.types import BookSnapshot, Side

# venue id -> symbol -> book, of the healthy venues only
VenueBooks = Mapping[str, Mapping[str, BookSnapshot]]


@dataclass(frozen=True, slots=True)
class FormulaPrice:
    """The formula's value at mids and walked for the size, and how far its sources disagree."""

    mid_price: float
    walked_price: float
    deviation_bps: float
    source_mids: dict[str, float]


def walk_vwap(levels: Sequence[tuple[float, float]], amount: float, *, what: str) -> float:
    """Average price of taking `amount` from `levels` (best first); raise if the book is short."""
    if amount <= 0:
        raise ValueError(f"{what}: amount {amount} must be positive")
    left, cost = amount, 0.0
    for price, size in levels:
        take = min(size, left)
        cost += take * price
        left -= take
        if left <= amount * 1e-12:
            return cost / amount
    raise NotQuoting(
        f"{what}: the book holds {amount - left:.8g} of the {amount:.8g} needed",
        code="insufficient_depth",
    )


def _book_mid(book: BookSnapshot, what: str) -> float:
    mid = book.mid
    if mid is None or not mid > 0:
        raise NotQuoting(f"{what}: the book is one-sided or empty", code="no_books")
    return mid


def _fresh(book: BookSnapshot, now: int, max_age_ns: float) -> bool:
    return now - book.ts_ns <= max_age_ns


def _term_books(
    sources: tuple[str, ...], symbol: str, books: VenueBooks, now: int, max_age_ns: float
) -> dict[str, BookSnapshot]:
    if sources == ("*",):
        candidates = {v: b[symbol] for v, b in books.items() if symbol in b}
        fresh = {v: b for v, b in candidates.items() if _fresh(b, now, max_age_ns)}
        if not fresh:
            if candidates:
                ages = ", ".join(
                    f"{v} {(now - b.ts_ns) / 1e9:.1f}s" for v, b in sorted(candidates.items())
                )
                raise NotQuoting(
                    f"every book of {symbol} is stale ({ages}; max {max_age_ns / 1e9:g}s)",
                    code="stale_books",
                )
            raise NotQuoting(f"no healthy venue has a book of {symbol}", code="no_books")
        return fresh
    out = {}
    for venue in sources:
        book = books.get(venue, {}).get(symbol)
        if book is None:
            raise NotQuoting(
                f"{venue}:{symbol}: no book (venue unhealthy or symbol not polled)",
                code="no_books",
            )
        if not _fresh(book, now, max_age_ns):
            raise NotQuoting(
                f"{venue}:{symbol}: book is {(now - book.ts_ns) / 1e9:.1f}s old "
                f"(max {max_age_ns / 1e9:g}s)",
                code="stale_books",
            )
        out[venue] = book
    return out


def price_formula(
    formula: PriceFormula,
    books: VenueBooks,
    side: Side,
    size: float,
    now: int,
    *,
    max_book_age_s: float,
    max_deviation_bps: float,
) -> FormulaPrice:
    """Walk the formula for a client trading `size` on `side`; refuse (NotQuoting) when it cannot.

    `books` are the healthy venues' latest books; a book older than
    `max_book_age_s` at `now` is stale.
    """
    max_age_ns = max_book_age_s * 1e9
    mid_value = walked_value = 1.0
    source_mids: dict[str, float] = {}
    deviation = 0.0
    for i, term in enumerate(formula.terms):
        if term.constant is not None:
            factor = 1 / term.constant if term.divide else term.constant
            mid_value *= factor
            walked_value *= factor
            continue
        assert term.symbol is not None
        symbol = term.symbol
        term_books = _term_books(term.sources, symbol, books, now, max_age_ns)
        mids = {f"{v}:{symbol}": _book_mid(b, f"{v}:{symbol}") for v, b in term_books.items()}
        hedge_books = _term_books(("*",), symbol, books, now, max_age_ns)
        hedge_mid = _book_mid(consolidate_books(symbol, hedge_books.values()), f"*:{symbol}")
        checked = {**mids, f"*:{symbol}": hedge_mid}
        low = min(checked, key=checked.__getitem__)
        high = max(checked, key=checked.__getitem__)
        term_deviation = (checked[high] / checked[low] - 1) * 1e4
        if term_deviation > max_deviation_bps:
            raise NotQuoting(
                f"fair-price check: {high} {checked[high]:.8g} and {low} {checked[low]:.8g} "
                f"differ by {term_deviation:.1f} bps (max {max_deviation_bps:g})",
                code="fair_price_deviation",
                deviation_bps=round(term_deviation, 3),
            )
        deviation = max(deviation, term_deviation)
        source_mids.update(checked)
        book = consolidate_books(symbol, term_books.values())
        term_mid = _book_mid(book, f"{','.join(term.sources)}:{symbol}")
        if i == 0:
            amount = size
        elif term.divide:
            amount = size * mid_value / term_mid
        else:
            amount = size * mid_value
        buys_term = (side is Side.BUY) != term.divide  # the hedge buys this term's base
        vwap = walk_vwap(
            book.asks if buys_term else book.bids,
            amount,
            what=f"{','.join(term.sources)}:{symbol} {'asks' if buys_term else 'bids'}",
        )
        if term.divide:
            mid_value /= term_mid
            walked_value /= vwap
        else:
            mid_value *= term_mid
            walked_value *= vwap
    return FormulaPrice(mid_value, walked_value, deviation, source_mids)


def inventory_skew_bps(
    inventory: float, target: float, limit: float, skew_bps_at_limit: float
) -> float:
    """Positive when long: both prices move down by this many bps."""
    if not limit > 0:
        raise ValueError(f"inventory limit {limit} must be positive")
    share = max(-1.0, min(1.0, (inventory - target) / limit))
    return skew_bps_at_limit * share


def firm_price(
    walked_price: float, side: Side, *, spread_pct: float, skew_bps: float, tick: Decimal
) -> Decimal:
    """The price offered to a client on `side`, on the tick grid, rounded in the broker's favour."""
    if not (walked_price > 0 and math.isfinite(walked_price)):
        raise NotQuoting(f"walked price {walked_price} is not a positive price", code="no_books")
    spread = spread_pct / 100
    raw = walked_price * (1 + spread if side is Side.BUY else 1 - spread) * (1 - skew_bps / 1e4)
    if raw <= 0:
        raise NotQuoting(f"spread {spread_pct}% leaves no positive price", code="bad_price")
    steps = (Decimal(repr(raw)) / tick).to_integral_value(
        ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
    )
    price = steps * tick
    if price <= 0:
        raise NotQuoting(f"price {raw} rounds to zero on tick {tick}", code="bad_price")
    return price
