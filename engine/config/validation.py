"""Whole-run checks of a parsed config: what the models alone cannot see, judged before
anything starts (venue-sim, Ray), each as one `key: reason` line.

The models check each component's shape; these checks look across components
(a market's symbol against the hedge venues' listings, an alert rule's market
against the markets, the hedge desk's money) and against the outside world
(ccxt's exchange ids). They run when a config file is read (`parse_config`),
not when a live config is rescaled: `scale --remove-market` may leave an alert
rule naming the market it removed.
"""

from __future__ import annotations

import difflib
from decimal import Decimal

from engine.config.app import AppConfig
from engine.config.venue import VenueConfig, VenueKind, VenueRole

# the dialects `marketmesh venue-sim` speaks (engine/sim/server.py): a simulated hedge
# venue behind ccxt is a Binance, a simulated home venue behind ccxt a HollaEx
SIM_DIALECTS = {VenueRole.HEDGE: "binance", VenueRole.HOME: "hollaex"}


def run_problems(config: AppConfig) -> list[str]:
    """Every reason this config cannot run as meant, as `key: reason` lines ([] = fine)."""
    return [
        *_exchange_problems(config),
        *_listing_problems(config),
        *_hedge_balance_problems(config),
        *_alert_problems(config),
    ]


def _venue_key(i: int, venue: VenueConfig) -> str:
    return f"venues[{i}] ({venue.id})"


def _exchange_problems(config: AppConfig) -> list[str]:
    out = []
    for i, v in enumerate(config.venues):
        if v.kind is not VenueKind.CCXT or v.exchange is None:
            continue
        if v.simulated:
            expected = SIM_DIALECTS[v.role]
            if v.exchange != expected:
                out.append(
                    f"{_venue_key(i, v)}.exchange: {v.exchange!r}: venue-sim (url: sim) serves a "
                    f"{v.role.value} venue as {expected!r} only"
                )
            continue
        known = ccxt_exchange_ids()
        if v.exchange not in known:
            close = difflib.get_close_matches(v.exchange, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(
                f"{_venue_key(i, v)}.exchange: {v.exchange!r} is not a ccxt exchange id{hint}"
            )
    return out


def ccxt_exchange_ids() -> set[str]:
    import ccxt  # ~1 s: only for configs naming a live ccxt venue

    return set(ccxt.exchanges)


def _listing_problems(config: AppConfig) -> list[str]:
    """A market no hedge venue lists is never hedged (and not quoted: no reference book).

    A venue's `symbol_rules` is its listing; a live venue without rules may list
    anything (only the exchange knows), and so may a simulated one without rules
    (venue-sim lists every market for it)."""
    listings = [set(v.symbol_rules) for v in config.hedge_venues]
    if any(not listed for listed in listings):
        return []
    out = []
    for i, m in enumerate(config.markets):
        if not any(m.symbol in listed for listed in listings):
            venues = ", ".join(v.id for v in config.hedge_venues)
            out.append(
                f"markets[{i}] ({m.symbol}).symbol: no hedge venue lists {m.symbol} "
                f"(none of {venues} has it under symbol_rules)"
            )
    return out


def _hedge_balance_problems(config: AppConfig) -> list[str]:
    """Simulated hedge venues open with their configured balances: all zero means every
    hedge is skipped. Live venues report their own balances, so they are not judged."""
    simulated = [v for v in config.hedge_venues if v.simulated]
    if len(simulated) != len(config.hedge_venues):
        return []
    if all(amount == Decimal(0) for v in simulated for amount in v.balances.values()):
        venues = ", ".join(v.id for v in simulated)
        return [
            f"venues ({venues}).balances: every hedge venue's balances are zero or missing: "
            "no hedge could be sent"
        ]
    return []


def _alert_problems(config: AppConfig) -> list[str]:
    symbols = [m.symbol for m in config.markets]
    return [
        f"alerts.rules[{i}].market: {r.market!r} is not a configured market "
        f"(expected * or one of {', '.join(symbols)})"
        for i, r in enumerate(config.alerts.rules)
        if r.market != "*" and r.market not in symbols
    ]
