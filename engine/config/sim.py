"""Simulator config: reference price processes and the synthetic users of the home book."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from engine.config.base import NonNegFloat, PositiveFloat, _Frozen
from engine.config.handover import ScheduledMakerConfig


class AssetProcessConfig(_Frozen):
    """Reference price of one asset in quote: GBM with Poisson jumps (Merton 1976)."""

    initial_price: PositiveFloat
    vol_annual: NonNegFloat = 0.6
    jumps_per_day: NonNegFloat = 6.0
    jump_std: NonNegFloat = 0.004


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
    `depth_quote` of notional per side in total. `schedule` adds named makers
    who arrive, grow and withdraw over simulated days (a maturing market).
    """

    depth_quote: NonNegFloat = 0.0
    levels: Annotated[int, Field(ge=1, le=50)] = 5
    min_offset_bps: NonNegFloat = 2.0
    max_offset_bps: PositiveFloat = 40.0
    refresh_s: PositiveFloat = 5.0
    schedule: tuple[ScheduledMakerConfig, ...] = ()

    @property
    def active(self) -> bool:
        """True when any synthetic user rests orders (the anonymous ones or a schedule)."""
        return self.depth_quote > 0 or bool(self.schedule)

    @model_validator(mode="after")
    def _offsets_ordered(self) -> UserMakerConfig:
        names = [m.name for m in self.schedule]
        if len(set(names)) != len(names):
            raise ValueError("schedule: maker names must be unique")
        if self.min_offset_bps > self.max_offset_bps:
            raise ValueError(
                f"min_offset_bps {self.min_offset_bps} is above max_offset_bps "
                f"{self.max_offset_bps}"
            )
        return self


class SimConfig(_Frozen):
    seed: int = 7
    step_ms: Annotated[int, Field(ge=1, le=60_000)] = 100
    assets: dict[str, AssetProcessConfig] = Field(default_factory=dict)
