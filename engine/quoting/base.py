"""The quoting policy interface, the policy registry, and the requote rule.

A policy is a small swappable model behind one method (as hftbacktest does for
its queue, latency and fee models): given the market state it returns the
ladder it wants resting. Policies work in floats; `round_quotes` puts them on
the venue's grid at the edge.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.config import MarketConfig, PolicyName
from engine.quoting.calibration import IntensityFit
from engine.types import BookSnapshot, QuoteLevel, Side

# policy name (MarketConfig.policy) -> "module:Class"; the class takes the MarketConfig
POLICIES: dict[PolicyName, str] = {
    PolicyName.LADDER: "engine.quoting.ladder:LadderPolicy",
    PolicyName.AVELLANEDA_STOIKOV: "engine.quoting.avellaneda_stoikov:AvellanedaStoikovPolicy",
    PolicyName.GLFT: "engine.quoting.glft:GLFTPolicy",
    PolicyName.MIRROR: "engine.quoting.mirror:MirrorPolicy",
}

REQUOTE_SIZE_CHANGE = 0.10
"""A live level whose size differs from the desired one by more than this share is replaced."""


@dataclass(frozen=True, slots=True)
class ExternalBook:
    """The router's venues as one book, and what they can absorb when a fill is hedged.

    `base_available` can be sold and `quote_available` spent on the healthy
    venues; `taker_fee` is the highest taker fee rate among them. `venue_books`
    are the venues' own books with their taker fees, when known, so hedge-aware
    pricing walks each level at the fee of the venue that holds it.
    """

    book: BookSnapshot
    base_available: float
    quote_available: float
    taker_fee: float
    venue_books: tuple[tuple[BookSnapshot, float], ...] = ()


@dataclass(frozen=True, slots=True)
class QuoteContext:
    """What a policy sees at one decision.

    `inventory` is base units held minus `market.inventory_target`, so zero
    means "where we want to be". The optional inputs are filled by the
    MarketActor for the policies that use them: `elapsed_s` since quoting
    started, the online sigma (bps/sqrt(s)) and fill intensity fit, the
    consolidated external book, and users' own resting depth in the band.
    """

    ts_ns: int
    mid: float
    inventory: float
    market: MarketConfig
    reference_age_s: float = 0.0
    elapsed_s: float = 0.0
    sigma_bps_per_sqrt_s: float | None = None
    intensity: IntensityFit | None = None
    external: ExternalBook | None = None
    user_bid_depth_quote: float = 0.0
    user_ask_depth_quote: float = 0.0


class QuotingPolicy(Protocol):
    def desired_quotes(self, ctx: QuoteContext) -> list[QuoteLevel]:
        """Levels to rest: bids best first, then asks best first."""
        ...


def build_policy(market: MarketConfig) -> QuotingPolicy:
    """The policy `market.policy` names, built from the market config."""
    module_name, _, class_name = POLICIES[market.policy].partition(":")
    policy_cls = getattr(importlib.import_module(module_name), class_name)
    policy: QuotingPolicy = policy_cls(market)
    return policy


def _best_first(levels: Sequence[QuoteLevel], side: Side) -> list[QuoteLevel]:
    return sorted(
        (q for q in levels if q.side is side),
        key=lambda q: q.price,
        reverse=side is Side.BUY,
    )


def needs_requote(
    live: Sequence[QuoteLevel],
    desired: Sequence[QuoteLevel],
    tolerance_bps: float,
    mid: float,
) -> bool:
    """True when the live ladder no longer matches the desired one closely enough.

    Levels are compared rank by rank per side (best first). A requote is due if a
    side's level count differs, any price moved more than `tolerance_bps` of
    `mid`, or any size differs by more than 10 % of the desired size (which also
    catches a partly filled quote that needs replenishing). Requoting less often
    than every tick keeps queue priority and saves venue rate limit.
    """
    tolerance_price = mid * tolerance_bps / 1e4
    for side in (Side.BUY, Side.SELL):
        have, want = _best_first(live, side), _best_first(desired, side)
        if len(have) != len(want):
            return True
        for h, w in zip(have, want, strict=True):
            if abs(h.price - w.price) > tolerance_price:
                return True
            if abs(h.amount - w.amount) > REQUOTE_SIZE_CHANGE * abs(w.amount):
                return True
    return False
