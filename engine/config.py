"""Config models: YAML validated by pydantic, frozen, one model per component.

A bad config fails at start-up with `file: key: reason`. Secrets come from
environment variables (`${BINANCE_API_KEY}`), are `SecretStr`, and never reach
a log line, an exception message or a Parquet row.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.types import MarketSpec, split_symbol

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
NonNegDecimal = Annotated[Decimal, Field(ge=0)]
Bps = Annotated[float, Field(ge=0, le=10_000)]
FeeRate = Annotated[float, Field(ge=-0.01, le=0.05)]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A config that cannot run. The message is `file: key: reason`."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VenueKind(StrEnum):
    SIM = "sim"
    CCXT = "ccxt"


class VenueRole(StrEnum):
    HOME = "home"
    HEDGE = "hedge"


class HedgeMode(StrEnum):
    """How a market's fills are hedged: each fill, the net on a timer, or the net once
    it is big or old enough (`MarketConfig.hybrid_threshold_quote` / `hybrid_max_age_s`)."""

    MIRROR = "mirror"
    NET = "net"
    HYBRID = "hybrid"


class MarketTier(StrEnum):
    FLAGSHIP = "flagship"
    LONG_TAIL = "long_tail"


class AssetProcessConfig(_Frozen):
    """Reference price of one asset in quote: GBM with Poisson jumps (Merton 1976)."""

    initial_price: PositiveFloat
    vol_annual: NonNegFloat = 0.6
    jumps_per_day: NonNegFloat = 6.0
    jump_std: NonNegFloat = 0.004


class BookProfileConfig(_Frozen):
    """How a simulated external venue's L2 book looks around the reference price."""

    offset_bps: float = 0.0
    noise_bps: NonNegFloat = 0.5
    half_spread_bps: PositiveFloat = 1.0
    levels: Annotated[int, Field(ge=1, le=500)] = 25
    level_spacing_bps: PositiveFloat = 1.5
    level_notional_quote: PositiveFloat = 20_000.0
    depth_growth: PositiveFloat = 1.15
    refresh_ms: Annotated[int, Field(ge=10, le=60_000)] = 250


class SymbolRulesConfig(_Frozen):
    tick_size: Decimal = Decimal("0.01")
    lot_size: Decimal = Decimal("0.00001")
    min_notional: Decimal = Decimal("1")


Probability = Annotated[float, Field(ge=0, le=1)]


class OutageWindowConfig(_Frozen):
    """A full outage of a simulated venue: every request answers 503 in the window."""

    start_s: NonNegFloat = Field(description="seconds after the venue simulator started")
    duration_s: PositiveFloat


class FaultConfig(_Frozen):
    """Faults a simulated venue injects (engine/sim/faults.py); everything off by default.

    Rates are per request (per order request for `reject_rate` and
    `partial_fill_rate`, per book request for `stale_book_rate`). Latency is
    lognormal with median `latency_median_ms` and log-sd `latency_sigma`.
    """

    latency_median_ms: NonNegFloat = 0.0
    latency_sigma: NonNegFloat = 0.5
    timeout_rate: Probability = 0.0
    timeout_after_execution_share: Probability = Field(
        default=0.5, description="of the timed-out requests, the share executed before hanging"
    )
    timeout_hang_s: PositiveFloat = 30.0
    error_5xx_rate: Probability = 0.0
    rate_limit_rate: Probability = Field(default=0.0, description="chance a 429 burst starts")
    rate_limit_burst: Annotated[int, Field(ge=1, le=10_000)] = 3
    reject_rate: Probability = 0.0
    partial_fill_rate: Probability = 0.0
    partial_fill_min_share: Annotated[float, Field(gt=0, lt=1)] = 0.2
    stale_book_rate: Probability = 0.0
    stale_book_age_ms: Annotated[int, Field(ge=1, le=600_000)] = 2_000
    outages: list[OutageWindowConfig] = Field(default_factory=list)

    @property
    def active(self) -> bool:
        """True when any fault can happen."""
        return self != FaultConfig()


class FaultsFileConfig(_Frozen):
    """A `--faults` file: a seed, the faults of every venue, and per-venue overrides."""

    seed: int = 1
    default: FaultConfig = FaultConfig()
    venues: dict[str, FaultConfig] = Field(default_factory=dict)

    def for_venue(self, venue_id: str) -> FaultConfig:
        return self.venues.get(venue_id, self.default)


