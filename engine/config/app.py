"""The whole run's config: venues, markets, risk, analytics, alerts, Ray, brokers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator

from engine.broker.formula import parse_formula
from engine.config.alerts import AlertsConfig
from engine.config.base import ConfigError, PositiveFloat, _Frozen, _invalid
from engine.config.broker import BrokerConfig
from engine.config.market import MarketConfig
from engine.config.risk import RebalancerConfig, RiskConfig
from engine.config.sim import SimConfig
from engine.config.timing import TimingConfig
from engine.config.venue import VenueConfig, VenueRole

SLA_BREACH_REASONS: tuple[str, ...] = (
    "paused",
    "stale_reference",
    "vol_pause",
    "not_quoting",
    "one_sided",
    "vol_widen",
    "target_widened",
    "spread_over_target",
    "depth_below_target",
)
"""Why a book sample missed its configured targets (`analytics.sla_samples`)."""


class SlaExclusion(_Frozen):
    """A named rule leaving samples out of the SLA's graded shares, e.g. a volatility
    halt: `{name: volatility_halt, reasons: [vol_pause]}`. The SLA output shows each
    rule's share of time, so an exclusion is never silent."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")]
    reasons: Annotated[list[str], Field(min_length=1)]

    @field_validator("reasons")
    @classmethod
    def _known(cls, reasons: list[str]) -> list[str]:
        unknown = sorted(set(reasons) - set(SLA_BREACH_REASONS))
        if unknown:
            raise ValueError(
                f"unknown breach reason(s) {', '.join(unknown)}; known: "
                + ", ".join(SLA_BREACH_REASONS)
            )
        return reasons


class AnalyticsConfig(_Frozen):
    flush_interval_s: PositiveFloat = 5.0
    sample_interval_s: PositiveFloat = 0.5
    sla_exclusions: list[SlaExclusion] = Field(
        default_factory=list,
        description="samples left out of the SLA, by breach reason; none by default",
    )

    @field_validator("sla_exclusions")
    @classmethod
    def _unique_names(cls, rules: list[SlaExclusion]) -> list[SlaExclusion]:
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"sla_exclusions: duplicate names in {names}")
        return rules

    def exclusions(self) -> dict[str, tuple[str, ...]]:
        """name -> reasons, as `analytics.sla.sla_summary` takes them."""
        return {r.name: tuple(r.reasons) for r in self.sla_exclusions}


class RayConfig(_Frozen):
    num_cpus: Annotated[int, Field(ge=1)] = 2
    market_actor_cpus: Annotated[float, Field(gt=0, le=16)] = 0.1
    # markets hosted by one MarketActor: each actor is a ~200 MB Ray worker, so
    # deployments with many markets group them (bench/scale.py measures both)
    markets_per_actor: Annotated[int, Field(ge=1, le=1000)] = 1
    venue_actor_cpus: Annotated[float, Field(gt=0, le=16)] = 0.1
    # the hot-path actors' collector (engine/gc_policy.py; bench/fill_throughput.py
    # --gc-compare): freeze what start-up built, and run young passes less often
    gc_freeze: bool = True
    gc_gen0_threshold: Annotated[int, Field(ge=100, le=10_000_000)] = 50_000


