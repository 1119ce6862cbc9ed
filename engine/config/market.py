"""Market config: one home market's stage, tier, bands, policy, limits and hedge mode.

Tier and stage defaults are resolved at parse time, so every band of a parsed
`MarketConfig` is a plain number: call sites never check for None.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from engine.config.base import Bps, NonNegFloat, PositiveFloat, _Frozen
from engine.config.handover import HandoverConfig, IncentiveConfig
from engine.config.sim import TakerFlowConfig, UserMakerConfig
from engine.types import split_symbol


class HedgeMode(StrEnum):
    """How a market's fills are hedged: each fill, the net on a timer, or the net once
    it is big or old enough (`MarketConfig.hybrid_threshold_quote` / `hybrid_max_age_s`)."""

    MIRROR = "mirror"
    NET = "net"
    HYBRID = "hybrid"


class QuotePriority(StrEnum):
    """What a market gives up when its target spread does not pay for the hedge.

    `sla`: keep the target spread and record the subsidy (the hedge cost the
    quote does not cover); `profit`: never quote a level inside the all-in cost
    of hedging it plus `min_profit_bps`, even if the spread leaves its target.
    """

    SLA = "sla"
    PROFIT = "profit"


class PolicyName(StrEnum):
    """The quoting policies a market can name (`engine.quoting.base.POLICIES` maps each
    to its class); validated when the config is parsed, not when the graph starts."""

    LADDER = "ladder"
    AVELLANEDA_STOIKOV = "avellaneda_stoikov"
    GLFT = "glft"
    MIRROR = "mirror"


class MarketTier(StrEnum):
    FLAGSHIP = "flagship"
    LONG_TAIL = "long_tail"


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
    # flagship flow nets: opposite fills cancel before anything crosses a spread; 10,000
    # quote or 5 s keeps the risk held small (bench/desk.py, BENCHMARKS.md "Desk")
    MarketStage.FLAGSHIP: {
        "tier": "flagship",
        "hedge_mode": "hybrid",
        "hybrid_threshold_quote": 10_000.0,
        "hybrid_max_age_s": 5.0,
    },
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
    policy: PolicyName = PolicyName.LADDER
    # filled from the tier (and stage) defaults when absent: never None once parsed
    target_spread_bps: Annotated[float, Field(gt=0, le=10_000)]
    max_spread_bps: Bps
    depth_band_bps: Bps
    depth_target_quote: NonNegFloat
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
    priority: QuotePriority = QuotePriority.SLA
    min_profit_bps: Annotated[float, Field(ge=-100, le=1_000)] = Field(
        default=0.0, description="edge each level must keep over its all-in hedge cost"
    )
    hedge_slippage_bps: NonNegFloat = Field(
        default=0.5, description="buffer on the walked hedge price: the book moves before the IOC"
    )
    depth_headroom: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.1,
        description="in-band levels are sized for depth_target_quote * (1 + this): lot rounding, "
        "mid moves and partial fills between requotes",
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
    handover: HandoverConfig = HandoverConfig()
    incentives: IncentiveConfig = IncentiveConfig()

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