class BalanceBandConfig(_Frozen):
    """Where one asset's balance on one venue should stay (the rebalancer moves funds)."""

    low: NonNegDecimal
    target: NonNegDecimal
    high: NonNegDecimal

    @model_validator(mode="after")
    def _ordered(self) -> BalanceBandConfig:
        if not (self.low <= self.target <= self.high):
            raise ValueError(
                f"needs low <= target <= high, got {self.low} / {self.target} / {self.high}"
            )
        return self


class VenueConfig(_Frozen):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    kind: VenueKind
    role: VenueRole = VenueRole.HEDGE
    exchange: str | None = Field(default=None, description="ccxt exchange id, e.g. binance")
    url: str | None = Field(default=None, description="base URL override; 'sim' = venue-sim")
    mode: Literal["live", "paper"] = Field(
        default="live",
        description="paper: books from the venue, orders filled locally (engine/venues/paper.py)",
    )
    taker_fee: FeeRate = 0.001
    maker_fee: FeeRate = 0.0
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    balances: dict[str, Decimal] = Field(default_factory=dict)
    book: BookProfileConfig = BookProfileConfig()
    symbol_rules: dict[str, SymbolRulesConfig] = Field(default_factory=dict)
    book_poll_interval_s: PositiveFloat = 0.25
    timeout_s: PositiveFloat = 5.0
    faults: FaultConfig = FaultConfig()
    balance_bands: dict[str, BalanceBandConfig] = Field(
        default_factory=dict, description="per asset: the rebalancer keeps the balance inside"
    )
    transfer_delay_s: NonNegFloat = Field(
        default=30.0, description="venue-sim: a withdrawal from this venue arrives after this"
    )

    @property
    def simulated(self) -> bool:
        """True when marketmesh's own venue-sim serves this venue."""
        return self.kind is VenueKind.SIM or self.url == "sim"

    def rules_for(self, symbol: str) -> SymbolRulesConfig:
        return self.symbol_rules.get(symbol, SymbolRulesConfig())

    def spec_for(self, symbol: str) -> MarketSpec:
        """`symbol`'s grid on a venue the simulator plays: its configured rules, a lot the
        smallest amount."""
        rules = self.rules_for(symbol)
        return MarketSpec(
            symbol=symbol,
            tick_size=rules.tick_size,
            lot_size=rules.lot_size,
            min_amount=rules.lot_size,
            min_notional=rules.min_notional,
        )

    @model_validator(mode="after")
    def _ccxt_needs_exchange(self) -> VenueConfig:
        if self.kind is VenueKind.CCXT and not self.exchange:
            raise ValueError("kind 'ccxt' needs 'exchange' (a ccxt exchange id such as binance)")
        return self


class TakerFlowConfig(_Frozen):
    """Synthetic users who hit the home book (Poisson arrivals, lognormal sizes)."""

    rate_per_s: NonNegFloat = 1.0
    mean_notional_quote: PositiveFloat = 1_000.0
    size_sigma: NonNegFloat = 0.8
    informed_share: Annotated[float, Field(ge=0, le=1)] = 0.2


class UserMakerConfig(_Frozen):
    """Synthetic users who rest their own limit orders on the home book (off at depth 0).

    Each `refresh_s` they replace their orders: `levels` per side at random
    distances in [min_offset_bps, max_offset_bps] from the reference price,
    `depth_quote` of notional per side in total.
    """

    depth_quote: NonNegFloat = 0.0
    levels: Annotated[int, Field(ge=1, le=50)] = 5
    min_offset_bps: NonNegFloat = 2.0
    max_offset_bps: PositiveFloat = 40.0
    refresh_s: PositiveFloat = 5.0

    @model_validator(mode="after")
    def _offsets_ordered(self) -> UserMakerConfig:
        if self.min_offset_bps > self.max_offset_bps:
            raise ValueError(
                f"min_offset_bps {self.min_offset_bps} is above max_offset_bps "
                f"{self.max_offset_bps}"
            )
        return self


