"""The handover stage's verification: reached, progressing, rolled back."""

from engine.config import HandoverConfig
from engine.handover import HandoverDay, handover_streak, verify_handover
from engine.readiness import CheckStatus

CFG = HandoverConfig(bot_share_max_pct=30, days_required=2, rollback_bot_share_pct=60)


def _day(i, share, spread=99.9, depth=99.9, gap=0):
    return HandoverDay(f"2026-11-0{i}", 8640, share, spread, depth, gap)


def _status(results, check):
    return next(r.status for r in results if r.check == check)


def test_reached_after_enough_consecutive_days_under_the_level_with_the_sla():
    days = [_day(1, 95), _day(2, 50), _day(3, 25), _day(4, 12)]
    assert handover_streak(days, CFG) == 2
    results = verify_handover("BTC/USDT", days, CFG)
    assert _status(results, "handover.bot_share") is CheckStatus.PASS
    assert _status(results, "handover.sla") is CheckStatus.PASS
    assert not any(r.check == "handover.rollback" for r in results)


def test_a_day_missing_the_sla_breaks_the_streak():
    days = [_day(1, 20), _day(2, 15, depth=97.0), _day(3, 10)]
    assert handover_streak(days, CFG) == 1
    results = verify_handover("BTC/USDT", days, CFG)
    assert _status(results, "handover.bot_share") is CheckStatus.WARN


def test_users_withdrawing_rolls_the_stage_back():
    days = [_day(1, 20), _day(2, 15), _day(3, 75)]
    results = verify_handover("BTC/USDT", days, CFG)
    assert _status(results, "handover.rollback") is CheckStatus.FAIL
    assert _status(results, "handover.bot_share") is CheckStatus.WARN


def test_a_bot_that_never_stepped_back_is_no_rollback():
    results = verify_handover("BTC/USDT", [_day(1, 95), _day(2, 92)], CFG)
    assert not any(r.check == "handover.rollback" for r in results)


def test_a_depth_gap_longer_than_one_sample_warns():
    results = verify_handover("BTC/USDT", [_day(1, 20, gap=3)], CFG)
    assert _status(results, "handover.depth_cover") is CheckStatus.WARN
    assert verify_handover("BTC/USDT", [], CFG)[0].status is CheckStatus.FAIL
