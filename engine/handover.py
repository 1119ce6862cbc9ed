"""The handover stage's verification as pure rules: daily figures in, pass/warn/fail out.

A market has been handed over to its users when, for `days_required`
consecutive days up to the latest, the bot's share of the band's depth stayed
under `bot_share_max_pct` while the SLA held (spread and depth within target
in at least `sla_min_pct` of samples). It has rolled back when, after such a
day, the latest day's bot share is back at `rollback_bot_share_pct` or above:
users withdrew and the bot carries the book again (the market belongs back in
the aggregation stage until they return). Inputs are the `handover` view's
rows (`analytics.handover`); `marketmesh check --market` prints the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.config import HandoverConfig
from engine.readiness import CheckResult, CheckStatus

SLA_MIN_PCT = 99.0
"""Share of a day's samples with spread and depth within target for the SLA to count as met."""


@dataclass(frozen=True, slots=True)
class HandoverDay:
    """One market-day of the `handover` view."""

    day: str
    samples: int
    bot_share_pct: float | None
    spread_within_target_pct: float
    depth_within_target_pct: float
    longest_depth_gap_samples: int = 0


def sla_met(day: HandoverDay, sla_min_pct: float = SLA_MIN_PCT) -> bool:
    return (
        day.samples > 0
        and day.spread_within_target_pct >= sla_min_pct
        and day.depth_within_target_pct >= sla_min_pct
    )


def handed_over(day: HandoverDay, cfg: HandoverConfig, sla_min_pct: float = SLA_MIN_PCT) -> bool:
    """Users carried the day: the bot's share under the stage's level, the SLA met."""
    return (
        day.bot_share_pct is not None
        and day.bot_share_pct < cfg.bot_share_max_pct
        and sla_met(day, sla_min_pct)
    )


def handover_streak(
    days: Sequence[HandoverDay], cfg: HandoverConfig, sla_min_pct: float = SLA_MIN_PCT
) -> int:
    """Consecutive handed-over days ending with the latest one."""
    streak = 0
    for day in reversed(days):
        if not handed_over(day, cfg, sla_min_pct):
            break
        streak += 1
    return streak


def verify_handover(
    market: str,
    days: Sequence[HandoverDay],
    cfg: HandoverConfig,
    *,
    sla_min_pct: float = SLA_MIN_PCT,
) -> list[CheckResult]:
    """The stage's checks over `days` (oldest first): bot share, SLA, depth coverage."""
    if not days:
        return [CheckResult("handover.bot_share", market, CheckStatus.FAIL, "no book samples")]
    latest = days[-1]
    share = latest.bot_share_pct
    share_text = "n/a" if share is None else f"{share:.1f}%"
    streak = handover_streak(days, cfg, sla_min_pct)
    reached_before = any(handed_over(d, cfg, sla_min_pct) for d in days[:-1])
    out = []
    if reached_before and share is not None and share >= cfg.rollback_bot_share_pct:
        out.append(
            CheckResult(
                "handover.rollback",
                market,
                CheckStatus.FAIL,
                f"bot share back up to {share_text} on {latest.day} (rollback at "
                f"{cfg.rollback_bot_share_pct:g}%): users withdrew; the bot carries the book, "
                "treat the market as in the aggregation stage until they return",
            )
        )
    if streak >= cfg.days_required:
        status = CheckStatus.PASS
        detail = (
            f"{streak} consecutive days under {cfg.bot_share_max_pct:g}% with the SLA met "
            f"(needed {cfg.days_required}); {latest.day}: {share_text}"
        )
    else:
        status = CheckStatus.WARN
        detail = (
            f"{streak}/{cfg.days_required} consecutive days under {cfg.bot_share_max_pct:g}% "
            f"with the SLA met; {latest.day}: {share_text}"
        )
    out.append(CheckResult("handover.bot_share", market, status, detail))
    out.append(
        CheckResult(
            "handover.sla",
            market,
            CheckStatus.PASS if sla_met(latest, sla_min_pct) else CheckStatus.FAIL,
            f"{latest.day}: spread within target {latest.spread_within_target_pct:.2f}%, "
            f"depth within target {latest.depth_within_target_pct:.2f}% of "
            f"{latest.samples} samples (needs {sla_min_pct:g}%)",
        )
    )
    gap = latest.longest_depth_gap_samples
    out.append(
        CheckResult(
            "handover.depth_cover",
            market,
            CheckStatus.PASS if gap <= 1 else CheckStatus.WARN,
            f"{latest.day}: depth in band below target for at most {gap} consecutive "
            "samples (the bot must cover a withdrawal within one quote cycle: at most 1)",
        )
    )
    return out