class PolicyParamsConfig(_Frozen):
    """Parameters of the model-based policies, in bps of mid, seconds and order sizes.

    Avellaneda-Stoikov and GLFT work on offsets from mid in bps, so one set of
    numbers suits a 65,000 and a 150 market alike: `sigma_bps_per_sqrt_s` is
    the mid's volatility (1 bps/sqrt(s) ~ 60 % a year), `k_per_bps` the decay
    of fill intensity with distance, `gamma` the risk aversion per bps and
    order size (inventory counts in units of `order_notional_quote / mid`).
    """

    gamma: PositiveFloat = 0.05
    k_per_bps: PositiveFloat = 0.5
    sigma_bps_per_sqrt_s: PositiveFloat | None = Field(
        default=None, description="fixed sigma; None = the online estimate from mid returns"
    )
    sigma_fallback_bps_per_sqrt_s: PositiveFloat = 1.0
    horizon_s: PositiveFloat = 60.0
    rolling_horizon: bool = Field(
        default=True, description="24/7: always a full horizon ahead; False = restart each period"
    )
    calibration_window_s: PositiveFloat = 300.0
    calibration_min_trades: Annotated[int, Field(ge=3)] = 30
    a_bounds_per_s: tuple[PositiveFloat, PositiveFloat] = (0.01, 1_000.0)
    k_bounds_per_bps: tuple[PositiveFloat, PositiveFloat] = (0.01, 10.0)
    mirror_margin_bps: NonNegFloat = 2.0
    mirror_slippage_bps: NonNegFloat = 1.0
    mirror_depth_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    mirror_balance_share: Annotated[float, Field(gt=0, le=1)] = 0.8


class VolGuardConfig(_Frozen):
    """Widen, then pause, when short-term sigma jumps against its long-run level."""

    short_halflife_s: PositiveFloat = 10.0
    long_halflife_s: PositiveFloat = 300.0
    min_samples: Annotated[int, Field(ge=1)] = 30
    widen_ratio: Annotated[float, Field(gt=1)] = 2.0
    pause_ratio: Annotated[float, Field(gt=1)] = 4.0
    widen_factor: Annotated[float, Field(ge=1, le=10)] = 2.0

    @model_validator(mode="after")
    def _ratios_ordered(self) -> VolGuardConfig:
        if self.widen_ratio > self.pause_ratio:
            raise ValueError(
                f"widen_ratio {self.widen_ratio} is above pause_ratio {self.pause_ratio}"
            )
        return self


class MarketStage(StrEnum):
    """Where a pair is on the path from a new listing to a book run by its users.

    The operator's playbook: (1) a market-making bot gives it a book,
    (2) routing/mirroring of external depth when depth is urgent, (3)
    flagship quality, (4) aggregation across venues once volume outgrows
    per-fill routing, (5) hand the book over to users. Each stage selects
    default bands and hedge mode (explicit keys still win) and the limits
    `marketmesh check --market` verifies before the market moves on.
    """

    BOOTSTRAP = "bootstrap"
    ROUTING = "routing"
    FLAGSHIP = "flagship"
    AGGREGATION = "aggregation"
    HANDOVER = "handover"


_STAGE_DEFAULTS: dict[MarketStage, dict[str, Any]] = {
    MarketStage.BOOTSTRAP: {"tier": "long_tail", "hedge_mode": "mirror"},
    MarketStage.ROUTING: {"hedge_mode": "mirror", "levels": 5},
    MarketStage.FLAGSHIP: {"tier": "flagship", "hedge_mode": "mirror"},
    MarketStage.AGGREGATION: {"tier": "flagship", "hedge_mode": "net"},
    MarketStage.HANDOVER: {"hedge_mode": "net"},
}

_TIER_DEFAULTS: dict[MarketTier, dict[str, float]] = {
    MarketTier.FLAGSHIP: {
        "target_spread_bps": 8.0,
        "max_spread_bps": 15.0,
        "depth_band_bps": 50.0,
        "depth_target_quote": 50_000.0,
    },
    MarketTier.LONG_TAIL: {
        "target_spread_bps": 30.0,
        "max_spread_bps": 60.0,
        "depth_band_bps": 100.0,
        "depth_target_quote": 10_000.0,
    },
}


