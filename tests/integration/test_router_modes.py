"""HedgeRouterActor on real Ray with in-memory venues and ledger: hybrid mode, TWAP
slices of a big hedge, and the execution-quality columns it writes."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from decimal import Decimal

import pytest
import ray

from actors.context import RunContext
from actors.router import HedgeRouterActor
from analytics.views import connect
from engine.config import HedgeMode, load_config
from engine.netting import Exposure
from engine.types import (
    BookSnapshot,
    ChildOrderResult,
    Execution,
    Fill,
    MarketSpec,
    Side,
)
from engine.venues.snapshot import VenueSnapshot
from engine.venues.stream_view import BookChanges
from tests.conftest import LOCAL_CONFIG

pytestmark = pytest.mark.integration

SYMBOL = "BTC/USDT"
SPEC = MarketSpec(SYMBOL, Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5"))


@ray.remote
class BookVenue:
    """A hedge venue whose book is a fixed ladder around 65,000; IOCs fill at their limit."""

    def __init__(self, venue: str, offset: float, fee: float) -> None:
        self.venue, self.offset, self.fee = venue, offset, fee
        self.orders: list = []

    async def snapshot(self) -> VenueSnapshot:
        mid = 65_000.0 + self.offset
        book = BookSnapshot(
            self.venue,
            SYMBOL,
            time.time_ns(),
            tuple((round(mid - 5 - 5 * i, 2), 0.2) for i in range(20)),
            tuple((round(mid + 5 + 5 * i, 2), 0.2) for i in range(20)),
        )
        balances = {"BTC": Decimal(50), "USDT": Decimal(5_000_000)}
        return VenueSnapshot(
            self.venue, True, "", {SYMBOL: book}, balances, self.fee, {SYMBOL: SPEC}
        )

    async def execute(self, orders: list) -> list[ChildOrderResult]:
        self.orders += [(time.monotonic(), o) for o in orders]
        out = []
        for o in orders:
            amount = Decimal(repr(o.amount))
            cost = amount * Decimal(repr(o.limit_price))
            fee = (cost * Decimal(repr(self.fee))).quantize(Decimal("1e-8"))
            ex = Execution(
                time.time_ns(),
                o.hedge_id,
                o.client_order_id,
                self.venue,
                o.symbol,
                o.side,
                amount,
                cost,
                fee,
                "USDT",
                trade_id=o.client_order_id,
            )
            out.append(ChildOrderResult(o, "filled", (ex,)))
        return out

    async def sent(self) -> list:
        return self.orders


@ray.remote
class GapLedger:
    """Books outcomes; reports a BTC gap the test sets (what netting left open)."""

    def __init__(self) -> None:
        self.outcomes: list = []
        self.sent: dict[str, list] = {}  # hedge id -> children journaled before sending
        self.gap = Decimal(0)

    async def on_hedge_outcomes(self, outcomes: list) -> int:
        self.outcomes += outcomes
        return len(outcomes)

    async def exposure(self, mids: dict) -> list[Exposure]:
        return [Exposure("BTC", self.gap, Decimal(0), Decimal(0), Decimal(0))]

    async def on_hedge_sent(self, hedge_id: str, children: list) -> None:
        self.sent.setdefault(hedge_id, []).extend(children)

    async def set_gap(self, gap: str) -> None:
        self.gap = Decimal(gap)

    async def booked(self) -> list:
        return self.outcomes


def _fill(fill_id: str, side: Side, amount: str) -> Fill:
    return Fill(time.time_ns(), "home", SYMBOL, fill_id, "o", side, Decimal(65_000),
                Decimal(amount), Decimal(0), "USDT")  # fmt: skip


async def _wait(predicate, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


def test_hybrid_netting_and_twap_slices_end_to_end(ray_session, tmp_path):
    cfg = load_config(LOCAL_CONFIG)
    btc = cfg.market(SYMBOL).model_copy(
        update={
            "hedge_mode": HedgeMode.HYBRID,
            "hybrid_threshold_quote": 20_000,
            "hybrid_max_age_s": 1.0,
        }
    )
    risk = cfg.risk.model_copy(update={"slice_interval_s": 0.5, "max_notional_per_trade": 10_000})
    cfg = cfg.model_copy(
        update={"markets": [btc, *[m for m in cfg.markets if m.symbol != SYMBOL]], "risk": risk}
    )
    ctx = RunContext("run1", cfg.config_hash, str(tmp_path), time.time_ns(), 7)
    venues = {"a": BookVenue.remote("a", 0.0, 0.0004), "b": BookVenue.remote("b", -3.0, 0.001)}
    ledger = GapLedger.remote()
    router = HedgeRouterActor.remote(cfg, ctx, venues, ledger)

    async def scenario():
        await router.on_start.remote()
        # two fills that net to 0.1 BTC long (6,500 quote): under the threshold, so they wait
        await ledger.set_gap.remote("0.1")
        started = await router.on_fills.remote(
            [_fill("f1", Side.BUY, "0.25"), _fill("f2", Side.SELL, "0.15")]
        )
        assert started == 0
        (hybrid,) = await _wait(ledger.booked.remote)  # the age trigger fires within ~1.2 s
        assert hybrid.side is Side.SELL and hybrid.filled == Decimal("0.1")
        # a 0.5 BTC fill (32,500 quote): over the hybrid threshold at once, and over the
        # 10,000 per-trade cap, so it goes out in 4 TWAP slices 0.5 s apart
        await ledger.set_gap.remote("0.5")
        assert await router.on_fills.remote([_fill("f3", Side.BUY, "0.5")]) == 1
        booked = await _wait(lambda: _n_booked(ledger, 2))
        # netting elsewhere already closed the gap: the hybrid hedge is not sent at all
        await ledger.set_gap.remote("0")
        assert await router.on_fills.remote([_fill("f4", Side.BUY, "0.4")]) == 1
        booked = await _wait(lambda: _n_booked(ledger, 3))
        await router.flush.remote()
        return booked

    async def _n_booked(ledger, n):
        got = await ledger.booked.remote()
        return got if len(got) >= n else None

    booked = asyncio.run(scenario())
    big = booked[1]
    assert big.filled == Decimal("0.5") and big.status.value == "hedged"
    skipped = booked[2]
    assert skipped.status.value == "skipped" and skipped.filled == 0
    assert skipped.reason.startswith("not needed: open gap 0")
    sent = [o for v in venues.values() for o in ray.get(v.sent.remote())]
    assert not [o for _, o in sent if o.hedge_id == skipped.hedge_id]
    slice_times = sorted({t for t, o in sent if o.hedge_id == big.hedge_id})
    assert len({o.client_order_id for _, o in sent}) == len(sent)  # never the same id twice
    assert slice_times[-1] - slice_times[0] >= 1.4  # 4 slices, 0.5 s apart
    assert all(o.amount * o.limit_price <= 10_000 for _, o in sent)

    con = connect(str(tmp_path))
    reasons = [
        r[0]
        for r in con.execute(
            "select distinct reason from hedge_orders where hedge_id = ? order by 1",
            [big.hedge_id],
        ).fetchall()
    ]
    # consolidated mid 64,998.5 (best bid 64,995 on a, best ask 65,002 on b)
    assert [r for r in reasons if "twap slice" in r] == [
        f"hybrid: net 32499.25 quote >= threshold 20000; twap slice {i}/4" for i in range(1, 5)
    ]
    quality = con.execute(
        "select saving_bps, best_single_all_in_price, optimum_all_in_price, "
        "achieved_all_in_price from hedge_quality where hedge_id = ?",
        [big.hedge_id],
    ).fetchone()
    saving, single, optimum, achieved = quality
    assert single is not None and optimum is not None and achieved is not None
    assert optimum >= single - 1e-9  # a sell: the optimum split keeps at least as much
    assert saving == pytest.approx((achieved - single) / single * 1e4, abs=0.5)
    ray.kill(router)


class _StreamingVenue:
    """A streaming hedge venue: its snapshot's book is `snapshot_age_s` old, and asked for
    the one book again it answers one `books_of_age_s` old."""

    def __init__(self, venue: str, snapshot_age_s: float, books_of_age_s: float) -> None:
        self.venue, self.snapshot_age_s, self.books_of_age_s = venue, snapshot_age_s, books_of_age_s
        self.orders: list = []
        self.asked: list[tuple[list[str], int | None, float]] = []
        self.follow_waits: list[float] = []  # the follower's `books_since` waits

    def _book(self, age_s: float) -> BookSnapshot:
        return BookSnapshot(
            self.venue,
            SYMBOL,
            time.time_ns() - int(age_s * 1e9),
            tuple((round(64_995 - 5 * i, 2), 0.2) for i in range(20)),
            tuple((round(65_005 + 5 * i, 2), 0.2) for i in range(20)),
        )

    async def snapshot(self) -> VenueSnapshot:
        balances = {"BTC": Decimal(50), "USDT": Decimal(5_000_000)}
        return VenueSnapshot(
            self.venue, True, "", {SYMBOL: self._book(self.snapshot_age_s)}, balances,
            0.0004, {SYMBOL: SPEC}, market_data="stream",
        )  # fmt: skip

    async def books_of(
        self, symbols: list[str], max_age_ns: int | None = None, wait_s: float = 0.0
    ) -> dict[str, BookSnapshot]:
        self.asked.append((list(symbols), max_age_ns, wait_s))
        return {SYMBOL: self._book(self.books_of_age_s)} if SYMBOL in symbols else {}

    async def execute(self, orders: list) -> list[ChildOrderResult]:
        self.orders += orders
        return [ChildOrderResult(o, "rejected", (), "test: not filled") for o in orders]

    async def seen(self) -> tuple[list, list]:
        return self.asked, self.orders


StreamingVenue = ray.remote(_StreamingVenue)


class _FollowedVenue(_StreamingVenue):
    """A streaming venue whose snapshot is old but whose stream has a fresh book: the
    router's follower (`books_since`, a long poll) takes it, so no hedge has to ask again."""

    async def snapshot(self) -> VenueSnapshot:
        snap = await super().snapshot()
        return dataclasses.replace(snap, stream={"state": "up"})

    async def books_since(
        self, epoch: int | None, version: int, wait_s: float = 0.0
    ) -> BookChanges:
        self.follow_waits.append(wait_s)
        return BookChanges(1, version + 1, {SYMBOL: self._book(0.0)})

    async def waits(self) -> list[float]:
        return self.follow_waits