class AppConfig(_Frozen):
    quote_asset: str = "USDT"
    sim: SimConfig = SimConfig()
    venues: list[VenueConfig]
    markets: list[MarketConfig]
    risk: RiskConfig = RiskConfig()
    rebalancer: RebalancerConfig = RebalancerConfig()
    analytics: AnalyticsConfig = AnalyticsConfig()
    alerts: AlertsConfig = AlertsConfig()
    ray: RayConfig = RayConfig()
    timing: TimingConfig = TimingConfig()
    brokers: list[BrokerConfig] = Field(default_factory=list)

    @field_validator("brokers")
    @classmethod
    def _brokers_consistent(cls, brokers: list[BrokerConfig], info: Any) -> list[BrokerConfig]:
        """Accounts, formula venues and symbols must exist (checked once venues/markets are)."""

        if "venues" not in info.data or "markets" not in info.data:
            return brokers
        venue_ids = {v.id for v in info.data["venues"]}
        hedge_ids = {v.id for v in info.data["venues"] if v.role is VenueRole.HEDGE}
        symbols = {m.symbol for m in info.data["markets"]}
        ids = [b.id for b in brokers]
        if len(set(ids)) != len(ids):
            raise ValueError("broker ids must be unique")
        for i, b in enumerate(brokers):
            where = f"[{i}] ({b.id})"
            if b.account not in venue_ids:
                raise ValueError(f"{where}.account: no venue {b.account!r}")
            if b.hedged_symbol not in symbols:
                raise ValueError(
                    f"{where}.hedge_symbol: {b.hedged_symbol} is not a configured market "
                    "(the hedge venues only poll books of market symbols)"
                )
            formula = parse_formula(b.price_formula)
            for symbol in formula.symbols:
                if symbol not in symbols:
                    raise ValueError(
                        f"{where}.formula: {symbol} is not a configured market (no book polled)"
                    )
            for venue in formula.venues:
                if venue not in hedge_ids:
                    raise ValueError(f"{where}.formula: {venue!r} is not a hedge venue")
        return brokers

    @model_validator(mode="after")
    def _graph_consistent(self) -> AppConfig:
        ids = [v.id for v in self.venues]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"venues: ids must be unique; repeated: {', '.join(dupes)}")
        homes = [v.id for v in self.venues if v.role is VenueRole.HOME]
        if len(homes) != 1:
            raise ValueError(f"venues: exactly one venue needs role 'home'; found {len(homes)}")
        if not self.hedge_venues:
            raise ValueError("venues: at least one venue needs role 'hedge'")
        symbols = [m.symbol for m in self.markets]
        repeated = sorted({s for s in symbols if symbols.count(s) > 1})
        if repeated:
            raise ValueError(f"markets: symbols must be unique; repeated: {', '.join(repeated)}")
        if not self.markets:
            raise ValueError("markets: at least one market is needed")
        for i, m in enumerate(self.markets):
            for asset in (m.base, m.quote):
                simulated = any(v.simulated for v in self.venues)
                if simulated and asset != self.quote_asset and asset not in self.sim.assets:
                    raise ValueError(
                        f"markets[{i}]: market {m.symbol}: "
                        f"sim.assets has no price process for {asset}"
                    )
        return self

    @property
    def home_venue(self) -> VenueConfig:
        return next(v for v in self.venues if v.role is VenueRole.HOME)

    @property
    def hedge_venues(self) -> list[VenueConfig]:
        return [v for v in self.venues if v.role is VenueRole.HEDGE]

    def market(self, symbol: str) -> MarketConfig:
        for m in self.markets:
            if m.symbol == symbol:
                return m
        raise KeyError(f"no market {symbol!r} in config")

    def redacted(
        self, *, keep_venues: Collection[str] = (), keep_brokers: Collection[str] = ()
    ) -> AppConfig:
        """This config with the secrets no holder of it needs taken out: every venue's
        key pair but `keep_venues`', the RFQ clients of every broker but `keep_brokers`,
        and the alert webhook (only the driver posts it). What actors, the control
        actor and `status` get: a process that can reach the graph learns no secret
        it does not need (issue 11). Built with `model_copy`: no validator reruns."""
        venues = [
            v if v.id in keep_venues else v.model_copy(update={"api_key": None, "api_secret": None})
            for v in self.venues
        ]
        brokers = [
            b if b.id in keep_brokers else b.model_copy(update={"clients": {}})
            for b in self.brokers
        ]
        alerts = self.alerts.model_copy(update={"webhook_url": None})
        return self.model_copy(update={"venues": venues, "brokers": brokers, "alerts": alerts})

    def with_secrets_from(self, other: AppConfig) -> AppConfig:
        """A redacted version (from the control actor, `apply`) with the secrets this
        holder already had put back: an actor restarted or reconfigured keeps its own."""
        theirs = {v.id: v for v in other.venues}
        venues = [
            v.model_copy(update={"api_key": t.api_key, "api_secret": t.api_secret})
            if v.api_key is None and (t := theirs.get(v.id)) is not None and t.api_key is not None
            else v
            for v in self.venues
        ]
        clients = {b.id: b.clients for b in other.brokers}
        brokers = [
            b.model_copy(update={"clients": clients[b.id]})
            if not b.clients and clients.get(b.id)
            else b
            for b in self.brokers
        ]
        alerts = self.alerts
        if alerts.webhook_url is None and other.alerts.webhook_url is not None:
            alerts = alerts.model_copy(update={"webhook_url": other.alerts.webhook_url})
        return self.model_copy(update={"venues": venues, "brokers": brokers, "alerts": alerts})

    def secret_values(self) -> list[str]:
        """Every secret this config holds, in clear: what `guard_logs` hides from the
        holder's log lines (venue key pairs, RFQ clients' key pairs, the webhook URL)."""
        held: list[SecretStr | None] = [self.alerts.webhook_url]
        for v in self.venues:
            held += [v.api_key, v.api_secret]
        for b in self.brokers:
            for c in b.clients.values():
                held += [c.api_key, c.api_secret]
        return [s.get_secret_value() for s in held if s is not None]

    @property
    def config_hash(self) -> str:
        """Stable short hash of the config (secrets excluded) tagging every row a run writes."""
        payload = self.model_dump(
            mode="json", exclude={"venues": {"__all__": {"api_key", "api_secret"}}}
        )
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return digest[:12]


