"""The desk's net exposure per asset as a MarketActor knows it between two ledger answers.

The ledger is the truth (`InventoryLedgerActor.desk_exposure`: every venue's
position, what earlier runs left open, the mirror hedges pending), asked every
`timing.net_exposure_pull_s` together with the router's hedges in flight
(`HedgeRouterActor.inflight_exposure`: netted and rebalance hedges started,
not yet booked, e.g. a big net going out in TWAP slices). Calls from one actor
reach the ledger in the order sent, so the fills sent before a pull are in its
answer; fills taken after it that no hedge covers yet (hybrid or net mode) are
added here until the next answer replaces the lot. A mirror-hedged fill adds
nothing: the ledger holds its hedge pending from the moment it books the fill.
Markets on the same base asset read the same number. The two answers are read
concurrently, so a hedge booked between them can be counted twice or not at
all for one pull period; the next answer corrects it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.types import Fill, split_symbol


class DeskExposure:
    """Net unhedged base per asset and the home account's balances; empty until answered."""

    def __init__(self) -> None:
        self._net: dict[str, float] = {}
        self._home: dict[str, float] = {}
        self.answered_ns = 0

    @property
    def known(self) -> bool:
        return self.answered_ns > 0

    def on_answer(
        self,
        now: int,
        answer: Mapping[str, tuple[float, float]],
        inflight: Mapping[str, float] | None = None,
    ) -> None:
        """The ledger's answer (asset -> (net unhedged base, home balance)) and the router's
        hedges in flight (asset -> base they will add once booked)."""
        moving = inflight or {}
        self._net = {a: net + moving.get(a, 0.0) for a, (net, _) in answer.items()}
        self._home = {a: balance for a, (_, balance) in answer.items()}
        self.answered_ns = now

    def on_unhedged_fills(self, fills: Iterable[Fill]) -> None:
        """Own fills sent since the last pull that no hedge covers yet: the desk's risk now."""
        for f in fills:
            base = split_symbol(f.market)[0]
            self._net[base] = self._net.get(base, 0.0) + float(f.side.sign * f.amount)

    def net(self, asset: str) -> float:
        return self._net.get(asset, 0.0)

    def home_available(self, base: str, quote: str) -> tuple[float, float] | None:
        """(base, quote) the home account holds for a market, or None when not known."""
        if base in self._home and quote in self._home:
            return self._home[base], self._home[quote]
        return None
