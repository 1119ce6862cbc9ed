"""Handover config: a maturing market's user makers, the bot's step-back, the handover
stage's verification and the maker incentive program, one model each.

The playbook's last stage hands the book to the exchange's own users. These
models say how users arrive in the simulator (`ScheduledMakerConfig`), how the
bot makes room for them without breaking the SLA (`HandoverConfig`), when the
stage counts as reached or rolled back (`HandoverConfig.bot_share_max_pct`,
`days_required`, `rollback_bot_share_pct`) and how users are paid for their
resting liquidity (`IncentiveConfig`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from engine.config.base import Bps, NonNegFloat, PositiveFloat, _Frozen


class ScheduledMakerConfig(_Frozen):
    """One user maker of a maturing market, with its own book and habits.

    It arrives `arrive_day` days after the users' first refresh and grows its
    depth linearly from nothing to `depth_quote` per side over `ramp_days`.
    Every `refresh_s` it replaces its book: `levels` orders per side between
    `min_offset_bps` and `max_offset_bps` of the reference price. It withdraws
    at random (`withdrawals_per_day`, Poisson, each for `withdrawal_s`) and, if
    `withdraw_at_day` is set, once on schedule: all its orders go at once, and
    come back after `return_after_s` (never when None).
    """

    name: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    depth_quote: PositiveFloat
    arrive_day: NonNegFloat = 0.0
    ramp_days: NonNegFloat = 1.0
    levels: Annotated[int, Field(ge=1, le=50)] = 3
    min_offset_bps: NonNegFloat = 2.0
    max_offset_bps: PositiveFloat = 40.0
    refresh_s: PositiveFloat = 5.0
    withdrawals_per_day: NonNegFloat = 0.0
    withdrawal_s: PositiveFloat = 1_800.0
    withdraw_at_day: NonNegFloat | None = None
    return_after_s: PositiveFloat | None = None

    @model_validator(mode="after")
    def _offsets_ordered(self) -> ScheduledMakerConfig:
        if self.min_offset_bps > self.max_offset_bps:
            raise ValueError(
                f"maker {self.name}: min_offset_bps {self.min_offset_bps} is above "
                f"max_offset_bps {self.max_offset_bps}"
            )
        return self


class StepBackMode(StrEnum):
    """SHARE: once users alone meet the depth target, the bot keeps `bot_share_target` of
    the band. FILL_MISSING: the bot quotes only the depth users leave missing against the
    target (plus `headroom`), and a touch of at least `min_touch_quote` for the spread."""

    SHARE = "share"
    FILL_MISSING = "fill_missing"


class HandoverConfig(_Frozen):
    """How the bot makes room for users, and what the handover stage must show."""

    step_back: StepBackMode = StepBackMode.SHARE
    headroom: Annotated[float, Field(ge=0, le=5)] = Field(
        default=0.2, description="fill_missing: aim at target * (1 + headroom) in band"
    )
    min_touch_quote: NonNegFloat = Field(
        default=0.0, description="fill_missing: the bot's touch keeps at least this notional"
    )
    bot_share_max_pct: Annotated[float, Field(gt=0, le=100)] = Field(
        default=30.0, description="handover stage: bot share of band depth at most this"
    )
    days_required: Annotated[int, Field(ge=1, le=90)] = Field(
        default=3, description="handover stage: consecutive days under the level, SLA met"
    )
    rollback_bot_share_pct: Annotated[float, Field(gt=0, le=100)] = Field(
        default=60.0, description="handover stage: a day above this means users withdrew"
    )

    @model_validator(mode="after")
    def _levels_ordered(self) -> HandoverConfig:
        if self.rollback_bot_share_pct < self.bot_share_max_pct:
            raise ValueError(
                f"rollback_bot_share_pct {self.rollback_bot_share_pct} is below "
                f"bot_share_max_pct {self.bot_share_max_pct}"
            )
        return self


class IncentiveConfig(_Frozen):
    """The maker incentive program of one market (off while the budget is 0).

    Each book sample scores every user maker's resting orders within `band_bps`
    of mid (None: the market's `depth_band_bps`): an order counts its notional
    times ((band - distance) / band) ** `distance_exponent`, summed per side
    (Q_bid, Q_ask). The sample's score is max(min(Q_bid, Q_ask), max(Q_bid,
    Q_ask) / `one_sided_divisor`): two-sided size earns in full, one side only
    a fraction (the dYdX v3 liquidity-provider rewards and Polymarket liquidity
    rewards rule). A maker's period score is the mean over the period's
    samples (a sample without its orders scores 0, so time in book counts);
    makers present in fewer than `min_uptime_pct` of samples get nothing. The
    period's `budget_quote_per_day` is shared pro rata to the scores.
    """

    budget_quote_per_day: NonNegFloat = 0.0
    band_bps: Bps | None = None
    distance_exponent: Annotated[float, Field(ge=0, le=8)] = 2.0
    one_sided_divisor: Annotated[float, Field(ge=1)] = 3.0
    min_uptime_pct: Annotated[float, Field(ge=0, le=100)] = 0.0
