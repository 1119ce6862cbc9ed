"""Put float quotes on a venue's price and amount grid, exactly, at the edge.

Bids round DOWN to the tick and asks UP, so rounding only ever widens the
spread and a ladder that did not cross before rounding cannot cross after.
Amounts round DOWN to the lot, so rounding never quotes more than the policy
asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from engine.types import MarketSpec, QuoteLevel, Side


def _exact(x: float | Decimal) -> Decimal:
    """A float as the decimal it prints as (shortest repr), a Decimal unchanged."""
    d = x if isinstance(x, Decimal) else Decimal(repr(x))
    if not d.is_finite():
        raise ValueError(f"cannot put {x!r} on a price or amount grid")
    return d


def _on_grid(x: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`x` rounded to a multiple of `step`, written with the step's decimals (no `1E+3`)."""
    places = Decimal(1).scaleb(min(int(step.as_tuple().exponent), 0))
    return ((x / step).to_integral_value(rounding=rounding) * step).quantize(places)


def round_quotes(
    levels: Sequence[QuoteLevel], spec: MarketSpec
) -> list[tuple[Side, Decimal, Decimal]]:
    """(side, price, amount) on the grid: bids best first, then asks best first.

    Levels that collapse onto one price are merged (their rounded sizes added);
    a level whose merged amount is below `min_amount`, whose notional is below
    `min_notional`, or whose price or amount rounds to zero is dropped.
    """
    merged: dict[tuple[Side, Decimal], Decimal] = {}
    for level in levels:
        rounding = ROUND_FLOOR if level.side is Side.BUY else ROUND_CEILING
        price = _on_grid(_exact(level.price), spec.tick_size, rounding)
        amount = _on_grid(_exact(level.amount), spec.lot_size, ROUND_FLOOR)
        if price <= 0 or amount <= 0:
            continue
        key = (level.side, price)
        merged[key] = merged.get(key, Decimal(0)) + amount
    kept = [
        (side, price, amount)
        for (side, price), amount in merged.items()
        if amount >= spec.min_amount and price * amount >= spec.min_notional
    ]
    bids = sorted((q for q in kept if q[0] is Side.BUY), key=lambda q: q[1], reverse=True)
    asks = sorted((q for q in kept if q[0] is Side.SELL), key=lambda q: q[1])
    return bids + asks