FollowedVenue = ray.remote(_FollowedVenue)


def test_a_streamed_book_too_old_is_asked_again_alone_and_left_out_if_still_old(
    ray_session, tmp_path
):
    cfg = _mirror_btc(load_config(LOCAL_CONFIG))
    assert cfg.risk.max_book_age_ms < 2_000
    ctx = RunContext("run2", cfg.config_hash, str(tmp_path), time.time_ns(), 7)
    venues = {
        "fresh": StreamingVenue.remote("fresh", 2.0, 0.0),  # old copy, fresh when asked
        "stale": StreamingVenue.remote("stale", 2.0, 2.0),  # its stream is behind
    }
    ledger = GapLedger.remote()
    router = HedgeRouterActor.remote(cfg, ctx, venues, ledger)
    outcome = _hedge_one_fill(cfg, router, ledger, "s1", follow=False)
    fresh_asked, fresh_orders = ray.get(venues["fresh"].seen.remote())
    stale_asked, stale_orders = ray.get(venues["stale"].seen.remote())
    for asked in (fresh_asked, stale_asked):  # one book, not a snapshot, and worth a wait
        assert asked and all(symbols == [SYMBOL] for symbols, _, _ in asked), asked
        _, max_age_ns, wait_s = asked[0]
        assert max_age_ns < cfg.risk.max_book_age_ms * 1e6  # still young when it is back
        assert wait_s == pytest.approx(cfg.risk.stale_book_wait_ms / 1e3) and wait_s > 0
    assert fresh_orders and all(o.venue == "fresh" for o in fresh_orders), outcome
    assert not stale_orders  # never planned on a book older than max_book_age_ms
    assert "stale: stale book: stale" in outcome.reason, outcome  # named for what it is


