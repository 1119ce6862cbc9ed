"""Config models: YAML validated by pydantic, frozen, one model per component.

A bad config fails at start-up with `file: key: reason`. Secrets come from
environment variables (`${BINANCE_API_KEY}`), are `SecretStr`, and never reach
a log line, an exception message or a Parquet row.

One module per component: `venue`, `sim`, `market`, `risk`, `alerts`,
`broker`, `timing`, `handover` (user makers, step-back, incentives), and
`app` (the whole run) with `loader` (YAML, `${ENV}`).
"""

from engine.config.alerts import AlertAction, AlertKind, AlertRuleConfig, AlertsConfig
from engine.config.app import (
    AnalyticsConfig,
    AppConfig,
    RayConfig,
    SlaExclusion,
    market_definitions,
    scaled_config,
    structural_changes,
)
from engine.config.base import (
    Bps,
    ConfigError,
    FeeRate,
    NonNegDecimal,
    NonNegFloat,
    PositiveFloat,
    Probability,
)
from engine.config.broker import (
    BrokerConfig,
    ClientLimitsConfig,
    RateLimitConfig,
    RfqClientConfig,
)
from engine.config.handover import (
    HandoverConfig,
    IncentiveConfig,
    ScheduledMakerConfig,
    StepBackMode,
)
from engine.config.loader import env_references, load_config, parse_config
from engine.config.market import (
    HedgeMode,
    MarketConfig,
    MarketStage,
    MarketTier,
    PolicyName,
    PolicyParamsConfig,
    QuotePriority,
    VolGuardConfig,
)
from engine.config.risk import RebalancerConfig, RiskConfig
from engine.config.sim import AssetProcessConfig, SimConfig, TakerFlowConfig, UserMakerConfig
from engine.config.timing import TimingConfig
from engine.config.venue import (
    BalanceBandConfig,
    BookProfileConfig,
    FaultConfig,
    FaultsFileConfig,
    OutageWindowConfig,
    SymbolRulesConfig,
    VenueConfig,
    VenueKind,
    VenueRole,
)

__all__ = [
    "AlertAction",
    "AlertKind",
    "AlertRuleConfig",
    "AlertsConfig",
    "AnalyticsConfig",
    "AppConfig",
    "AssetProcessConfig",
    "BalanceBandConfig",
    "BookProfileConfig",
    "Bps",
    "BrokerConfig",
    "ClientLimitsConfig",
    "ConfigError",
    "FaultConfig",
    "FaultsFileConfig",
    "FeeRate",
    "HandoverConfig",
    "HedgeMode",
    "IncentiveConfig",
    "MarketConfig",
    "MarketStage",
    "MarketTier",
    "NonNegDecimal",
    "NonNegFloat",
    "OutageWindowConfig",
    "PolicyName",
    "PolicyParamsConfig",
    "PositiveFloat",
    "Probability",
    "QuotePriority",
    "RateLimitConfig",
    "RayConfig",
    "RebalancerConfig",
    "RfqClientConfig",
    "RiskConfig",
    "ScheduledMakerConfig",
    "SimConfig",
    "SlaExclusion",
    "StepBackMode",
    "SymbolRulesConfig",
    "TakerFlowConfig",
    "TimingConfig",
    "UserMakerConfig",
    "VenueConfig",
    "VenueKind",
    "VenueRole",
    "VolGuardConfig",
    "env_references",
    "load_config",
    "market_definitions",
    "parse_config",
    "scaled_config",
    "structural_changes",
]