class MarketConfig(_Frozen):
    symbol: str
    stage: MarketStage | None = None
    tier: MarketTier = MarketTier.LONG_TAIL
    policy: str = "ladder"
    target_spread_bps: Annotated[float, Field(gt=0, le=10_000)] | None = None
    max_spread_bps: Bps | None = None
    depth_band_bps: Bps | None = None
    depth_target_quote: NonNegFloat | None = None
    spread_buffer_bps: NonNegFloat = Field(
        default=0.5, description="quote this much inside the target: tick rounding widens"
    )
    levels: Annotated[int, Field(ge=1, le=50)] = 3
    level_spacing_bps: PositiveFloat = 5.0
    order_notional_quote: PositiveFloat = 10_000.0
    inventory_target: float = 0.0
    inventory_limit: PositiveFloat = 1.0
    skew_bps_at_limit: NonNegFloat = 20.0
    hedge_mode: HedgeMode = HedgeMode.MIRROR
    hybrid_threshold_quote: NonNegFloat = Field(
        default=1_000.0, description="hybrid: hedge once the unhedged net is worth this much"
    )
    hybrid_max_age_s: PositiveFloat = Field(
        default=2.0, description="hybrid: or once its oldest unhedged fill is this old"
    )
    requote_interval_s: PositiveFloat = 1.0
    requote_tolerance_bps: NonNegFloat = 2.0
    taker_flow: TakerFlowConfig = TakerFlowConfig()
    policy_params: PolicyParamsConfig = PolicyParamsConfig()
    vol_guard: VolGuardConfig = VolGuardConfig()
    bot_share_target: Annotated[float, Field(gt=0, le=1)] = Field(
        default=1.0,
        description="bot's share of band depth once users' own depth meets the target",
    )
    user_makers: UserMakerConfig = UserMakerConfig()

    @field_validator("symbol")
    @classmethod
    def _symbol_shape(cls, v: str) -> str:
        split_symbol(v)
        return v

    @model_validator(mode="before")
    @classmethod
    def _tier_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if data.get("stage") is not None:
                try:
                    stage = MarketStage(data["stage"])
                except ValueError:
                    known = ", ".join(s.value for s in MarketStage)
                    raise ValueError(f"stage {data['stage']!r}: expected one of {known}") from None
                data = {
                    **_STAGE_DEFAULTS[stage],
                    **{k: v for k, v in data.items() if v is not None},
                }
            tier = MarketTier(data.get("tier", MarketTier.LONG_TAIL))
            for key, value in _TIER_DEFAULTS[tier].items():
                if data.get(key) is None:
                    data = {**data, key: value}
        return data

    @model_validator(mode="after")
    def _bands_consistent(self) -> MarketConfig:
        assert self.target_spread_bps is not None and self.max_spread_bps is not None
        if self.target_spread_bps > self.max_spread_bps:
            raise ValueError(
                f"target_spread_bps {self.target_spread_bps} is above "
                f"max_spread_bps {self.max_spread_bps}"
            )
        return self

    @property
    def base(self) -> str:
        return split_symbol(self.symbol)[0]

    @property
    def quote(self) -> str:
        return split_symbol(self.symbol)[1]


class RiskConfig(_Frozen):
    max_notional_per_trade: PositiveFloat = 10_000.0
    max_slippage_bps: Bps = 20.0
    limit_tolerance_bps: Bps = Field(
        default=5.0,
        description="IOC limit = walked marginal price plus this, capped by max_slippage_bps",
    )
    max_book_age_s: PositiveFloat = 5.0
    slice_interval_s: PositiveFloat = Field(
        default=1.0,
        description="a hedge above max_notional_per_trade is sent in slices this far apart",
    )
    max_slices: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=100, description="most slices one hedge is cut into; the rest stays residual"
    )


class RebalancerConfig(_Frozen):
    interval_s: PositiveFloat = 5.0
    exposure_threshold_quote: NonNegFloat = 250.0
    thresholds: dict[str, Decimal] = Field(
        default_factory=dict, description="per-asset threshold in base units; overrides quote"
    )
    transfers: bool = Field(
        default=True, description="move funds between venues to keep balance bands"
    )
    min_transfer: dict[str, NonNegDecimal] = Field(
        default_factory=dict, description="per asset: smaller transfers wait for a later cycle"
    )


