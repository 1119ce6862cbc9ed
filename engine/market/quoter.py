"""One home market's quoting decision, without I/O: the MarketActor and the exact backtest
both drive this object.

A decision takes what a shell gathered (the reference mid and when it was
seen, the desk's net exposure, the external venues' books, what the home
account can settle, the home venue's open quotes and users' resting depth) and
says what to do with the home book:

    reference missing             -> IDLE     nothing to decide on yet
    reference older than the risk limit -> CANCEL if anything rests, else IDLE
    otherwise: policy -> market rules (vol guard, spread clamp, exposure
    limit, step-back) -> hedge-aware pricing (`engine.quoting.hedge_cost`)
    -> what the home account can settle -> venue grid; then
    requote timer due, or the live ladder drifted (`needs_requote`)
                                  -> REPLACE  cancel every quote, place `quotes`
    else                          -> HOLD

The quoter keeps the state a decision needs across ticks: the reference and
the sigma / fill-intensity estimators it feeds, the exposure the policy skews
on, and when it last quoted. Time is always passed in (`now`, UTC ns).

Risk is the desk's net unhedged exposure in the market's base asset (home and
hedge venues plus hedges in flight, across every market sharing the asset):
the shell sets `net_exposure` from the ledger (live) or its hedge model
(backtest). The home fills (`position`) only stand in until it does; a fill
that is hedged at once adds no risk, so quoting on the home fills would skew
and one-side a desk that is flat.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from engine.book_metrics import book_sample
from engine.config import MarketConfig, PolicyName
from engine.quote_records import fill_row, quote_state, sample_row
from engine.quoting import (
    ExternalBook,
    GridRounder,
    IntensityFit,
    MarketEstimators,
    QuoteContext,
    VolRegime,
    apply_market_rules,
    build_policy,
    needs_requote,
    price_for_hedge,
    vol_regime,
    within_settlement,
)
from engine.quoting.hedge_cost import level_hedge_costs
from engine.types import Fill, MarketSpec, QuoteLevel, Side

GridQuote = tuple[Side, Decimal, Decimal]
"""A quote on the venue's grid: (side, price, amount), as venues take and report them."""

Levels = Sequence[tuple[float, float]]

KEPT_QUOTE_COSTS = 256
"""Quotes whose hedge cost is remembered for their fills (a few ladders' worth)."""


class QuoteAction(StrEnum):
    """IDLE: no decision was made (no usable reference); HOLD: the live ladder stays."""

    IDLE = "idle"
    HOLD = "hold"
    CANCEL = "cancel"
    REPLACE = "replace"


@dataclass(frozen=True, slots=True)
class QuoteDecision:
    """What the shell does with the home book: `quotes` are placed after a cancel-all on
    REPLACE; CANCEL takes every quote down; HOLD and IDLE leave the book as it is."""

    action: QuoteAction
    quotes: tuple[GridQuote, ...] = ()
    hedge_costs_bps: tuple[float | None, ...] = ()
    """Per quote, the all-in cost of hedging it (and the better levels) when placed."""


IDLE = QuoteDecision(QuoteAction.IDLE)
HOLD = QuoteDecision(QuoteAction.HOLD)
CANCEL = QuoteDecision(QuoteAction.CANCEL)


class HomeBookView(Protocol):
    """What a decision reads from the home venue (`engine.sim.home_book.HomeBook` is one)."""

    def open_quotes(self) -> Sequence[GridQuote]:
        """The bot's resting quotes: bids best first, then asks best first."""
        ...

    def user_depth_within(self, mid: float, bps: float) -> tuple[float, float]:
        """(bid, ask) quote notional within `bps` of `mid` resting from anyone but the bot."""
        ...


def _as_levels(quotes: Iterable[GridQuote]) -> list[QuoteLevel]:
    return [QuoteLevel(s, float(p), float(a)) for s, p, a in quotes]


