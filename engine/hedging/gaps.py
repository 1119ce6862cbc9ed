"""Open gaps: how much of an asset's exposure is still open once known hedges land.

Two hedges for the same asset may be decided from the same view of exposure
(a rebalance read before a hybrid hedge was booked, or the other way round).
Each is cut to the gap still open (`cap_to_open_gap`), counting the hedges
this router has in flight that the ledger does not yet hold as pending
(`InflightHedges`), so netting elsewhere is never hedged twice.
"""

from __future__ import annotations

from decimal import Decimal

from engine.types import HedgeIntent, Side, split_symbol


def cap_to_open_gap(side: Side, amount: float, gap: Decimal) -> float:
    """The part of a hedge on `side` that the asset's open gap still needs.

    `gap` is the asset's exposure once every known hedge lands (> 0 long). A
    sell closes a long gap, a buy a short one; a hedge against a gap that is
    already closed (netting elsewhere got there first) or on the wrong side
    would over-hedge, so it shrinks to what the gap leaves, possibly zero.
    """
    need = gap if side is Side.SELL else -gap
    if need <= 0:
        return 0.0
    return float(min(Decimal(repr(amount)), need))


def base_delta(intent: HedgeIntent) -> Decimal:
    """What the hedge adds to its base asset once it lands (> 0 for a buy)."""
    return intent.side.sign * Decimal(repr(intent.amount))


class InflightHedges:
    """Base per asset that this router's in-flight, not-yet-booked hedges will add.

    Mirror hedges are not counted: the ledger already holds them as pending.
    A hedge is added when it starts and removed once the ledger has booked it.
    Each hedge's delta is kept on its own and summed when read, so removing a
    hedge leaves exactly what the others add (a running sum would keep the
    rounding of every addition).
    """

    def __init__(self) -> None:
        self._by_asset: dict[str, list[Decimal]] = {}

    def add(self, intent: HedgeIntent) -> None:
        base = split_symbol(intent.symbol)[0]
        self._by_asset.setdefault(base, []).append(base_delta(intent))

    def remove(self, intent: HedgeIntent) -> None:
        base = split_symbol(intent.symbol)[0]
        deltas = self._by_asset.get(base, [])
        deltas.remove(base_delta(intent))  # ValueError: it was never added
        if not deltas:
            del self._by_asset[base]

    def of(self, asset: str) -> Decimal:
        return sum(self._by_asset.get(asset, ()), Decimal(0))

    def open_gap(self, asset: str, seen_gap: Decimal) -> Decimal:
        """The gap once this router's in-flight hedges land too."""
        return seen_gap + self.of(asset)
