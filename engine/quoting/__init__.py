"""Quoting policies (what to rest on the home book) and the edge rounding onto the venue grid."""

from engine.quoting.base import QuoteContext, QuotingPolicy, build_policy, needs_requote
from engine.quoting.ladder import LadderPolicy
from engine.quoting.rounding import round_quotes

__all__ = [
    "LadderPolicy",
    "QuoteContext",
    "QuotingPolicy",
    "build_policy",
    "needs_requote",
    "round_quotes",
]