class _StallingVenue(_FollowedVenue):
    """A followed venue whose stream path stalls on request: until `stall_until` its
    follower answers bring no book, and a book asked for again is as old as the stall."""

    def __init__(self, venue: str) -> None:
        super().__init__(venue, 2.0, 2.0)
        self.stalled_since = self.stall_until = 0.0

    async def stall(self, seconds: float) -> None:
        self.stalled_since, self.stall_until = time.time(), time.time() + seconds

    def _stalled(self) -> bool:
        return time.time() < self.stall_until

    async def books_since(
        self, epoch: int | None, version: int, wait_s: float = 0.0
    ) -> BookChanges:
        self.follow_waits.append(wait_s)
        if self._stalled():
            await asyncio.sleep(min(wait_s, 0.05))
            return BookChanges(1, version, {})
        return BookChanges(1, version + 1, {SYMBOL: self._book(0.0)})

    async def books_of(
        self, symbols: list[str], max_age_ns: int | None = None, wait_s: float = 0.0
    ) -> dict[str, BookSnapshot]:
        self.asked.append((list(symbols), max_age_ns, wait_s))
        age_s = time.time() - self.stalled_since if self._stalled() else 0.0
        return {SYMBOL: self._book(age_s)} if SYMBOL in symbols else {}


StallingVenue = ray.remote(_StallingVenue)