def structural_changes(old: AppConfig, new: AppConfig) -> list[str]:
    """What a live graph cannot take without a restart (or `scale`): the graph's shape."""
    out = []
    if [v.id for v in old.venues] != [v.id for v in new.venues]:
        out.append("venues: ids differ (add/remove venues needs a restart)")
    if [m.symbol for m in old.markets] != [m.symbol for m in new.markets]:
        out.append("markets: symbols differ (add or remove markets with `marketmesh scale`)")
    if [(b.id, b.host, b.port) for b in old.brokers] != [
        (b.id, b.host, b.port) for b in new.brokers
    ]:
        out.append("brokers: ids/host/port differ (add/remove brokers needs a restart)")
    for key in ("quote_asset", "sim", "ray"):
        if getattr(old, key) != getattr(new, key):
            out.append(f"{key}: changed (needs a restart)")
    for a, b in zip(old.venues, new.venues, strict=False):
        if (a.kind, a.exchange, a.url, a.role) != (b.kind, b.exchange, b.url, b.role):
            out.append(f"venues[{a.id}]: kind/exchange/url/role changed (needs a restart)")
    return out


def scaled_config(
    live: AppConfig,
    *,
    add: list[str],
    remove: list[str],
    definitions: list[MarketConfig] | None = None,
) -> AppConfig:
    """The live config with markets added (defined in `definitions`) and removed: what
    `marketmesh scale` pushes; everything else stays as it is live (`apply` changes that)."""
    symbols = [m.symbol for m in live.markets]
    problems = [f"--remove-market {s}: not in the live graph" for s in remove if s not in symbols]
    problems += [f"--add-market {s}: already in the live graph" for s in add if s in symbols]
    problems += [f"{s}: both added and removed" for s in set(add) & set(remove)]
    defined = {m.symbol: m for m in definitions or []}
    problems += [
        f"--add-market {s}: no definition (give --config FILE with it under `markets:`)"
        for s in add
        if s not in defined
    ]
    if not add and not remove:
        problems.append("nothing to do: give --add-market and/or --remove-market")
    if problems:
        raise ConfigError("\n".join(problems))
    markets = [m for m in live.markets if m.symbol not in remove] + [defined[s] for s in add]
    data = live.model_dump(mode="python")
    data["markets"] = [m.model_dump(mode="python") for m in markets]  # secrets stay SecretStr
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid("scaled config", exc) from None


def market_definitions(data: Any, source: str) -> list[MarketConfig]:
    """The `markets:` of a YAML mapping (a whole config or just that list), validated."""
    if not isinstance(data, dict) or not isinstance(data.get("markets"), list):
        raise ConfigError(f"{source}: (top level): expected a mapping with a `markets:` list")
    out = []
    for i, m in enumerate(data["markets"]):
        try:
            out.append(MarketConfig.model_validate(m))
        except ValidationError as exc:
            raise _invalid(source, exc, within=("markets", i)) from None
    return out
