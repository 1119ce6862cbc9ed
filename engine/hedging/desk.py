"""The hedging desk: turns home fills and rebalance intents into hedges to send.

Pure state and decisions, no I/O, `now_ns` passed in: which fills were seen,
which hedges were decided before a restart, what each hybrid market holds
back, and what this router has in flight that the ledger does not hold as
pending. The router actor feeds it fills, timer ticks and the rebalancer's
intents, sends what it returns (`DeskHedge`), and tells it when a hedge
starts and when the ledger has booked it; a benchmark drives the same desk
on a simulated clock.

Decisions come back as `DeskHedge`s: the intent to send, how much of the need
is not sent and why (`not_needed`), and whether the hedge must first be cut to
the asset's gap as the ledger sees it now (`cut_to_ledger_gap`, hybrid hedges:
the rebalancer may have netted part of it meanwhile).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.config import AppConfig
from engine.hedging.gaps import InflightHedges, cap_to_open_gap
from engine.hedging.hybrid import UnhedgedFills, hybrid_intent
from engine.hedging.intents import mirror_hedge_id
from engine.hedging.modes import HedgeModel, model_for
from engine.types import Fill, HedgeIntent, split_symbol

MidOf = Callable[[str], float | None]


@dataclass(frozen=True, slots=True)
class DeskHedge:
    """One hedge the desk decided.

    `intent` is the whole need; `send_amount` what to send of it (less when
    hedges in flight or netting elsewhere already cover part, recorded as not
    needed with `why_not_needed`). `pended`: the ledger already holds this
    hedge as pending (mirror), so it is not counted in flight here.
    `cut_to_ledger_gap`: read the asset's gap from the ledger, then `DeskHedge`
    comes back cut by `HedgingDesk.cut_to_gap` before anything is sent.
    """

    intent: HedgeIntent
    send_amount: float
    pended: bool = False
    cut_to_ledger_gap: bool = False
    why_not_needed: str = ""

    @classmethod
    def whole(cls, intent: HedgeIntent, *, pended: bool = False, gap: bool = False) -> DeskHedge:
        return cls(intent, intent.amount, pended=pended, cut_to_ledger_gap=gap)

    @property
    def not_needed(self) -> float:
        """The part of the need decided not to be sent."""
        return self.intent.amount - self.send_amount if self.is_cut else 0.0

    @property
    def is_cut(self) -> bool:
        return self.send_amount < self.intent.amount

    @property
    def to_send(self) -> HedgeIntent:
        """The intent as sent: the whole one, or cut to `send_amount`."""
        if not self.is_cut:
            return self.intent
        return dataclasses.replace(self.intent, amount=self.send_amount)


class HedgingDesk:
    """Fills in, hedges out: the hedge modes' state for every market of one router."""

    def __init__(self, config: AppConfig, known_hedges: set[str] | None = None) -> None:
        self._config = config
        self._seen_fills: set[str] = set()
        self._known_hedges = set(known_hedges or ())  # decided before a restart: never again
        self._waiting: dict[str, UnhedgedFills] = {}  # fills held back per market
        self.inflight = InflightHedges()

    def on_config(self, config: AppConfig) -> None:
        """New modes and thresholds apply from the next fill or tick."""
        self._config = config

    def remember(self, known_hedges: set[str]) -> None:
        """Hedges decided before a restart (from the ledger's journal): never decided again."""
        self._known_hedges = set(known_hedges)

    def model(self, market: str) -> HedgeModel:
        return model_for(self._config, market)

    @property
    def waiting_fills(self) -> int:
        return sum(len(u.fills) for u in self._waiting.values())

    # inputs -------------------------------------------------------------------

    def on_fills(self, fills: Sequence[Fill], now_ns: int, mid_of: MidOf) -> list[DeskHedge]:
        """Hedges for new fills, by their market's mode.

        A redelivered fill (or one whose mirror hedge was decided before a restart)
        never hedges twice. Mirror fills are hedged in arrival order; fills a model
        holds are checked once per market after the batch, markets in order.
        """
        out: list[DeskHedge] = []
        held: set[str] = set()
        for fill in fills:
            if (
                fill.fill_id in self._seen_fills
                or mirror_hedge_id(fill.fill_id) in self._known_hedges
            ):
                continue
            self._seen_fills.add(fill.fill_id)
            model = self.model(fill.market)
            intent = model.on_fill(fill)
            if intent is not None:
                out.append(DeskHedge.whole(intent, pended=True))
            elif model.holds_fills:
                waiting = self._waiting.get(fill.market, UnhedgedFills(fill.market))
                self._waiting[fill.market] = waiting.add(fill)
                held.add(fill.market)
        for market in sorted(held):
            out += self._check(market, now_ns, mid_of)
        return out

    def on_timer(self, now_ns: int, mid_of: MidOf) -> list[DeskHedge]:
        """Age triggers fire between fills too; a market whose mode changed is released."""
        out: list[DeskHedge] = []
        for market in sorted(self._waiting):
            out += self._check(market, now_ns, mid_of)
        return out

    def drain(self) -> list[DeskHedge]:
        """Every held fill hedged now (at stop)."""
        out: list[DeskHedge] = []
        for market in sorted(self._waiting):
            out += self._release(market, "hybrid: drain at stop")
        return out

    def on_intents(self, intents: Sequence[HedgeIntent]) -> list[DeskHedge]:
        """The rebalancer's intents, each cut to the gap still open once this router's
        in-flight hedges land: the rebalancer read its exposure before they were booked.

        Every intent is cut against the same in-flight state (none of them is in
        flight until the router starts it).
        """
        out: list[DeskHedge] = []
        for intent in intents:
            if intent.hedge_id in self._known_hedges:  # retried into a new incarnation
                out.append(DeskHedge(intent, 0.0, why_not_needed="decided before a router restart"))
                continue
            base = split_symbol(intent.symbol)[0]
            seen_gap = Decimal(repr(intent.amount)) * -intent.side.sign
            amount = cap_to_open_gap(
                intent.side, intent.amount, self.inflight.open_gap(base, seen_gap)
            )
            if amount < intent.amount:
                why = f"in-flight hedges already cover {intent.amount - amount:.10g} of it"
                out.append(DeskHedge(intent, amount, why_not_needed=why))
            else:
                out.append(DeskHedge.whole(intent))
        return out

    def cut_to_gap(self, hedge: DeskHedge, ledger_gap: Decimal) -> DeskHedge:
        """A hybrid hedge cut to the asset's gap the ledger (and hedges in flight here)
        leave open. Call it with no await before the hedge starts, so no other hedge
        registers in between."""
        intent = hedge.intent
        open_gap = self.inflight.open_gap(split_symbol(intent.symbol)[0], ledger_gap)
        amount = cap_to_open_gap(intent.side, intent.amount, open_gap)
        if amount < intent.amount:
            why = f"open gap {open_gap} covers only {amount:.10g}"
            return DeskHedge(intent, amount, pended=hedge.pended, why_not_needed=why)
        return DeskHedge.whole(intent, pended=hedge.pended)

    # hedges in flight -----------------------------------------------------------

    def started(self, intent: HedgeIntent, *, pended: bool) -> None:
        """A hedge is under way; unless the ledger holds it pending, count it in flight."""
        if not pended:
            self.inflight.add(intent)

    def booked(self, intent: HedgeIntent, *, pended: bool) -> None:
        """The ledger has booked the hedge's outcome: it is exposure (or not) there now."""
        if not pended:
            self.inflight.remove(intent)

    # held fills ---------------------------------------------------------------

    def _check(self, market: str, now_ns: int, mid_of: MidOf) -> list[DeskHedge]:
        waiting = self._waiting.get(market)
        if waiting is None:
            return []
        model = self.model(market)
        if not model.holds_fills:  # the mode changed, or the market left: hedge it
            reason: str | None = f"hybrid: mode is now {model.mode.value}"
        else:
            reason = model.due(waiting, mid_of(market), now_ns)
        if reason is None:
            return []
        return self._release(market, reason)

    def _release(self, market: str, reason: str) -> list[DeskHedge]:
        intent = hybrid_intent(self._waiting.pop(market), reason)
        if intent is None:
            return []  # the fills netted to zero: nothing to hedge
        return [DeskHedge.whole(intent, gap=True)]
