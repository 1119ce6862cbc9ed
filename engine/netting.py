"""Exposure per asset across all venues and markets, and the hedges that close it.

Netting first and hedging the net (rather than every fill on its own) trades
less and pays fewer fees and spreads. Hedges already on their way count as
*pending*, so exposure that an in-flight hedge is about to close is never
hedged a second time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.types import HedgeIntent, Side

_THRESHOLD_STEP = Decimal("1e-8")


@dataclass(frozen=True, slots=True)
class Exposure:
    """One asset's position against its target, in base units.

    `threshold` is how far `net + pending` may sit from `target` before a hedge
    is worth its fees; it is infinite when there is no price to size it with.
    """

    asset: str
    net: Decimal
    pending: Decimal
    target: Decimal
    threshold: Decimal

    @property
    def gap(self) -> Decimal:
        """What is still open once pending hedges land: > 0 long, < 0 short."""
        return self.net + self.pending - self.target


def exposures(
    positions: Mapping[str, Decimal],
    pending: Mapping[str, Decimal],
    *,
    quote_asset: str,
    mids: Mapping[str, float],
    threshold_quote: float,
    thresholds_base: Mapping[str, Decimal],
) -> list[Exposure]:
    """One exposure per non-quote asset in `positions` or `pending`, sorted by asset.

    `positions` is what trading changed since opening, `pending` the base delta
    unfinished hedges will bring. The threshold is `thresholds_base[asset]` when
    set, else `threshold_quote / mids[asset]` quantised to 1e-8 base.
    """
    assets = sorted((set(positions) | set(pending)) - {quote_asset})
    return [
        Exposure(
            asset=asset,
            net=positions.get(asset, Decimal(0)),
            pending=pending.get(asset, Decimal(0)),
            target=Decimal(0),
            threshold=_threshold(asset, mids, threshold_quote, thresholds_base),
        )
        for asset in assets
    ]


def _threshold(
    asset: str,
    mids: Mapping[str, float],
    threshold_quote: float,
    thresholds_base: Mapping[str, Decimal],
) -> Decimal:
    if asset in thresholds_base:
        return Decimal(thresholds_base[asset])
    if threshold_quote == 0:
        return Decimal(0)
    mid = mids.get(asset)
    if mid is None or not math.isfinite(mid) or mid <= 0:
        return Decimal("Infinity")  # no price: no basis to size a hedge, so none is sent
    return (Decimal(repr(float(threshold_quote))) / Decimal(repr(float(mid)))).quantize(
        _THRESHOLD_STEP
    )


def residual_intents(
    exposures: Sequence[Exposure], *, quote_asset: str, plan_id: str
) -> list[HedgeIntent]:
    """A rebalance hedge for every exposure whose gap exceeds its threshold.

    A long gap is sold, a short one bought, for the whole gap; the hedge id is
    derived from the plan id and the asset, so a retried plan reuses its ids.
    """
    intents = []
    for e in exposures:
        if e.asset == quote_asset or abs(e.gap) <= e.threshold:
            continue
        intents.append(
            HedgeIntent(
                hedge_id=f"{plan_id}-{e.asset}",
                symbol=f"{e.asset}/{quote_asset}",
                side=Side.SELL if e.gap > 0 else Side.BUY,
                amount=float(abs(e.gap)),
                source_fill_id=None,
                reason="rebalance",
            )
        )
    return intents
