"""A hedge slice planned on the venues' snapshots (engine/hedging/execution.py)."""

from dataclasses import dataclass
from decimal import Decimal

from engine.config import RiskConfig
from engine.hedging.execution import (
    ANSWER_MARGIN_MS,
    VenueState,
    asked_max_age_ns,
    books_not_young,
    fresh_books,
    old_streamed_books,
    plan_slice,
    reference_mid,
    slice_benchmarks,
    venue_quotes,
    wants_stale_venue,
)
from engine.routing.reasons import Reason, ReasonKind, is_fault, kind_of
from engine.routing.slicing import slice_schedule
from engine.types import BookSnapshot, HedgeIntent, MarketSpec, Side

SYMBOL = "BTC/USDT"
NOW = 1_700_000_000 * 10**9
SPEC = MarketSpec(SYMBOL, Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal("5"))
RISK = RiskConfig(max_notional_per_trade=1_000.0, max_slippage_bps=50.0, max_book_age_s=5.0,
                  limit_tolerance_bps=0.0, slice_interval_s=1.0)  # fmt: skip


def _view(venue, bid, ask, *, age_s=0.0, healthy=True, balances=None, symbol=SYMBOL):
    book = BookSnapshot(venue, symbol, NOW - int(age_s * 1e9), ((bid, 10.0),), ((ask, 10.0),))
    held = balances or {"BTC": Decimal(3), "USDT": Decimal(1_000)}
    return VenueState(venue, healthy, "" if healthy else "down", {symbol: book}, held, 0.001,
                      {symbol: SPEC})  # fmt: skip


def test_the_reference_mid_is_the_best_bid_and_ask_of_healthy_fresh_books():
    views = {
        "a": _view("a", 99.0, 101.0),
        "b": _view("b", 99.5, 102.0, age_s=1.0),
        "stale": _view("stale", 100.5, 100.6, age_s=9.0),
        "down": _view("down", 100.2, 100.3, healthy=False),
    }
    assert reference_mid(views, SYMBOL, NOW, 5.0) == ((99.5 + 101.0) / 2, NOW - 10**9)
    assert sorted(fresh_books(views, SYMBOL, NOW, 5.0)) == ["a", "b"]
    assert reference_mid(views, "ETH/USDT", NOW, 5.0) is None


def test_venue_quotes_leave_out_unhealthy_and_unlisted_venues_and_offer_the_side_balance():
    views = [_view("a", 99.0, 101.0), _view("down", 99.0, 101.0, healthy=False),
             _view("eth", 9.0, 11.0, symbol="ETH/USDT")]  # fmt: skip
    buy = HedgeIntent("h", SYMBOL, Side.BUY, 1.0)
    quotes, excluded = venue_quotes(views, buy)
    assert [(q.venue, q.available) for q in quotes] == [("a", 1_000.0)]  # quote to spend
    assert excluded == {"down": "unhealthy: down", "eth": "unknown symbol BTC/USDT"}
    sell_quotes, _ = venue_quotes(views, HedgeIntent("h", SYMBOL, Side.SELL, 1.0))
    assert sell_quotes[0].available == 3.0  # base to sell


def test_venues_the_caller_leaves_out_keep_its_reason_and_offer_nothing():
    views = [_view("a", 99.0, 101.0), _view("b", 99.5, 100.5)]
    buy = HedgeIntent("h", SYMBOL, Side.BUY, 1.0)
    quotes, excluded = venue_quotes(views, buy, {"b": "stale book: b 400 ms"})
    assert [q.venue for q in quotes] == ["a"]
    assert excluded == {"b": "stale book: b 400 ms"}


def test_slices_are_planned_under_the_parent_id_with_their_own_client_ids():
    views = [_view("a", 99.9, 100.1, balances={"BTC": Decimal(9), "USDT": Decimal(10**6)})]
    parent = HedgeIntent("m-f1", SYMBOL, Side.SELL, 25.0, source_fill_id="f1")
    slices = slice_schedule(parent, 100.0, RISK, NOW)
    plans = [plan_slice(parent, piece, views, RISK, NOW) for piece in slices[:2]]
    children = [c for p in plans for c in p.children]
    assert children and all(c.hedge_id == "m-f1" for c in children)
    assert len({c.client_order_id for c in children}) == len(children)
    assert plans[0].by_venue == {"a": list(plans[0].children)}


def test_benchmarks_only_price_the_books_fresh_at_the_decision():
    views = [_view("a", 99.0, 101.0), _view("b", 99.5, 100.5, age_s=9.0)]
    intent = HedgeIntent("h", SYMBOL, Side.BUY, 1.0)
    quotes, _ = venue_quotes(views, intent)
    bench = slice_benchmarks(intent, quotes, NOW, 5.0)
    assert bench.best_single_venue == "a"
    assert bench.best_single_all_in_price == 101.0 * 1.001


def test_only_a_streaming_venues_book_older_than_the_limit_is_called_stale():
    @dataclass(frozen=True)
    class Streaming:
        view: VenueState
        stream_up: bool

        def __getattr__(self, name: str) -> object:
            return getattr(self.view, name)

    views = {
        "old": Streaming(_view("old", 99.0, 101.0, age_s=0.4), True),
        "young": Streaming(_view("young", 99.0, 101.0, age_s=0.1), True),
        "polled": Streaming(_view("polled", 99.0, 101.0, age_s=0.4), False),
    }
    assert old_streamed_books(views, SYMBOL, NOW, 300) == {
        "old": "stale book: old 400 ms > max_book_age_ms 300"
    }
    assert kind_of(old_streamed_books(views, SYMBOL, NOW, 300)["old"]) is ReasonKind.STALE_BOOK
    assert old_streamed_books(views, "ETH/USDT", NOW, 300) == {}