def test_a_hedge_that_needs_a_stalled_venue_is_held_for_its_book_then_skipped_naming_it(
    ray_session, tmp_path
):
    """The only venue's stream path stalls: a hedge is held (asking it nothing more) and
    placed once the follower brings a young book; through a stall longer than the hold
    the hedge is skipped, naming the stale book."""
    cfg = load_config(LOCAL_CONFIG)
    btc = cfg.market(SYMBOL).model_copy(update={"hedge_mode": HedgeMode.MIRROR})
    cfg = cfg.model_copy(update={"markets": [btc, *[m for m in cfg.markets if m.symbol != SYMBOL]]})
    risk = cfg.risk
    hold_s, max_age_s = risk.stale_book_hold_ms / 1e3, risk.max_book_age_ms / 1e3
    assert hold_s > risk.stale_book_wait_ms / 1e3 + 2 * max_age_s
    ctx = RunContext("run4", cfg.config_hash, str(tmp_path), time.time_ns(), 7)
    venue = StallingVenue.remote("behind")
    ledger = GapLedger.remote()
    router = HedgeRouterActor.remote(cfg, ctx, {"behind": venue}, ledger)

    async def hedge_through_a_stall(fill_id: str, stall_s: float, n: int) -> float:
        await venue.stall.remote(stall_s)
        await asyncio.sleep(2 * max_age_s)  # the router's copy is old by now
        sent = time.monotonic()
        assert await router.on_fills.remote([_fill(fill_id, Side.BUY, "0.01")]) == 1
        await _wait(lambda: _booked_at_least(ledger, n))
        return time.monotonic() - sent

    async def scenario():
        await router.on_start.remote()
        await asyncio.sleep(5 * cfg.timing.router_books_s)  # the follower has looked
        short = await hedge_through_a_stall("h1", 2 * max_age_s + 0.4, 1)  # ends in the hold
        long = await hedge_through_a_stall("h2", 2 * max_age_s + hold_s + 2.0, 2)
        return short, long, await ledger.booked.remote()

    short_s, long_s, (first, second) = asyncio.run(scenario())
    asked, orders = ray.get(venue.seen.remote())
    assert [(o.source_fill_id, o.amount) for o in orders] == [("h1", 0.01)], orders
    assert 0.3 < short_s < hold_s, short_s  # placed once the stall ended, inside the hold
    assert "test: not filled" in first.reason, first  # sent (the fake venue rejects it)
    assert second.status.value == "skipped" and "stale book: behind" in second.reason, second
    assert hold_s <= long_s < hold_s + 1.5, long_s  # skipped when the hold ran out
    assert len(asked) == 2, asked  # one ask a hedge (its first wait); the hold asks nothing
    assert ray.get(router.status.remote())["hedges_held"] == 2
    ray.kill(router)


async def _booked_at_least(ledger, n: int) -> list | None:
    outcomes = await ledger.booked.remote()
    return outcomes if len(outcomes) >= n else None


