"""Venue config: how a venue is reached, its fees, balances and bands, its simulated book."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from engine.config.base import (
    FeeRate,
    GridStep,
    NonNegDecimal,
    NonNegFloat,
    PositiveFloat,
    Probability,
    _Frozen,
)
from engine.types import MarketSpec


class VenueKind(StrEnum):
    SIM = "sim"
    CCXT = "ccxt"


class VenueRole(StrEnum):
    HOME = "home"
    HEDGE = "hedge"


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
    model: Literal["redraw", "resting"] = Field(
        default="redraw",
        description=(
            "redraw: every level re-placed around each refresh's mid with a fresh amount "
            "(every level changes each refresh); resting: only the touch follows the mid, "
            "deeper levels rest on a fixed price grid and keep their amounts for seconds, "
            "so a depth event carries a few changes as a real venue's does "
            "(engine/sim/resting_book.py)"
        ),
    )


class SymbolRulesConfig(_Frozen):
    tick_size: GridStep = Decimal("0.01")
    lot_size: GridStep = Decimal("0.00001")
    min_notional: Decimal = Decimal("1")


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
    # websocket streams (engine/sim/faults.py StreamFaults); 0 = never
    stream_disconnect_every_s: NonNegFloat = Field(
        default=0.0, description="every stream connection is dropped this long after it opened"
    )
    depth_gap_rate: Probability = Field(
        default=0.0, description="share of diff-depth events lost (a gap in update ids)"
    )
    depth_repeat_rate: Probability = Field(
        default=0.0, description="share of diff-depth events sent twice (a repeat)"
    )
    stream_stall_at_s: NonNegFloat = Field(
        default=0.0, description="the connections open at this time stop sending, stay open"
    )
    listen_key_expire_at_s: NonNegFloat = Field(
        default=0.0, description="at this time every user-data listen key expires, once"
    )

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
    balances: dict[str, NonNegDecimal] = Field(default_factory=dict)
    book: BookProfileConfig = BookProfileConfig()
    symbol_rules: dict[str, SymbolRulesConfig] = Field(default_factory=dict)
    book_poll_interval_s: PositiveFloat = 0.25
    book_depth: Annotated[int, Field(ge=5, le=5_000)] = Field(
        default=50, description="levels fetched per L2 book (hedging, the home book, paper)"
    )
    balance_refresh_s: PositiveFloat = Field(
        default=2.0,
        description="balances refetched this often while no account stream pushes them "
        "(weight 20 on Binance)",
    )
    balance_reconcile_s: PositiveFloat = Field(
        default=60.0,
        description="while the account stream pushes balances, REST rereads them this often",
    )
    home_book_refresh_s: PositiveFloat = Field(
        default=0.5, description="a home venue behind ccxt refetches its own book this often"
    )
    timeout_s: PositiveFloat = 5.0
    market_data: Literal["stream", "poll"] | None = Field(
        default=None,
        description="books (and home fills) pushed over websockets, or REST polling; "
        "default: stream for ccxt venues, poll otherwise",
    )
    touch_stream: bool = Field(
        default=True,
        description="with streamed books, also follow the venue's real-time best bid and ask "
        "(Binance @bookTicker) and lay it over the 100 ms diffs (engine/venues/touch.py)",
    )
    stream_stale_after_s: PositiveFloat = Field(
        default=1.0, description="an open stream silent this long is resynced (reconnected)"
    )
    faults: FaultConfig = FaultConfig()
    balance_bands: dict[str, BalanceBandConfig] = Field(
        default_factory=dict, description="per asset: the rebalancer keeps the balance inside"
    )
    transfer_delay_s: NonNegFloat = Field(
        default=30.0, description="venue-sim: a withdrawal from this venue arrives after this"
    )

    @property
    def streams(self) -> bool:
        """Whether market data (and a home venue's fills) come over websockets."""
        if self.market_data is not None:
            return self.market_data == "stream"
        return self.kind is VenueKind.CCXT

    @property
    def simulated(self) -> bool:
        """True when marketmesh's own venue-sim serves this venue."""
        return self.kind is VenueKind.SIM or self.url == "sim"

    def base_url(self, served_at: str | None = None) -> str | None:
        """Where ccxt reaches this venue: the venue-sim serving it (`served_at`), the
        configured URL, or None for ccxt's own production URL. The one place `url: sim`
        is resolved."""
        if served_at:
            return served_at
        return None if self.url in (None, "sim") else self.url

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