class AlertKind(StrEnum):
    SPREAD_BREACH = "spread_breach"
    DEPTH_BELOW_TARGET = "depth_below_target"
    NOT_QUOTING = "not_quoting"
    HEDGE_FAILURES = "hedge_failures"
    EXPOSURE_OVER_THRESHOLD = "exposure_over_threshold"
    VENUE_UNHEALTHY = "venue_unhealthy"
    STALE_REFERENCE = "stale_reference"
    PNL_DRAWDOWN = "pnl_drawdown"


class AlertAction(StrEnum):
    WIDEN = "widen"
    PAUSE_MARKET = "pause_market"
    HEDGE_NOW = "hedge_now"
    REBALANCE = "rebalance"
    KILL_SWITCH = "kill_switch"
    NOTIFY = "notify"


class AlertRuleConfig(_Frozen):
    """A condition that must hold for `for_s` seconds, and what to do about it."""

    rule: AlertKind
    market: str = Field(default="*", description="a symbol, or * for every market")
    for_s: NonNegFloat = 60.0
    action: AlertAction = AlertAction.NOTIFY
    widen_factor: Annotated[float, Field(gt=1, le=10)] = 1.5
    max_failures: Annotated[int, Field(ge=1)] = 3
    max_drawdown_quote: PositiveFloat = 1_000.0
    severity: str = "warning"


class AlertsConfig(_Frozen):
    rules: list[AlertRuleConfig] = Field(default_factory=list)
    webhook_url: SecretStr | None = None
    webhook_timeout_s: PositiveFloat = 3.0


class AnalyticsConfig(_Frozen):
    flush_interval_s: PositiveFloat = 5.0
    sample_interval_s: PositiveFloat = 0.5
    fill_batch_interval_s: PositiveFloat = 0.05


class SimConfig(_Frozen):
    seed: int = 7
    step_ms: Annotated[int, Field(ge=1, le=60_000)] = 100
    assets: dict[str, AssetProcessConfig] = Field(default_factory=dict)


class RayConfig(_Frozen):
    num_cpus: Annotated[int, Field(ge=1)] = 2
    market_actor_cpus: Annotated[float, Field(gt=0, le=16)] = 0.1
    # markets hosted by one MarketActor: each actor is a ~200 MB Ray worker, so
    # deployments with many markets group them (bench/scale.py measures both)
    markets_per_actor: Annotated[int, Field(ge=1, le=1000)] = 1
    venue_actor_cpus: Annotated[float, Field(gt=0, le=16)] = 0.1


class ClientLimitsConfig(_Frozen):
    """What one RFQ client may trade, in quote-asset notional (UTC days)."""

    max_notional_per_request_quote: PositiveFloat = 100_000.0
    max_notional_per_day_quote: PositiveFloat = 1_000_000.0


