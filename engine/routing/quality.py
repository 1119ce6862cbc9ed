"""Execution quality of a hedge: what it achieved against the alternatives it had.

At decision time the router knows every venue's book and fee, so it can price
two benchmarks for the same amount: the best single venue (what a desk sending
one taker order to its favourite venue would pay) and the optimum split
(`best_split` on the full books: the best any router could do on those books).
After execution, the achieved all-in price is compared with both. The saving
against the best single venue is reported in bps of that venue's all-in
price, positive when the hedge did better (an implementation-shortfall style
measure, Perold 1988, "The implementation shortfall: paper versus reality").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.routing.split import all_in_total, best_split
from engine.routing.walk import taking_side
from engine.types import Execution, Side, split_symbol

_FILL_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class DecisionBenchmarks:
    """All-in prices per base unit (fees included) for the whole amount, at decision time.

    `best_single_venue` is None when no single venue could fill the amount on
    its own (depth and balance); `optimum_all_in_price` is None when the books
    together cannot fill it either.
    """

    amount: float
    best_single_venue: str | None
    best_single_all_in_price: float | None
    optimum_all_in_price: float | None


def decision_benchmarks(
    side: Side | str,
    amount: float,
    books: Mapping[str, Mapping],
    taker_fees: Mapping[str, float],
    balances: Mapping[str, float] | None = None,
) -> DecisionBenchmarks:
    """Price `amount` on the best single venue and on the optimum split of `books`."""
    hedge_side = Side(side)
    if amount <= 0 or not books:
        return DecisionBenchmarks(amount, None, None, None)
    books = {v: _needed_levels(b, hedge_side, amount) for v, b in books.items()}
    caps = dict(balances or {})
    best_venue, best_price = None, None
    for venue in sorted(books):
        alone = best_split(
            hedge_side.value,
            amount,
            {venue: dict(books[venue])},
            {venue: taker_fees[venue]},
            {venue: caps[venue]} if venue in caps else None,
        )
        if alone.get(venue, 0.0) < amount * (1 - _FILL_TOLERANCE):
            continue
        price = all_in_total(hedge_side, alone, books, taker_fees) / amount
        if best_price is None or _better(hedge_side, price, best_price):
            best_venue, best_price = venue, price
    optimum = best_split(
        hedge_side.value,
        amount,
        {v: dict(b) for v, b in books.items()},
        dict(taker_fees),
        {v: c for v, c in caps.items() if v in books} or None,
    )
    optimum_price = None
    if sum(optimum.values()) >= amount * (1 - _FILL_TOLERANCE):
        optimum_price = all_in_total(hedge_side, optimum, books, taker_fees) / amount
    return DecisionBenchmarks(amount, best_venue, best_price, optimum_price)


def _needed_levels(book: Mapping, side: Side, amount: float) -> dict[str, list[list[float]]]:
    """The taking side of `book`, best first, only as deep as `amount` can reach."""
    levels: list[list[float]] = []
    depth = 0.0
    for price, size in taking_side(book, side):
        if depth >= amount:
            break
        levels.append([price, size])
        depth += size
    return {"asks" if side is Side.BUY else "bids": levels}


def achieved_all_in_price(side: Side | str, executions: Sequence[Execution]) -> float | None:
    """Quote paid (buy) or kept (sell) per base unit over `executions`, fees included.

    A fee in the base asset is valued at that execution's price; None when
    nothing executed.
    """
    hedge_side = Side(side)
    amount = sum((e.amount for e in executions), Decimal(0))
    if amount <= 0:
        return None
    total = Decimal(0)
    for e in executions:
        base, _ = split_symbol(e.symbol)
        fee = e.fee * e.price if e.fee_currency == base else e.fee
        total += e.cost + fee if hedge_side is Side.BUY else e.cost - fee
    return float(total / amount)


# saving_bps is rounded to this many decimals of a bp: the achieved price is summed in
# Decimal and the benchmark walked in float, so equal prices differ in the last digits
# (~1e-12 bps), which is neither a saving nor a cost; 1e-6 bps is far below any tick
SAVING_BPS_DECIMALS = 6


def saving_bps(side: Side | str, achieved: float | None, reference: float | None) -> float | None:
    """How much better `achieved` is than `reference`, in bps of `reference` (> 0: better),
    to `SAVING_BPS_DECIMALS` decimals (an exact tie is 0.0, not a float residue)."""
    if achieved is None or reference is None or reference <= 0:
        return None
    sign = 1.0 if Side(side) is Side.BUY else -1.0
    return round(sign * (reference - achieved) / reference * 1e4, SAVING_BPS_DECIMALS) + 0.0


def _better(side: Side, price: float, than: float) -> bool:
    return price < than if side is Side.BUY else price > than