def _mirror_btc(cfg, **risk: object):
    """`cfg` with BTC/USDT hedged fill by fill (and `risk` changed): one fill, one hedge."""
    btc = cfg.market(SYMBOL).model_copy(update={"hedge_mode": HedgeMode.MIRROR})
    markets = [btc, *[m for m in cfg.markets if m.symbol != SYMBOL]]
    return cfg.model_copy(update={"markets": markets, "risk": cfg.risk.model_copy(update=risk)})


def _hedge_one_fill(cfg, router, ledger, fill_id: str, *, follow: bool = True):
    """Start `router`, let its follower look (`follow`), send one 0.01 BTC buy fill and
    return the ledger's one booked outcome."""

    async def scenario():
        await router.on_start.remote()
        if follow:
            await asyncio.sleep(5 * cfg.timing.router_books_s)  # the follower has looked
        assert await router.on_fills.remote([_fill(fill_id, Side.BUY, "0.01")]) == 1
        return await _wait(ledger.booked.remote)

    (outcome,) = asyncio.run(scenario())
    return outcome


def test_the_router_follows_streamed_books_so_a_hedge_need_not_ask_again(ray_session, tmp_path):
    cfg = _mirror_btc(load_config(LOCAL_CONFIG))
    assert cfg.timing.router_books_s < cfg.timing.router_refresh_s
    ctx = RunContext("run3", cfg.config_hash, str(tmp_path), time.time_ns(), 7)
    venues = {"followed": FollowedVenue.remote("followed", 2.0, 2.0)}  # asked again: still old
    ledger = GapLedger.remote()
    router = HedgeRouterActor.remote(cfg, ctx, venues, ledger)
    outcome = _hedge_one_fill(cfg, router, ledger, "f1")
    asked, orders = ray.get(venues["followed"].seen.remote())
    assert orders and all(o.venue == "followed" for o in orders), outcome
    assert asked == []  # the follower's copy was young enough: no round trip at the hedge
    waits = ray.get(venues["followed"].waits.remote())
    assert waits and all(w > 0 for w in waits)  # each ask may be held until a book changes
    # each answer taken is counted (status: the follow's cost, against books asked again)
    answers = ray.get(router.status.remote())["book_follow_answers"]
    assert 0 < answers <= len(ray.get(venues["followed"].waits.remote()))
    ray.kill(router)


@pytest.mark.parametrize("wait_when_covered", [False, True])
def test_a_hedge_the_young_books_cover_goes_out_without_waiting_for_a_late_venue(
    ray_session, tmp_path, wait_when_covered
):
    """Waiting for a late venue's book cost the stream path its tail (BENCHMARKS.md,
    "Planning without a late venue"): by default a hedge the young books place in full
    goes out at once; `risk.wait_when_covered` asks the late one first, as before."""
    cfg = _mirror_btc(load_config(LOCAL_CONFIG), wait_when_covered=wait_when_covered)
    ctx = RunContext(f"run-covered-{wait_when_covered}", cfg.config_hash, str(tmp_path),
                     time.time_ns(), 7)  # fmt: skip
    venues = {
        "young": FollowedVenue.remote("young", 2.0, 2.0),  # its follower brings young books
        "late": StreamingVenue.remote("late", 2.0, 0.0),  # old copy, young when asked
    }
    ledger = GapLedger.remote()
    router = HedgeRouterActor.remote(cfg, ctx, venues, ledger)
    outcome = _hedge_one_fill(cfg, router, ledger, "c1")
    late_asked, late_orders = ray.get(venues["late"].seen.remote())
    _, young_orders = ray.get(venues["young"].seen.remote())
    status = ray.get(router.status.remote())
    if wait_when_covered:  # asked again, and planned on once young: the cheaper split
        assert late_asked and late_asked[0][0] == [SYMBOL]
        assert status["planned_without_stale"] == 0
        assert late_orders or young_orders, outcome
    else:  # 0.01 BTC fits the young book's best level: sent there, nobody asked
        assert late_asked == [] and late_orders == []
        assert young_orders and all(o.venue == "young" for o in young_orders), outcome
        assert status["planned_without_stale"] == 1
        assert status["books_asked_again"] == 0
    ray.kill(router)
