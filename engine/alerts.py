"""Alert rules tied to actions, evaluated over periodic observations of the graph.

A rule fires once its condition has held continuously for `for_s` seconds
and re-arms when the condition clears, so a breach produces one alert and one
action, not one per second. Pure: the driver builds `Observation`s from the
actors' status and carries out the actions.

A `widen` action is reverted: once its condition has stayed clear for the
rule's `revert_after_s` (a breach in between restarts the wait, so a condition
flickering around its threshold does not flip the target back and forth), the
monitor emits a revert alert (`Alert.reverts`) and the driver restores the
configured target. Widening is meant to ride out a condition, not to move the
market's target for good.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from engine.config import AlertAction, AlertKind, AlertRuleConfig, AlertsConfig


@dataclass(frozen=True, slots=True)
class MarketObservation:
    market: str
    quoting: bool
    spread_bps: float | None
    target_spread_bps: float
    bid_depth_quote: float
    ask_depth_quote: float
    depth_target_quote: float
    reference_age_s: float


@dataclass(frozen=True, slots=True)
class Observation:
    ts_ns: int
    markets: Sequence[MarketObservation] = ()
    venues: dict[str, tuple[bool, str]] = field(default_factory=dict)
    streams: dict[str, tuple[bool, str]] = field(default_factory=dict)  # venue: (up, why not)
    hedge_failures: int = 0  # cumulative hedges that executed nothing
    exposure: dict[str, tuple[float, float]] = field(default_factory=dict)  # asset: (gap, thr)
    max_reference_age_s: float = 5.0
    pnl_quote: float | None = None  # equity change since the run opened, marked at mids
    pnl_peak_quote: float | None = None
    storage_failing_s: dict[str, float] = field(default_factory=dict)  # actor: failing for


def builtin_rules(alerts: AlertsConfig) -> list[AlertRuleConfig]:
    """Rules every run has, whatever the config lists: storage faults are never silent
    (an alert), and past the configured outage the graph stops cleanly (cancel quotes,
    hedge, reconcile) instead of trading on without a record."""
    return [
        AlertRuleConfig(
            rule=AlertKind.STORAGE_FAILURE,
            for_s=alerts.storage_alert_after_s,
            action=AlertAction.NOTIFY,
            severity="error",
        ),
        AlertRuleConfig(
            rule=AlertKind.STORAGE_FAILURE,
            for_s=alerts.storage_max_outage_s,
            action=AlertAction.KILL_SWITCH,
            severity="critical",
        ),
    ]


@dataclass(frozen=True, slots=True)
class Alert:
    ts_ns: int
    alert_id: str
    kind: AlertKind
    rule_index: int
    market: str | None
    venue: str | None
    subject: str
    message: str
    value: float | None
    threshold: float | None
    rule: AlertRuleConfig
    reverts: bool = False  # the condition cleared: undo what the rule's action did


REVERSIBLE_ACTIONS = frozenset({AlertAction.WIDEN})


@dataclass(frozen=True, slots=True)
class _Condition:
    subject: str
    breached: bool
    value: float | None
    threshold: float | None
    message: str
    market: str | None = None
    venue: str | None = None


class AlertMonitor:
    def __init__(self, rules: Sequence[AlertRuleConfig]) -> None:
        self._rules = list(rules)
        self._since: dict[tuple[int, str], int] = {}
        self._fired: set[tuple[int, str]] = set()
        self._failure_baseline: dict[int, int] = {}
        self._seq = 0
        # reversible actions taken and not yet undone: key -> when the condition cleared
        self._active: dict[tuple[int, str], int | None] = {}

    @property
    def active_actions(self) -> list[tuple[int, str]]:
        """(rule index, subject) of the reversible actions in force, sorted."""
        return sorted(self._active)

    def evaluate(self, obs: Observation) -> list[Alert]:
        alerts = []
        for i, rule in enumerate(self._rules):
            for c in self._conditions(i, rule, obs):
                key = (i, c.subject)
                if not c.breached:
                    self._since.pop(key, None)
                    self._fired.discard(key)
                    revert = self._revert_due(key, rule, obs.ts_ns)
                    if revert:
                        alerts.append(self._alert(obs.ts_ns, i, rule, c, reverts=True))
                    continue
                if key in self._active:
                    self._active[key] = None  # breached again: the revert waits afresh
                start = self._since.setdefault(key, obs.ts_ns)
                if key in self._fired or obs.ts_ns - start < rule.for_s * 1e9:
                    continue
                self._fired.add(key)
                if rule.action in REVERSIBLE_ACTIONS and rule.revert_after_s is not None:
                    self._active[key] = None
                alerts.append(self._alert(obs.ts_ns, i, rule, c))
                if rule.rule is AlertKind.HEDGE_FAILURES:  # count the next batch afresh
                    self._failure_baseline[i] = obs.hedge_failures
                    self._fired.discard(key)
                    self._since.pop(key, None)
        return alerts

    def _revert_due(self, key: tuple[int, str], rule: AlertRuleConfig, now: int) -> bool:
        """Whether the clear condition has held `revert_after_s` under an active action."""
        if key not in self._active or rule.revert_after_s is None:
            return False
        cleared = self._active[key]
        if cleared is None:
            self._active[key] = cleared = now
        if now - cleared < rule.revert_after_s * 1e9:
            return False
        del self._active[key]
        return True

    def _alert(
        self, now: int, i: int, rule: AlertRuleConfig, c: _Condition, *, reverts: bool = False
    ) -> Alert:
        self._seq += 1
        suffix = "-revert" if reverts else ""
        message = (
            f"{c.subject}: {rule.rule.value} clear for {rule.revert_after_s:g}s, "
            f"{rule.action.value} reverted"
            if reverts
            else c.message
        )
        return Alert(
            ts_ns=now,
            alert_id=f"a{self._seq}-{rule.rule.value}-{c.subject}{suffix}",
            kind=rule.rule,
            rule_index=i,
            market=c.market,
            venue=c.venue,
            subject=c.subject,
            message=message,
            value=c.value,
            threshold=c.threshold,
            rule=rule,
            reverts=reverts,
        )

    def _conditions(self, i: int, rule: AlertRuleConfig, obs: Observation) -> Iterator[_Condition]:
        kind = rule.rule
        per_market = _MARKET_CONDITIONS.get(kind)
        if per_market is not None:
            for m in [m for m in obs.markets if rule.market in ("*", m.market)]:
                yield per_market(m, obs)
        elif kind is AlertKind.HEDGE_FAILURES:
            base = self._failure_baseline.setdefault(i, obs.hedge_failures)
            new = obs.hedge_failures - base
            yield _Condition(
                "hedges",
                new >= rule.max_failures,
                float(new),
                float(rule.max_failures),
                f"{new} hedges executed nothing",
            )
        else:
            yield from _run_wide_conditions(kind, rule, obs)


def _spread_breach(m: MarketObservation, obs: Observation) -> _Condition:
    bad = not m.quoting or m.spread_bps is None or m.spread_bps > m.target_spread_bps
    shown = "none" if m.spread_bps is None else f"{m.spread_bps:.2f}"
    return _Condition(
        m.market,
        bad,
        m.spread_bps,
        m.target_spread_bps,
        f"{m.market}: spread {shown} bps over target {m.target_spread_bps:g} bps",
        market=m.market,
    )


def _depth_below_target(m: MarketObservation, obs: Observation) -> _Condition:
    depth = min(m.bid_depth_quote, m.ask_depth_quote)
    return _Condition(
        m.market,
        depth < m.depth_target_quote,
        depth,
        m.depth_target_quote,
        f"{m.market}: depth {depth:,.0f} below target {m.depth_target_quote:,.0f}",
        market=m.market,
    )


def _not_quoting(m: MarketObservation, obs: Observation) -> _Condition:
    return _Condition(
        m.market, not m.quoting, None, None, f"{m.market}: no two-sided quotes", market=m.market
    )


def _stale_reference(m: MarketObservation, obs: Observation) -> _Condition:
    return _Condition(
        m.market,
        m.reference_age_s > obs.max_reference_age_s,
        m.reference_age_s,
        obs.max_reference_age_s,
        f"{m.market}: reference {m.reference_age_s:.1f}s old",
        market=m.market,
    )


# the rules graded once per market the rule selects ("*" or one symbol)
_MARKET_CONDITIONS: dict[AlertKind, Callable[[MarketObservation, Observation], _Condition]] = {
    AlertKind.SPREAD_BREACH: _spread_breach,
    AlertKind.DEPTH_BELOW_TARGET: _depth_below_target,
    AlertKind.NOT_QUOTING: _not_quoting,
    AlertKind.STALE_REFERENCE: _stale_reference,
}


def _run_wide_conditions(
    kind: AlertKind, rule: AlertRuleConfig, obs: Observation
) -> Iterator[_Condition]:
    """The rules about the whole run: venues, PnL, storage and exposure (no per-rule state)."""
    if kind is AlertKind.VENUE_UNHEALTHY:
        for venue, (healthy, reason) in sorted(obs.venues.items()):
            yield _Condition(
                venue, not healthy, None, None, f"{venue}: unhealthy: {reason}", venue=venue
            )
    elif kind is AlertKind.STREAM_DOWN:
        for venue, (up, reason) in sorted(obs.streams.items()):
            yield _Condition(
                venue,
                not up,
                None,
                None,
                f"{venue}: stream down, polling REST: {reason}",
                venue=venue,
            )
    elif kind is AlertKind.PNL_DRAWDOWN:
        if obs.pnl_quote is not None and obs.pnl_peak_quote is not None:
            drawdown = obs.pnl_peak_quote - obs.pnl_quote
            yield _Condition(
                "pnl",
                drawdown > rule.max_drawdown_quote,
                drawdown,
                rule.max_drawdown_quote,
                f"PnL {obs.pnl_quote:,.2f} is {drawdown:,.2f} below its peak "
                f"{obs.pnl_peak_quote:,.2f}",
            )
    elif kind is AlertKind.STORAGE_FAILURE:
        for actor, failing_s in sorted(obs.storage_failing_s.items()):
            yield _Condition(
                actor,
                failing_s > 0,
                failing_s,
                rule.for_s,
                f"{actor}: Parquet writes failing for {failing_s:.0f}s (rows kept, retried)",
            )
    elif kind is AlertKind.EXPOSURE_OVER_THRESHOLD:
        for asset, (gap, threshold) in sorted(obs.exposure.items()):
            yield _Condition(
                asset,
                abs(gap) > threshold,
                gap,
                threshold,
                f"{asset}: exposure {gap:.8g} over threshold {threshold:.8g}",
            )
