"""Quoting policies (what to rest on the home book) and the edge rounding onto the venue grid."""

from engine.consolidated import consolidate_books
from engine.quoting.avellaneda_stoikov import (
    AvellanedaStoikov,
    AvellanedaStoikovPolicy,
    RollingAvellanedaStoikov,
)
from engine.quoting.base import (
    ExternalBook,
    QuoteContext,
    QuotingPolicy,
    build_policy,
    needs_requote,
)
from engine.quoting.calibration import (
    IntensityEstimator,
    IntensityFit,
    MarketEstimators,
    SigmaEstimator,
)
from engine.quoting.glft import GLFT, GLFTPolicy
from engine.quoting.grid import GridRounder
from engine.quoting.guards import VolRegime, apply_market_rules, vol_regime, within_settlement
from engine.quoting.hedge_cost import price_for_hedge
from engine.quoting.ladder import LadderPolicy
from engine.quoting.mirror import MirrorPolicy
from engine.quoting.rounding import round_quotes

__all__ = [
    "GLFT",
    "AvellanedaStoikov",
    "AvellanedaStoikovPolicy",
    "ExternalBook",
    "GLFTPolicy",
    "GridRounder",
    "IntensityEstimator",
    "IntensityFit",
    "LadderPolicy",
    "MarketEstimators",
    "MirrorPolicy",
    "QuoteContext",
    "QuotingPolicy",
    "RollingAvellanedaStoikov",
    "SigmaEstimator",
    "VolRegime",
    "apply_market_rules",
    "build_policy",
    "consolidate_books",
    "needs_requote",
    "price_for_hedge",
    "round_quotes",
    "vol_regime",
    "within_settlement",
]