class BrokerConfig(_Frozen):
    """OTC / broker mode for one pair (engine/broker, actors/broker.py), HollaEx-like fields.

    `spread` is in percent of the walked price; `formula` names the price
    sources (`binance-sim:BTC/USDT`, `*:BTC/USDT` for every healthy venue,
    crosses such as `a:BTC/USDT / b:ETH/USDT`; default `*:<symbol>`);
    `account` is the venue whose wallet is the inventory account; a fill is
    hedged on `hedge_symbol` (default `symbol`, same base) like a market fill.
    """

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    symbol: str
    formula: str | None = None
    spread: Annotated[float, Field(ge=0, lt=50)] = 0.1
    quote_expiry_time: PositiveFloat = 30.0
    refresh_interval: PositiveFloat = Field(
        default=0.5, description="seconds between pulls of the venues' books"
    )
    min_size: Annotated[Decimal, Field(gt=0)] = Decimal("0.0001")
    max_size: Annotated[Decimal, Field(gt=0)] = Decimal("1")
    increment_size: Annotated[Decimal, Field(gt=0)] = Decimal("0.0001")
    price_increment: Annotated[Decimal, Field(gt=0)] = Decimal("0.01")
    paused: bool = False
    account: str = "home"
    hedge_symbol: str | None = None
    inventory_target: float = 0.0
    inventory_limit: PositiveFloat = 1.0
    skew_bps_at_limit: NonNegFloat = 10.0
    max_deviation_bps: Bps = 25.0
    max_book_age_s: PositiveFloat | None = Field(
        default=None, description="None = risk.max_book_age_s"
    )
    client_limits: ClientLimitsConfig = ClientLimitsConfig()
    clients: dict[str, ClientLimitsConfig] = Field(
        default_factory=dict, description="per-client overrides of client_limits"
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65_535)] = Field(default=0, description="0 = a free port")

    @field_validator("symbol", "hedge_symbol")
    @classmethod
    def _symbol_shape(cls, v: str | None) -> str | None:
        if v is not None:
            split_symbol(v)
        return v

    @model_validator(mode="after")
    def _sizes_and_formula(self) -> BrokerConfig:
        from engine.broker.formula import parse_formula

        if self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} is above max_size {self.max_size}")
        if self.min_size % self.increment_size != 0:
            raise ValueError(
                f"min_size {self.min_size} is not a multiple of increment_size "
                f"{self.increment_size}"
            )
        pair = parse_formula(self.price_formula).pair
        if pair != self.symbol:
            raise ValueError(f"formula {self.price_formula!r} prices {pair}, not {self.symbol}")
        if split_symbol(self.hedged_symbol)[0] != split_symbol(self.symbol)[0]:
            raise ValueError(
                f"hedge_symbol {self.hedged_symbol} must have the base of {self.symbol}"
            )
        return self

    @property
    def price_formula(self) -> str:
        return self.formula or f"*:{self.symbol}"

    @property
    def hedged_symbol(self) -> str:
        return self.hedge_symbol or self.symbol

    def limits_for(self, client: str) -> ClientLimitsConfig:
        return self.clients.get(client, self.client_limits)


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
    brokers: list[BrokerConfig] = Field(default_factory=list)

    @field_validator("brokers")
    @classmethod
    def _brokers_consistent(cls, brokers: list[BrokerConfig], info: Any) -> list[BrokerConfig]:
        """Accounts, formula venues and symbols must exist (checked once venues/markets are)."""
        from engine.broker.formula import parse_formula

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
            raise ValueError(f"venue ids must be unique; repeated: {', '.join(dupes)}")
        homes = [v.id for v in self.venues if v.role is VenueRole.HOME]
        if len(homes) != 1:
            raise ValueError(f"exactly one venue needs role 'home'; found {len(homes)}")
        if not self.hedge_venues:
            raise ValueError("at least one venue needs role 'hedge'")
        symbols = [m.symbol for m in self.markets]
        if len(set(symbols)) != len(symbols):
            raise ValueError("market symbols must be unique")
        if not self.markets:
            raise ValueError("at least one market is needed")
        for m in self.markets:
            for asset in (m.base, m.quote):
                simulated = any(v.simulated for v in self.venues)
                if simulated and asset != self.quote_asset and asset not in self.sim.assets:
                    raise ValueError(
                        f"market {m.symbol}: sim.assets has no price process for {asset}"
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


def _interpolate_env(node: Any, path: str, missing: list[str]) -> Any:
    if isinstance(node, dict):
        return {
            k: _interpolate_env(v, f"{path}.{k}" if path else str(k), missing)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_interpolate_env(v, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:

        def _sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            value = os.environ.get(name)
            if value is None:
                if default is not None:
                    return default
                missing.append(f"{path}: environment variable {name} is not set")
                return ""
            return value

        return _ENV_REF.sub(_sub, node)
    return node


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def parse_config(data: Any, source: str = "<config>") -> AppConfig:
    """Validate a config mapping; raise `ConfigError` with `source: key: reason` lines."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping, got {type(data).__name__}")
    missing: list[str] = []
    data = _interpolate_env(data, "", missing)
    if missing:
        raise ConfigError("\n".join(f"{source}: {m}" for m in missing))
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(source, exc) from None


def _invalid(source: str, exc: ValidationError, within: tuple[Any, ...] = ()) -> ConfigError:
    """One `source: key: reason` line per validation error; `within` prefixes the keys."""
    return ConfigError(
        "\n".join(
            f"{source}: {_loc(within + tuple(err['loc']))}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors(include_input=False, include_url=False)
        )
    )


def load_config(path: str | Path) -> AppConfig:
    """Read and validate a YAML config file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: (file): no such file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(
            f"{p}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    return parse_config(data, str(p))
