"""Liquidity of the simulated venue's generated books: what takers consumed, and the walk.

Split out of `engine/sim/exchange.py` (issue 12). A taker walks the generated book of
the request's refresh bucket; what it consumed stays consumed (per price level) until
the book's next refresh bucket, so two orders in one bucket cannot take the same level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from engine.config import SymbolRulesConfig
from engine.sim.books import MAX_LEVELS, BookGenerator, BookLevel, GeneratedBook
from engine.sim.exchange_accounts import Take
from engine.sim.ladder import on_grid
from engine.types import Side

_ZERO = Decimal(0)
_KEEP_BUCKETS = 4  # consumption of older books is forgotten: they never come back


@dataclass(slots=True)
class _BucketUse:
    """Liquidity takers consumed from one refresh bucket's book, per side and price."""

    by_side: dict[Side, dict[Decimal, Decimal]] = field(default_factory=dict)
    changes: int = 0


def capped(plan: list[Take], share: float, lot: Decimal) -> list[Take]:
    """The first fills of `plan` up to `share` of its quantity, on the lot grid."""
    total = sum((t.qty for t in plan), _ZERO)
    left = on_grid(total * Decimal(repr(share)), lot, ROUND_FLOOR)
    out = []
    for take in plan:
        if left <= 0:
            break
        qty = min(take.qty, left)
        out.append(Take(take.price, qty))
        left -= qty
    return out


class Liquidity:
    """Per symbol and refresh bucket, what takers consumed of the generated book."""

    def __init__(self, books: BookGenerator, symbols: Sequence[str]) -> None:
        self._books = books
        # symbol -> refresh bucket -> what takers consumed in that bucket's book
        self._consumed: dict[str, dict[int, _BucketUse]] = {s: {} for s in symbols}

    def touched(self, book: GeneratedBook) -> bool:
        """Whether takers consumed any of `book` (else its levels are all still there)."""
        use = self._consumed[book.symbol].get(book.bucket)
        return use is not None and use.changes > 0

    def update_id(self, book: GeneratedBook) -> int:
        """A book update id: grows with every refresh and every consumption."""
        use = self._consumed[book.symbol].get(book.bucket)
        return book.bucket * 1_000_000 + (use.changes if use else 0)

    def plan(
        self,
        book: GeneratedBook,
        side: Side,
        limit: Decimal | None,
        qty: Decimal | None,
        budget: Decimal | None,
        rules: SymbolRulesConfig,
    ) -> tuple[list[Take], bool]:
        """Walk the book for a taker; return the fills and whether liquidity ran out.

        A walk that runs past the profile's levels continues into the deeper ladder.
        """
        if book.levels < MAX_LEVELS:
            takes, exhausted = self._plan_on(book, side, limit, qty, budget, rules)
            if not exhausted:
                return takes, False
            book = self._books.deepest(book)
        return self._plan_on(book, side, limit, qty, budget, rules)

    def _plan_on(
        self,
        book: GeneratedBook,
        side: Side,
        limit: Decimal | None,
        qty: Decimal | None,
        budget: Decimal | None,
        rules: SymbolRulesConfig,
    ) -> tuple[list[Take], bool]:
        levels = self.remaining(book, side, book.asks if side is Side.BUY else book.bids)
        takes: list[Take] = []
        left_qty, left_budget = qty, budget
        for level in levels:
            if limit is not None and (
                level.price > limit if side is Side.BUY else level.price < limit
            ):
                return takes, False
            if left_budget is not None:
                affordable = on_grid(left_budget / level.price, rules.lot_size, ROUND_FLOOR)
                take = min(level.amount, affordable)
                if take <= 0:
                    return takes, False
                left_budget -= take * level.price
            else:
                assert left_qty is not None
                take = min(level.amount, left_qty)
                left_qty -= take
            takes.append(Take(level.price, take))
            if left_qty == 0:
                return takes, False
        return takes, True

    def remaining(
        self, book: GeneratedBook, taker_side: Side, levels: tuple[BookLevel, ...]
    ) -> tuple[BookLevel, ...]:
        """`levels` less what takers on `taker_side` consumed in this bucket."""
        use = self._consumed[book.symbol].get(book.bucket)
        consumed = use.by_side.get(taker_side) if use else None
        if not consumed:
            return levels
        out = []
        for level in levels:
            left = level.amount - consumed.get(level.price, _ZERO)
            if left > 0:
                out.append(BookLevel(level.price, left))
        return tuple(out)

    def consume(self, book: GeneratedBook, taker_side: Side, price: Decimal, qty: Decimal) -> None:
        buckets = self._consumed[book.symbol]
        use = buckets.setdefault(book.bucket, _BucketUse())
        consumed = use.by_side.setdefault(taker_side, {})
        consumed[price] = consumed.get(price, _ZERO) + qty
        use.changes += 1
        for old in [b for b in buckets if b < book.bucket - _KEEP_BUCKETS]:
            del buckets[old]
