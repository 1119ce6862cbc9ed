"""Risk limits of the hedge router and the rebalancer's thresholds."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from engine.config.base import Bps, NonNegDecimal, NonNegFloat, PositiveFloat, _Frozen


class RiskConfig(_Frozen):
    max_notional_per_trade: PositiveFloat = 10_000.0
    max_slippage_bps: Bps = 20.0
    limit_tolerance_bps: Bps = Field(
        default=5.0,
        description="IOC limit = walked marginal price plus this, capped by max_slippage_bps",
    )
    max_book_age_s: PositiveFloat = 5.0
    max_book_age_ms: PositiveFloat = Field(
        default=300.0,
        description="with a venue's book stream up, the router plans on no older book",
    )
    stale_book_wait_ms: Annotated[float, Field(ge=0, le=5_000)] = Field(
        default=250.0,
        description="a streamed book older than max_book_age_ms at a hedge is waited for "
        "this long (the next diff usually brings it) before its venue is left out; 0: never",
    )
    wait_when_covered: bool = Field(
        default=False,
        description="false: a hedge the young books place in full goes out at once, "
        "without the venues whose streamed book is older than max_book_age_ms; true: it "
        "waits up to stale_book_wait_ms for those books first (a slower hedge that may "
        "find a better price on the late venue)",
    )
    stale_book_hold_ms: Annotated[float, Field(ge=0, le=10_000)] = Field(
        default=2_000.0,
        description="a hedge that a plan without such a venue would leave partly unplaced "
        "is held up to this long in all for the venue's book, then planned again: a stall "
        "of the stream path delays a hedge instead of skipping it (the default outlasts a "
        "stream's own 1 s silence check and stays well inside the rebalancer's interval); "
        "at or below stale_book_wait_ms: no hold",
    )
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
