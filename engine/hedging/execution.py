"""From a hedge to child orders on the books of now: the router's plan, pure.

The router holds the latest snapshot of every hedge venue (book, balances,
fee, health, market specs). Everything it decides from them lives here, so the
actor, a test and a benchmark decide the same hedge the same way:

* `healthy_books` / `reference_mid`: the books a reference price is taken
  from, and that price (`engine.consolidated.consolidated_mid`);
* `venue_quotes`: what each venue offers for this hedge, or why it is left out;
* `plan_slice`: one TWAP slice planned by `engine.routing.plan_hedge`, its
  children named after the parent hedge, grouped per venue for sending;
* `slice_benchmarks`: the best single venue and the optimum split on the same
  books, priced while the orders travel (`engine.routing.quality`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from engine.config import RiskConfig
from engine.consolidated import consolidated_mid
from engine.routing.planner import HedgePlan, VenueQuote, plan_hedge
from engine.routing.quality import DecisionBenchmarks, decision_benchmarks
from engine.routing.reasons import Reason, ReasonKind
from engine.routing.slicing import HedgeSlice
from engine.types import BookSnapshot, ChildOrder, HedgeIntent, MarketSpec, Side, split_symbol


class VenueView(Protocol):
    """What the router knows about one hedge venue (the venue actor's snapshot)."""

    @property
    def venue(self) -> str: ...
    @property
    def healthy(self) -> bool: ...
    @property
    def reason(self) -> str: ...
    @property
    def books(self) -> Mapping[str, BookSnapshot]: ...
    @property
    def balances(self) -> Mapping[str, Decimal]: ...
    @property
    def taker_fee(self) -> float: ...
    @property
    def specs(self) -> Mapping[str, MarketSpec]: ...


@dataclass(frozen=True, slots=True)
class VenueState:
    """A `VenueView` from known values: what a replay or a test shows the desk."""

    venue: str
    healthy: bool
    reason: str
    books: Mapping[str, BookSnapshot]
    balances: Mapping[str, Decimal]
    taker_fee: float
    specs: Mapping[str, MarketSpec]


def healthy_books(views: Mapping[str, VenueView], symbol: str) -> dict[str, BookSnapshot]:
    """`symbol`'s book on every healthy venue that has one, by venue."""
    out = {}
    for venue, view in views.items():
        book = view.books.get(symbol)
        if view.healthy and book is not None:
            out[venue] = book
    return out


def fresh_books(
    views: Mapping[str, VenueView], symbol: str, now_ns: int, max_age_s: float
) -> dict[str, BookSnapshot]:
    """The healthy venues' books of `symbol` no older than `max_age_s` at `now_ns`."""
    max_age_ns = max_age_s * 1e9
    return {v: b for v, b in healthy_books(views, symbol).items() if now_ns - b.ts_ns <= max_age_ns}


def old_streamed_books(
    views: Mapping[str, VenueView], symbol: str, now_ns: int, max_age_ms: float
) -> dict[str, str]:
    """Venue -> why it is left out: its stream is up (`stream_up`) and its `symbol` book
    is older than `max_age_ms` (a stalled or resyncing stream), so no hedge is planned on
    it. The reason names a stale book, as the planner's own staleness check does."""
    out: dict[str, str] = {}
    for venue, view in views.items():
        book = view.books.get(symbol)
        if not getattr(view, "stream_up", False) or book is None:  # polled: max_book_age_s
            continue
        age_ms = (now_ns - book.ts_ns) / 1e6
        if age_ms > max_age_ms:
            out[venue] = Reason(
                f"stale book: {venue} {age_ms:.0f} ms > max_book_age_ms {max_age_ms:g}",
                ReasonKind.STALE_BOOK,
            )
    return out


def books_not_young(
    views: Mapping[str, VenueView], symbols: Iterable[str], now_ns: int, max_age_ms: float
) -> dict[str, list[str]]:
    """Venue -> the symbols whose copy a hedge could not be planned on at once: on a venue
    that streams books (its snapshot carries a stream status), the stream not up yet, no
    book, or one `old_streamed_books` leaves out. Empty: every hedge can be planned
    without waiting for a book. Polled venues are not counted (`max_book_age_s` is theirs)."""
    streaming = {v: view for v, view in views.items() if getattr(view, "stream", None)}
    out: dict[str, list[str]] = {}
    for symbol in symbols:
        stale = old_streamed_books(streaming, symbol, now_ns, max_age_ms)
        for venue, view in streaming.items():
            up = getattr(view, "stream_up", False)
            if not up or symbol not in view.books or venue in stale:
                out.setdefault(venue, []).append(symbol)
    return out


# a streamed book asked for again must be this much younger than max_book_age_ms, so it
# still is by the time the answer (a Ray call, ~1 ms; tens under load) is planned on
ANSWER_MARGIN_MS = 20.0


def asked_max_age_ns(max_book_age_ms: float) -> int:
    """How old a streamed book asked for again at a hedge may be, ns: `max_book_age_ms`
    less the answer's way back (`ANSWER_MARGIN_MS`)."""
    return int(max(max_book_age_ms - ANSWER_MARGIN_MS, 0.0) * 1e6)


def reference_mid(
    views: Mapping[str, VenueView], symbol: str, now_ns: int, max_age_s: float
) -> tuple[float, int] | None:
    """(consolidated mid, oldest book's ts) of `symbol` over the healthy venues."""
    return consolidated_mid(healthy_books(views, symbol).values(), now_ns, max_age_s * 1e9)


def venue_quotes(
    views: Iterable[VenueView],
    intent: HedgeIntent,
    left_out: Mapping[str, str] | None = None,
) -> tuple[list[VenueQuote], dict[str, str]]:
    """What each venue offers for `intent` (book, fee, grid, what its balance can pay),
    and the venues left out with the reason (`left_out`: the caller's, e.g. a streamed
    book too old to plan on, kept as given)."""
    base, quote = split_symbol(intent.symbol)
    quotes: list[VenueQuote] = []
    excluded: dict[str, str] = dict(left_out or {})
    for view in views:
        book = view.books.get(intent.symbol)
        spec = view.specs.get(intent.symbol)
        if view.venue in excluded:
            continue
        if not view.healthy:
            excluded[view.venue] = f"unhealthy: {view.reason}"
        elif spec is None:
            excluded[view.venue] = f"unknown symbol {intent.symbol}"
        elif book is None:
            excluded[view.venue] = f"no {intent.symbol} book yet"
        else:
            held = view.balances.get(quote if intent.side is Side.BUY else base, Decimal(0))
            quotes.append(VenueQuote(view.venue, book, view.taker_fee, spec, float(held)))
    return quotes, excluded


@dataclass(frozen=True, slots=True)
class SlicePlan:
    """One slice planned: the plan, its children (carrying the parent's hedge id), by
    venue in send order, and the quotes it was decided on."""

    plan: HedgePlan
    children: tuple[ChildOrder, ...]
    quotes: tuple[VenueQuote, ...]

    @property
    def by_venue(self) -> dict[str, list[ChildOrder]]:
        out: dict[str, list[ChildOrder]] = {}
        for child in self.children:
            out.setdefault(child.venue, []).append(child)
        return out


def plan_slice(
    parent: HedgeIntent,
    piece: HedgeSlice,
    views: Iterable[VenueView],
    risk: RiskConfig,
    now_ns: int,
    left_out: Mapping[str, str] | None = None,
) -> SlicePlan:
    """Plan one slice of `parent` on the books of `now_ns`, without the venues in
    `left_out` (venue -> why).

    Children carry the parent's hedge id (executions and the ledger book the
    parent); their client ids come from the slice's id, so slices never collide.
    """
    views = list(views)
    quotes, excluded = venue_quotes(views, piece.intent, left_out)
    # a venue left out on a stale book still has its grid: the planner tells dust (no
    # venue could take it) from a shortfall a left-out venue could have taken by it;
    # it plans on none of these quotes, and the benchmarks never see them
    set_aside, _ = venue_quotes([v for v in views if v.venue in (left_out or {})], piece.intent)
    plan = plan_hedge(piece.intent, [*quotes, *set_aside], risk, now_ns, excluded=excluded)
    children = tuple(dataclasses.replace(c, hedge_id=parent.hedge_id) for c in plan.children)
    return SlicePlan(plan, children, tuple(quotes))


def wants_stale_venue(
    planned: SlicePlan,
    left_out_stale: Mapping[str, str],
    views: Mapping[str, VenueView] | None = None,
) -> bool:
    """Whether `planned` leaves part of its slice unplaced that a venue left out on a
    stale streamed book (`old_streamed_books`) could take: the hedge is worth holding
    for that book rather than skipping the rest. A residual below that venue's lot,
    minimum amount or minimum notional (`views`' specs) is dust no venue can place:
    holding for it had delayed hedges by up to `stale_book_hold_ms` for nothing."""
    residual = planned.plan.residual
    if not left_out_stale or residual <= 0:
        return False
    if views is None:
        return True
    symbol = planned.plan.intent.symbol
    return any(_could_place(views.get(v), symbol, residual) for v in left_out_stale)


def _could_place(view: VenueView | None, symbol: str, amount: float) -> bool:
    if view is None or (spec := view.specs.get(symbol)) is None:  # grid unknown: it might
        return True
    book = view.books.get(symbol)
    return spec.takes(amount, book.mid if book is not None else None)


def slice_benchmarks(
    intent: HedgeIntent, quotes: Iterable[VenueQuote], now_ns: int, max_book_age_s: float
) -> DecisionBenchmarks:
    """Best single venue and optimum split for the slice, on the fresh books it saw."""
    max_age_ns = max_book_age_s * 1e9
    fresh = [
        q
        for q in quotes
        if q.book.symbol == intent.symbol
        and now_ns - q.book.ts_ns <= max_age_ns
        and q.book.mid is not None
    ]
    return decision_benchmarks(
        intent.side,
        intent.amount,
        {q.venue: q.book.as_ccxt() for q in fresh},
        {q.venue: q.taker_fee for q in fresh},
        {q.venue: max(0.0, q.available) for q in fresh if q.available is not None},
    )
