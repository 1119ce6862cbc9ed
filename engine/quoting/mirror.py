"""Cross-venue market making: the external venues' book, shrunk and marked up, on the home book.

A home bid that is hit is hedged by selling on the external bids, and a home
ask by buying on the external asks. So each home side mirrors the external
side it hedges into, priced so the hedge still pays::

    markup_bps = taker_fee * 1e4 + mirror_slippage_bps + mirror_margin_bps
    bid price  = external bid * (1 - markup_bps / 1e4)
    ask price  = external ask * (1 + markup_bps / 1e4)

The external book is cut into `levels` buckets `level_spacing_bps` wide from
its touch; a bucket is quoted at its worst price (hedging all of it costs no
more) and with `mirror_depth_share` of its size. Sizes stop at what the hedge
venues can absorb (`mirror_balance_share` of the base to sell, of the quote
to spend) and at `order_notional_quote` per side. The MarketActor's requote
tolerance cancels and reprices when the external book moves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.config import MarketConfig
from engine.quoting.base import QuoteContext
from engine.types import QuoteLevel, Side


def _buckets(
    levels: Sequence[tuple[float, float]], side: Side, n: int, spacing_bps: float
) -> list[tuple[float, float]]:
    """(worst price, total size) of `n` buckets `spacing_bps` wide from the touch, best first."""
    if not levels:
        return []
    touch = levels[0][0]
    out: dict[int, tuple[float, float]] = {}
    for price, amount in levels:
        distance_bps = abs(price - touch) / touch * 1e4
        i = int(distance_bps // spacing_bps)
        if i >= n:
            break
        _, size = out.get(i, (price, 0.0))
        out[i] = (price, size + amount)
    return [out[i] for i in sorted(out)]


class MirrorPolicy:
    """`policy: mirror`: quote the consolidated external book, shrunk, with a covering markup."""

    def __init__(self, market: MarketConfig) -> None:
        self.market = market
        self.params = market.policy_params

    def markup_bps(self, taker_fee: float) -> float:
        """Taker fee + expected slippage + target margin, in bps."""
        return taker_fee * 1e4 + self.params.mirror_slippage_bps + self.params.mirror_margin_bps

    def desired_quotes(self, ctx: QuoteContext) -> list[QuoteLevel]:
        """No external book, no quotes: mirroring blind would quote what cannot be hedged."""
        if ctx.external is None:
            return []
        if not (ctx.mid > 0 and math.isfinite(ctx.mid)):
            raise ValueError(f"market {self.market.symbol}: mid {ctx.mid} must be positive")
        m, p, ext = self.market, self.params, ctx.external
        markup = self.markup_bps(ext.taker_fee) / 1e4
        out: list[QuoteLevel] = []
        for side, levels, budget_base in (
            (Side.BUY, ext.book.bids, ext.base_available * p.mirror_balance_share),
            (Side.SELL, ext.book.asks, ext.quote_available * p.mirror_balance_share / ctx.mid),
        ):
            budget_base = min(budget_base, m.order_notional_quote / ctx.mid)
            for price, size in _buckets(levels, side, m.levels, m.level_spacing_bps):
                amount = min(size * p.mirror_depth_share, budget_base)
                if amount <= 0:
                    break
                budget_base -= amount
                quoted = price * (1 - markup) if side is Side.BUY else price * (1 + markup)
                if quoted > 0:
                    out.append(QuoteLevel(side, quoted, amount))
        return out
