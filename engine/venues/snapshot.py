"""One hedge venue as the router reads it: health, books, balances, fee, specs and the
state of its streams and REST budget (`HedgeVenueActor.snapshot`).

Apart from the actor because the router unpickles one every refresh: defined beside
the actor, each router start imported ccxt and ccxt.pro for it (~1.2 s of a core).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.types import BookSnapshot, MarketSpec


@dataclass(frozen=True, slots=True)
class VenueSnapshot:
    venue: str
    healthy: bool
    reason: str
    books: dict[str, BookSnapshot]
    balances: dict[str, Decimal]
    taker_fee: float
    specs: dict[str, MarketSpec] = field(default_factory=dict)
    market_data: str = "poll"  # "stream", "poll", or "poll (stream down)"
    stream: dict[str, Any] = field(default_factory=dict)  # BookStream.status()
    account: dict[str, Any] = field(default_factory=dict)  # AccountStream.status()
    # REST request weight spent since start, and the key's budget (None: no budget)
    rest_weight: float = 0.0
    weight_limit_per_min: float | None = None
    weight_used_peak: float = 0.0  # the venue's X-MBX-USED-WEIGHT-1M, highest seen
    weight_by_operation: dict[str, float] = field(default_factory=dict)  # of `rest_weight`

    @property
    def stream_up(self) -> bool:
        return self.market_data == "stream"
