"""Scheduled user makers: a maturing market's arrivals, ramps and withdrawals."""

from decimal import Decimal

from engine.config import MarketConfig, ScheduledMakerConfig, UserMakerConfig, VenueConfig
from engine.sim.home_book import HomeBook
from engine.sim.makers import ScheduledMaker, UserMakers
from engine.types import Side

S = 1_000_000_000
DAY = 86_400 * S
T0 = 1_700_000_000 * S


def _maker(**kw):
    cfg = ScheduledMakerConfig(name="alpha", depth_quote=10_000, **kw)
    return ScheduledMaker(cfg, seed=1, symbol="BTC/USDT", origin_ns=T0)


def test_arrives_on_its_day_and_ramps_to_full_depth():
    m = _maker(arrive_day=1.0, ramp_days=2.0)
    assert m.depth_quote(T0 + DAY // 2) == 0.0
    assert m.depth_quote(T0 + 2 * DAY) == 5_000.0
    assert m.depth_quote(T0 + 5 * DAY) == 10_000.0
    assert m.refresh(T0, 100.0) == [] and m.next_ns == T0 + DAY  # due again on arrival


def test_book_holds_the_ramped_depth_per_side_within_its_offsets():
    m = _maker(ramp_days=0.0, levels=4, min_offset_bps=5, max_offset_bps=20)
    orders = m.refresh(T0, 100.0)
    for side in (Side.BUY, Side.SELL):
        mine = [o for o in orders if o.side is side]
        assert len(mine) == 4
        assert abs(sum(o.price * o.amount for o in mine) - 10_000) < 1e-6
        assert all(5 <= abs(o.price - 100) / 100 * 1e4 <= 20 for o in mine)


def test_scripted_withdrawal_is_due_at_its_time_and_returns_after():
    m = _maker(ramp_days=0.0, refresh_s=60, withdraw_at_day=0.5, return_after_s=3_600)
    out = T0 + DAY // 2
    m.refresh(out - 10 * S, 100.0)
    assert m.next_ns == out  # not the refresh interval: the withdrawal comes first
    assert m.refresh(out, 100.0) == []
    assert m.next_ns == out + 3_600 * S
    assert m.refresh(out + 3_600 * S, 100.0) != []


def test_random_withdrawals_are_seeded_and_take_the_book_away():
    a = _maker(ramp_days=0.0, withdrawals_per_day=4, withdrawal_s=1_800)
    b = _maker(ramp_days=0.0, withdrawals_per_day=4, withdrawal_s=1_800)
    away = [t for t in range(0, 2 * DAY, 600 * S) if a.absent_until(T0 + t) is not None]
    assert away == [t for t in range(0, 2 * DAY, 600 * S) if b.absent_until(T0 + t) is not None]
    assert 0 < len(away) < 2 * 144  # away sometimes, not always
    assert all(a.depth_quote(T0 + t) == 0.0 for t in away)


def test_user_makers_refresh_only_who_is_due_and_count_days_from_the_first_refresh():
    cfg = UserMakerConfig(
        schedule=(
            ScheduledMakerConfig(name="a", depth_quote=1_000, ramp_days=0, refresh_s=5),
            ScheduledMakerConfig(name="b", depth_quote=1_000, ramp_days=0, refresh_s=20),
        )
    )
    makers = UserMakers(cfg, seed=1, symbol="BTC/USDT", anonymous_owner="sim-users")
    assert makers.due(T0)
    assert [o for o, _ in makers.refresh(T0, 100.0)] == ["maker-a", "maker-b"]
    assert makers.origin_ns == T0
    assert not makers.due(T0 + 4 * S)
    assert [o for o, _ in makers.refresh(T0 + 5 * S, 100.0)] == ["maker-a"]


def test_home_book_replaces_each_owners_orders_and_lists_them_per_owner():
    venue = VenueConfig(
        id="home",
        kind="sim",
        role="home",
        symbol_rules={"BTC/USDT": {"tick_size": "0.01", "lot_size": "0.0001"}},
    )
    market = MarketConfig(
        symbol="BTC/USDT",
        user_makers=UserMakerConfig(
            schedule=(
                ScheduledMakerConfig(name="a", depth_quote=5_000, ramp_days=0, refresh_s=5),
                ScheduledMakerConfig(
                    name="b", depth_quote=3_000, ramp_days=0, refresh_s=5, withdraw_at_day=0.0001
                ),
            )
        ),
    )
    book = HomeBook(venue, market, seed=3, session="s")
    book.refresh_users(T0, 100.0)
    owners = {o for o, *_ in book.user_orders()}
    assert owners == {"maker-a", "maker-b"}
    assert len(book.engine.open_orders()) == len(book.user_orders())
    book.refresh_users(T0 + 9 * S, 100.0)  # b withdrew (8.64 s in), a refreshed
    orders = book.user_orders()
    assert {o for o, *_ in orders} == {"maker-a"}
    assert len(book.engine.open_orders()) == len(orders)
    bid = sum(p * a for o, s, p, a in orders if s is Side.BUY)
    assert abs(bid - 5_000) < 5  # lot rounding only
    assert book.engine.best_bid() < Decimal("100")