class Quoter:
    """The quoting state and decision of one home market.

    `started_ns` is when quoting started (a finite-horizon A-S restarts its
    horizon from it). `read_user_depth=False` skips asking the venue for
    users' depth (a backtest without synthetic users: it is zero).
    """

    def __init__(
        self,
        market: MarketConfig,
        spec: MarketSpec,
        *,
        max_book_age_s: float,
        started_ns: int,
        read_user_depth: bool = True,
    ) -> None:
        self.spec = spec
        self.started_ns = started_ns
        self.max_book_age_ns = int(max_book_age_s * 1e9)
        self.read_user_depth = read_user_depth
        self._rounder = GridRounder(spec)
        self.reference_mid: float | None = None
        self.reference_ts_ns = 0
        self.external: ExternalBook | None = None
        self.position = Decimal(0)
        """Base units the home fills added (status, restart); not what the policy skews on."""
        self.net_exposure: float | None = None
        """The desk's net unhedged exposure in the base asset, set by the shell."""
        self.home_available: tuple[float, float] | None = None
        """(base, quote) the home account can settle; None: not known, no cap."""
        self._quoted_costs: dict[tuple[Side, Decimal], tuple[float | None, float]] = {}
        """(side, price) of a placed quote -> (its hedge cost, its edge from mid), in bps."""
        self.last_quote_ns: int | None = None
        self.regime = VolRegime.NORMAL
        self.intensity_fit: IntensityFit | None = None
        self.home_taker_fee: float | None = None
        """The home venue's taker fee rate, for `fills.taker_fee_quote` (None: unknown)."""
        self.configured_market = market
        """The market as configured: the SLA's targets, whatever an alert widened."""
        self._set_market(market, calibrate=True)

    # configuration -----------------------------------------------------------

    def _set_market(self, market: MarketConfig, *, calibrate: bool) -> None:
        self.market = market
        self._policy = build_policy(market)
        self._requote_ns = int(market.requote_interval_s * 1e9)
        if calibrate:
            est = MarketEstimators.for_market(market)
            self.sigma_short, self.sigma_long, self.intensity = (
                est.sigma_short,
                est.sigma_long,
                est.intensity,
            )

    def reconfigure(self, market: MarketConfig) -> None:
        """A new config version: requote under it at the next decision. The estimators
        start over only when what they estimate changed."""
        old = self.market
        recalibrate = (old.policy_params, old.vol_guard) != (market.policy_params, market.vol_guard)
        self.configured_market = market
        self._set_market(market, calibrate=recalibrate)
        self.last_quote_ns = None

    def widen(self, factor: float) -> float:
        """Alert action: widen the target spread (never past `max_spread_bps`); returns it."""
        m = self.market
        target = min(m.target_spread_bps * factor, m.max_spread_bps)
        self._set_market(m.model_copy(update={"target_spread_bps": target}), calibrate=False)
        self.last_quote_ns = None  # requote now
        return target

    def restore_target(self) -> float:
        """Alert action reverted: back to the configured target spread; returns it."""
        target = self.configured_market.target_spread_bps
        if self.market.target_spread_bps != target:
            update = {"target_spread_bps": target}
            self._set_market(self.market.model_copy(update=update), calibrate=False)
            self.last_quote_ns = None
        return target

    # inputs ------------------------------------------------------------------

    def on_reference(self, now: int, ref: tuple[float, int] | None) -> bool:
        """Take a pulled reference (mid, ts it was observed at); True when it is new.

        A new observation feeds the sigma estimators (the vol guard and the models)."""
        if ref is None or (self.reference_mid is not None and ref[1] == self.reference_ts_ns):
            return False
        mid, ts_ns = ref
        for estimator in (self.sigma_short, self.sigma_long):
            estimator.observe(now, mid)
        self.reference_mid, self.reference_ts_ns = mid, ts_ns
        return True

    def on_trades(self, trades: Iterable[tuple[int, float, float]]) -> None:
        """Home trades (ts_ns, price, amount), whoever the maker: the fill-intensity fit."""
        mid = self.reference_mid
        if mid is None:
            return
        for ts_ns, price, _ in trades:
            self.intensity.observe(ts_ns, price, mid)

    def on_fills(self, fills: Iterable[Fill]) -> None:
        for f in fills:
            self.position += f.side.sign * f.amount

    # the decision --------------------------------------------------------------

    def timer_due(self, now: int) -> bool:
        return self.last_quote_ns is None or now - self.last_quote_ns >= self._requote_ns

    def is_stale(self, now: int) -> bool:
        return now - self.reference_ts_ns > self.max_book_age_ns

    def decide(self, now: int, book: HomeBookView) -> QuoteDecision:
        """What to do with the home book now (see the module docstring)."""
        mid = self.reference_mid
        if mid is None:
            return IDLE
        if self.is_stale(now):  # no quotes off a reference that says nothing about now
            return CANCEL if book.open_quotes() else IDLE
        rounded = self._rounder.round(self.desired_levels(now, mid, book))
        if not self.timer_due(now):
            live = _as_levels(book.open_quotes())
            tolerance = self.market.requote_tolerance_bps
            if not needs_requote(live, _as_levels(rounded), tolerance, mid):
                return HOLD
        self.last_quote_ns = now
        costs = self._hedge_costs(rounded, mid)
        return QuoteDecision(QuoteAction.REPLACE, tuple(rounded), costs)

    def _hedge_costs(self, quotes: Sequence[GridQuote], mid: float) -> tuple[float | None, ...]:
        """Each placed quote's hedge cost (on the grid), remembered for the fills it gets."""
        if self.external is None or not quotes:
            return (None,) * len(quotes)
        slippage = self.market.hedge_slippage_bps
        raw = level_hedge_costs(_as_levels(quotes), mid, self.external, slippage)
        costs = tuple(c if math.isfinite(c) else None for c in raw)
        if len(self._quoted_costs) > KEPT_QUOTE_COSTS:  # old ladders' fills have arrived
            self._quoted_costs.clear()
        for (side, price, _), cost in zip(quotes, costs, strict=True):
            edge = side.sign * (mid - float(price)) / mid * 1e4
            self._quoted_costs[(side, price)] = (cost, edge)
        return costs

    def subsidy_bps(self, fill: Fill) -> float | None:
        """The hedge cost the fill's quote did not cover when placed (>= 0, bps of mid):
        what `priority: sla` pays for its spread; None when the quote is not known."""
        cost, edge = self._quoted_costs.get((fill.side, fill.price), (None, 0.0))
        return None if cost is None else max(0.0, cost - edge)

    def desired_levels(self, now: int, mid: float, book: HomeBookView) -> list[QuoteLevel]:
        """The policy's ladder after the market rules, in floats (before the grid)."""
        m = self.market
        user_bid, user_ask = (
            book.user_depth_within(mid, m.depth_band_bps) if self.read_user_depth else (0.0, 0.0)
        )
        self.intensity_fit = self.intensity.fit(now) if m.policy is PolicyName.GLFT else None
        exposure = self.net_exposure if self.net_exposure is not None else float(self.position)
        ctx = QuoteContext(
            ts_ns=now,
            mid=mid,
            inventory=exposure - m.inventory_target,
            market=m,
            reference_age_s=(now - self.reference_ts_ns) / 1e9,
            elapsed_s=(now - self.started_ns) / 1e9,
            sigma_bps_per_sqrt_s=self.sigma_long.sigma_bps_per_sqrt_s,
            intensity=self.intensity_fit,
            external=self.external,
            user_bid_depth_quote=user_bid,
            user_ask_depth_quote=user_ask,
        )
        self.regime = vol_regime(
            self.sigma_short.sigma_bps_per_sqrt_s,
            self.sigma_long.sigma_bps_per_sqrt_s,
            self.sigma_long.samples,
            m.vol_guard,
        )
        levels = apply_market_rules(self._policy.desired_quotes(ctx), ctx, self.regime)
        levels, _ = price_for_hedge(levels, mid, self.external, m)
        if self.home_available is not None:
            levels = within_settlement(levels, *self.home_available)
        return levels

    # rows ----------------------------------------------------------------------

    def fill_rows(self, fills: Iterable[Fill], seen_ns: int) -> list[dict[str, Any]]:
        """`fills` rows, each with the reference mid when the fill was seen, the hedge cost
        expected when its quote was placed and the home venue's taker fee on it."""
        costs, fee = self._quoted_costs, self.home_taker_fee
        return [
            fill_row(
                f,
                self.reference_mid,
                seen_ns,
                costs.get((f.side, f.price), (None, 0.0))[0],
                home_taker_fee=fee,
            )
            for f in fills
        ]

    def sample_row(
        self,
        now: int,
        bids: Levels,
        asks: Levels,
        bot_bids: Levels,
        bot_asks: Levels,
        *,
        paused: bool = False,
    ) -> dict[str, Any]:
        """A `book_samples` row of the home book as it rests now, graded against the
        configured targets, with the effective target and the quote state beside them."""
        sample = book_sample(
            bids,
            asks,
            bot_bids,
            bot_asks,
            reference_mid=self.reference_mid or 0.0,
            band_bps=self.market.depth_band_bps,
        )
        configured = self.configured_market
        state = quote_state(
            paused=paused,
            stale=self.reference_mid is None or self.is_stale(now),
            regime=self.regime,
            configured_target_spread_bps=configured.target_spread_bps,
            effective_target_spread_bps=self.market.target_spread_bps,
            bot_bids=bool(bot_bids),
            bot_asks=bool(bot_asks),
        )
        return sample_row(
            sample,
            configured,
            now,
            effective=self.market,
            regime=self.regime,
            state=state,
            reference_mid=self.reference_mid,
        )
