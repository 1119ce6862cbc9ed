"""Hedge-aware pricing: what hedging each quoted level would cost now, and the price floor it sets.

This is the cross-exchange market-making rule (quote on the home venue only
where the fill can be laid off on the external venues at a profit; see e.g.
Hummingbot's "cross-exchange market making" strategy, whose `min_profitability`
is `min_profit_bps` here) applied to a whole ladder. A home bid that fills is
hedged by selling on the external venues; taking liquidity there costs the walk
of the consolidated book for the size (best all-in price first, each venue's
own taker fee), plus a slippage buffer for the book moving before the IOC
lands. Levels fill best first, so level i of a side is costed as the hedge of
the cumulative size of levels 0..i (a taker sweeping to it).

In bps of the reference mid, for a bid level at `offset_bps` below mid::

    hedge_cost_bps = (mid - all_in_sell_vwap(size)) / mid * 1e4 + hedge_slippage_bps
    edge_bps       = offset_bps - hedge_cost_bps            (what the round trip keeps)

and symmetrically for asks. `priority: profit` moves every level out to
`hedge_cost_bps + min_profit_bps` (never in); `priority: sla` leaves the ladder
where the target spread puts it and the shortfall is the recorded subsidy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from engine.config import MarketConfig, QuotePriority
from engine.quoting.base import ExternalBook
from engine.routing.walk import walk_book
from engine.types import QuoteLevel, Side

AllInLevels = list[tuple[float, float]]


def all_in_levels(external: ExternalBook, hedge_side: Side) -> AllInLevels:
    """The levels a hedge on `hedge_side` takes, all venues merged by all-in price, best first.

    A sell hedge takes bids and keeps `price * (1 - fee)`; a buy takes asks and
    pays `price * (1 + fee)`. Without per-venue books, the consolidated book with
    the highest taker fee among the venues stands in (a bound, never optimistic).
    """
    venues = external.venue_books or ((external.book, external.taker_fee),)
    sell = hedge_side is Side.SELL
    out: AllInLevels = []
    for book, fee in venues:
        factor = 1.0 - fee if sell else 1.0 + fee
        out.extend((p * factor, a) for p, a in (book.bids if sell else book.asks) if a > 0)
    out.sort(key=lambda level: level[0], reverse=sell)
    return out


def hedge_cost_bps(levels: AllInLevels, hedge_side: Side, amount: float, mid: float) -> float:
    """All-in cost in bps of `mid` of taking `amount` from `levels` (`all_in_levels`);
    infinite when the venues cannot absorb it."""
    walk = walk_book(levels, amount)
    if amount <= 0:
        return 0.0 if not levels else _cost_bps(levels[0][0], hedge_side, mid)
    if walk.filled < amount * (1 - 1e-9):
        return math.inf
    return _cost_bps(walk.avg_price, hedge_side, mid)


def _cost_bps(all_in_price: float, hedge_side: Side, mid: float) -> float:
    if hedge_side is Side.SELL:
        return (mid - all_in_price) / mid * 1e4
    return (all_in_price - mid) / mid * 1e4


def level_hedge_costs(
    levels: Sequence[QuoteLevel], mid: float, external: ExternalBook, slippage_bps: float
) -> list[float]:
    """Each level's all-in hedge cost in bps of `mid` (cumulative size per side, in the
    order the levels are given: best first per side)."""
    books = {side.opposite: all_in_levels(external, side.opposite) for side in Side}
    cumulative = {Side.BUY: 0.0, Side.SELL: 0.0}
    costs: list[float] = []
    for q in levels:
        cumulative[q.side] += q.amount
        hedge = q.side.opposite
        costs.append(hedge_cost_bps(books[hedge], hedge, cumulative[q.side], mid) + slippage_bps)
    return costs


def edge_bps(level: QuoteLevel, mid: float) -> float:
    """How far a level sits from mid on its own side, in bps (positive off mid)."""
    return (
        (mid - level.price) / mid * 1e4
        if level.side is Side.BUY
        else (level.price - mid) / mid * 1e4
    )


def price_for_hedge(
    levels: Sequence[QuoteLevel], mid: float, external: ExternalBook | None, market: MarketConfig
) -> tuple[list[QuoteLevel], list[float | None]]:
    """(levels, their hedge costs in bps): under `priority: profit` each level moved out
    to at least `hedge cost + min_profit_bps` from mid, and a level no venue can hedge
    dropped; under `sla` the levels unchanged. Without an external book, unchanged and
    no costs."""
    if external is None or not levels:
        return list(levels), [None] * len(levels)
    costs = level_hedge_costs(levels, mid, external, market.hedge_slippage_bps)
    if market.priority != QuotePriority.PROFIT:
        return list(levels), [c if math.isfinite(c) else None for c in costs]
    out: list[QuoteLevel] = []
    kept: list[float | None] = []
    for q, cost in zip(levels, costs, strict=True):
        if not math.isfinite(cost):
            continue
        floor_bps = cost + market.min_profit_bps
        if edge_bps(q, mid) < floor_bps:
            sign = -1.0 if q.side is Side.BUY else 1.0
            q = replace(q, price=mid * (1.0 + sign * floor_bps / 1e4))
        out.append(q)
        kept.append(cost)
    return out, kept
