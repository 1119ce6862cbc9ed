"""Hedge modes: how one market's fills become hedges, behind one small protocol.

Like hftbacktest's queue, latency and fee models, each mode is a small class
and a variant overrides one method; the desk (`engine.hedging.desk`) holds the
state and asks the market's model what to do with each fill and, on every
batch and timer tick, whether the fills it holds are due.

* `mirror`: each fill is hedged on its own, at once. The ledger holds the
  hedge as pending from the moment it books the fill.
* `net`: fills are left to the rebalancer, which hedges each asset's net
  exposure across markets on a timer (`engine.netting`).
* `hybrid`: the market's fills wait and net out until their net is worth
  `hybrid_threshold_quote` or the oldest is `hybrid_max_age_s` old
  (`engine.hedging.hybrid.hybrid_trigger`); then one hedge covers the net.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from engine.config import AppConfig, HedgeMode
from engine.hedging.hybrid import UnhedgedFills, hybrid_trigger
from engine.hedging.intents import mirror_intent
from engine.types import Fill, HedgeIntent


class HedgeModel(Protocol):
    """What a market's hedge mode decides; pure, `now_ns` passed in."""

    @property
    def mode(self) -> HedgeMode: ...

    @property
    def holds_fills(self) -> bool:
        """True when fills wait in the desk until `due` says they must be hedged."""
        ...

    def on_fill(self, fill: Fill) -> HedgeIntent | None:
        """A hedge to start for this fill at once, or None (it waits, or the rebalancer nets it)."""
        ...

    def due(self, waiting: UnhedgedFills, mid: float | None, now_ns: int) -> str | None:
        """Why the waiting fills must be hedged now, or None to keep waiting."""
        ...


@dataclass(frozen=True, slots=True)
class MirrorModel:
    mode: HedgeMode = HedgeMode.MIRROR
    holds_fills: bool = False

    def on_fill(self, fill: Fill) -> HedgeIntent | None:
        return mirror_intent(fill)

    def due(self, waiting: UnhedgedFills, mid: float | None, now_ns: int) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class NetModel:
    mode: HedgeMode = HedgeMode.NET
    holds_fills: bool = False

    def on_fill(self, fill: Fill) -> HedgeIntent | None:
        return None

    def due(self, waiting: UnhedgedFills, mid: float | None, now_ns: int) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class HybridModel:
    threshold_quote: float
    max_age_s: float
    mode: HedgeMode = HedgeMode.HYBRID
    holds_fills: bool = True

    def on_fill(self, fill: Fill) -> HedgeIntent | None:
        return None

    def due(self, waiting: UnhedgedFills, mid: float | None, now_ns: int) -> str | None:
        return hybrid_trigger(
            waiting,
            mid,
            threshold_quote=self.threshold_quote,
            max_age_s=self.max_age_s,
            now_ns=now_ns,
        )


def model_for(config: AppConfig, market: str) -> HedgeModel:
    """The market's configured model. A market removed by `marketmesh scale` hedges its
    last fills one by one (mirror)."""
    try:
        m = config.market(market)
    except KeyError:
        return MirrorModel()
    if m.hedge_mode is HedgeMode.HYBRID:
        return HybridModel(m.hybrid_threshold_quote, m.hybrid_max_age_s)
    if m.hedge_mode is HedgeMode.NET:
        return NetModel()
    return MirrorModel()


def with_hedge_mode(
    config: AppConfig,
    mode: HedgeMode,
    *,
    threshold_quote: float | None = None,
    max_age_s: float | None = None,
) -> AppConfig:
    """`config` with every market hedged in `mode` (and, if given, hybrid at
    `threshold_quote` / `max_age_s`): how a replay compares modes on one config."""
    update: dict[str, object] = {"hedge_mode": mode}
    if threshold_quote is not None:
        update["hybrid_threshold_quote"] = threshold_quote
    if max_age_s is not None:
        update["hybrid_max_age_s"] = max_age_s
    markets = [m.model_copy(update=update) for m in config.markets]
    return config.model_copy(update={"markets": markets})
