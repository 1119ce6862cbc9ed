"""The hedging desk: fills in, hedges out, one record of each decision.

* `intents`: mirror intents and hedge ids derived from fills, how a hedge ends;
* `hybrid`: fills held back and netted until big or old enough;
* `modes`: mirror, net and hybrid behind one `HedgeModel` protocol;
* `gaps`: cutting a hedge to the asset's gap still open, hedges in flight;
* `desk`: `HedgingDesk`, the state of every market's mode, pure (`now_ns` in);
* `execution`: a hedge slice planned on the venues' books, its benchmarks;
* `records`: the one builder of `hedge_orders` / `hedge_fills` rows;
* `inflight`: a crashed router's child orders looked up, folded per hedge.
"""

from engine.hedging.desk import DeskHedge, HedgingDesk
from engine.hedging.gaps import InflightHedges, cap_to_open_gap
from engine.hedging.hybrid import UnhedgedFills, hybrid_intent, hybrid_trigger
from engine.hedging.inflight import InflightLookup, fold_lookups
from engine.hedging.intents import (
    failed,
    hedge_outcome,
    mirror_hedge_id,
    mirror_intent,
    shortfall,
    skipped_outcome,
    source_fill_of,
)
from engine.hedging.modes import HedgeModel, HybridModel, MirrorModel, NetModel, model_for

__all__ = [
    "DeskHedge",
    "HedgeModel",
    "HedgingDesk",
    "HybridModel",
    "InflightHedges",
    "InflightLookup",
    "MirrorModel",
    "NetModel",
    "UnhedgedFills",
    "cap_to_open_gap",
    "failed",
    "fold_lookups",
    "hedge_outcome",
    "hybrid_intent",
    "hybrid_trigger",
    "mirror_hedge_id",
    "mirror_intent",
    "model_for",
    "shortfall",
    "skipped_outcome",
    "source_fill_of",
]