def test_quoting_waits_for_every_streamed_book_until_it_is_young_and_the_stream_up():
    @dataclass(frozen=True)
    class Snapshot:
        view: VenueState
        stream_up: bool
        stream: dict[str, object]  # the venue's stream status: empty when it polls

        def __getattr__(self, name: str) -> object:
            return getattr(self.view, name)

    status = {"state": "up"}
    views = {
        "young": Snapshot(_view("young", 99.0, 101.0, age_s=0.1), True, status),
        "old": Snapshot(_view("old", 99.0, 101.0, age_s=0.4), True, status),
        "syncing": Snapshot(_view("syncing", 99.0, 101.0, age_s=0.0), False, status),
        "polled": Snapshot(_view("polled", 99.0, 101.0, age_s=9.0), False, {}),
    }
    assert books_not_young(views, [SYMBOL, "ETH/USDT"], NOW, 300) == {
        "young": ["ETH/USDT"],  # no book of it at all yet
        "old": [SYMBOL, "ETH/USDT"],
        "syncing": [SYMBOL, "ETH/USDT"],  # a young copy, but its stream is not up yet
    }
    assert books_not_young(views, [SYMBOL], NOW + int(0.3e9), 1_000) == {"syncing": [SYMBOL]}
    assert books_not_young({"young": views["young"]}, [SYMBOL], NOW, 300) == {}


def test_a_book_asked_again_must_be_young_enough_to_still_be_when_the_answer_is_back():
    assert asked_max_age_ns(300.0) == int((300.0 - ANSWER_MARGIN_MS) * 1e6)
    assert asked_max_age_ns(300.0) < 300 * 1_000_000
    assert asked_max_age_ns(ANSWER_MARGIN_MS / 2) == 0  # never a negative age


def test_a_hedge_is_worth_holding_only_for_a_stale_venue_it_cannot_do_without():
    small = HedgeIntent("h", SYMBOL, Side.BUY, 1.0)  # the young venue's 10 BTC carry it
    big = HedgeIntent("h", SYMBOL, Side.BUY, 15.0)  # more than the young venue offers
    views = [_view("young", 99.9, 100.1, balances={"BTC": Decimal(0), "USDT": Decimal(10**6)})]
    stale = {"old": "stale book: old 400 ms > max_book_age_ms 300"}
    for intent, residual_left in ((small, False), (big, True)):
        (piece,) = slice_schedule(intent, 100.0, RISK.model_copy(update={
            "max_notional_per_trade": 10**7}), NOW)  # fmt: skip
        planned = plan_slice(intent, piece, views, RISK, NOW, stale)
        assert (planned.plan.residual > 0) is residual_left
        assert wants_stale_venue(planned, stale) is residual_left
        assert not wants_stale_venue(planned, {})  # no stale venue to wait for


def test_a_residual_no_stale_venue_could_place_is_not_worth_holding_for():
    """Dust left by lot rounding (below a stale venue's lot, minimum amount or minimum
    notional) is not worth a hold: each had held up to stale_book_hold_ms for nothing."""
    young = _view("young", 99.9, 100.1, balances={"BTC": Decimal(0), "USDT": Decimal(10**6)})
    views = {"young": young, "old": _view("old", 99.9, 100.1, age_s=0.4)}
    stale = {"old": "stale book: old 400 ms > max_book_age_ms 300"}
    wide = RISK.model_copy(update={"max_notional_per_trade": 10**7})
    # 1.0004: 0.0004 BTC left under the 0.001 lot; 15: 5 BTC beyond young's 10
    for amount, holds in ((1.0004, False), (1.002, False), (15.0, True)):
        intent = HedgeIntent("h", SYMBOL, Side.BUY, amount)
        (piece,) = slice_schedule(intent, 100.0, wide, NOW)
        planned = plan_slice(intent, piece, [young], RISK, NOW, stale)
        assert wants_stale_venue(planned, stale, views) is holds, (amount, planned.plan)
        # without the venues' specs any residual is worth a hold, as before
        assert wants_stale_venue(planned, stale) is (planned.plan.residual > 0)
    cheap = {"old": _view("old", 0.5, 0.6, age_s=0.4)}  # 0.004 BTC at 0.55 < 5 quote
    (piece,) = slice_schedule(HedgeIntent("h", SYMBOL, Side.BUY, 0.004), 0.55, wide, NOW)
    planned = plan_slice(HedgeIntent("h", SYMBOL, Side.BUY, 0.004), piece, [], RISK, NOW, stale)
    assert abs(planned.plan.residual - 0.004) < 1e-12
    assert not wants_stale_venue(planned, stale, cheap)  # below the minimum notional


def test_dust_with_every_venue_left_out_on_a_stale_streamed_book_is_dust():
    """The router leaves such venues out before the planner sees their quotes; their grids
    must still tell dust (under every minimum: 5 quote at mid 100 is 0.05) from a fault."""
    views = [_view("a", 99.9, 100.1), _view("b", 99.8, 100.2)]
    stale = {  # as `old_streamed_books` names them
        v: Reason(f"stale book: {v} 400 ms > max_book_age_ms 300", ReasonKind.STALE_BOOK)
        for v in ("a", "b")
    }
    for amount, fault in ((0.01, False), (0.7, True)):
        intent = HedgeIntent("h", SYMBOL, Side.BUY, amount)
        (piece,) = slice_schedule(intent, 100.0, RISK, NOW)
        planned = plan_slice(intent, piece, views, RISK, NOW, stale)
        assert planned.children == () and planned.quotes == ()  # none planned or priced on
        assert is_fault(planned.plan.reasons) is fault, planned.plan.reasons
        assert ("no usable venue" in planned.plan.reasons) is fault
