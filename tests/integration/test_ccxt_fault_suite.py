"""2,000 hedge child orders through `CcxtVenue` against a venue that misbehaves.

The venue simulator runs in-process on a free loopback port (Binance dialect,
unmodified ccxt client) with seeded faults: 10 % of requests time out (half of
them after the order executed: the unknown outcome), 5 % answer 429 with
Retry-After, 5 % of new orders are rejected, 20 % of orders fill partially.
Children run 32 at a time. Afterwards the venue's own records are the judge:

* no duplicated execution: every venue trade id appears in exactly one result,
  and no child ever had two orders on the venue;
* no lost child: every child has a final status, and every order the venue
  executed is accounted for in the child result that owns it;
* the executions reported add up to the venue's balance change exactly (Decimal).

Time: the venue's hang is 1.2 s against a 0.6 s client timeout. The budget's
clock runs 20x faster than the wall, so the ~100 Retry-After pauses (1-5 s
each, venue time) are honoured in venue time without a 90-second test; the
venue's minute weight limit is raised to match.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import AppConfig, FaultConfig, FaultsFileConfig, load_config
from engine.sim.server import SimCredentials, VenueSimServer
from engine.types import ChildOrder, ChildOrderResult, Side
from engine.venues.ccxt_venue import CcxtVenue
from engine.venues.rate_limit import WeightBudget

CONFIG: AppConfig = load_config(Path(__file__).parents[2] / "configs" / "local.yaml")
KEY, SECRET = "fault-key-0123", "fault-secret-4567"
VENUE = "binance-sim"
CHILDREN = 2_000
CONCURRENCY = 32
TIME_SCALE = 20.0
FAULTS = FaultsFileConfig(
    seed=2026,
    venues={
        VENUE: FaultConfig(
            latency_median_ms=2,
            latency_sigma=0.5,
            timeout_rate=0.10,
            timeout_after_execution_share=0.5,
            timeout_hang_s=1.2,
            rate_limit_rate=0.05,
            rate_limit_burst=1,
            reject_rate=0.05,
            partial_fill_rate=0.20,
            partial_fill_min_share=0.2,
        )
    },
)
pytestmark = pytest.mark.timeout(120)


class FastClock:
    """Venue time for the budget: runs `scale` times faster than the wall."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._t0 = time.monotonic()

    def __call__(self) -> float:
        return self._t0 + (time.monotonic() - self._t0) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.scale)


def children(mids: dict[str, float]) -> list[ChildOrder]:
    rng = random.Random(7)
    out = []
    for i in range(CHILDREN):
        symbol = "BTC/USDT" if i % 3 else "ETH/USDT"
        side = Side.BUY if i % 2 else Side.SELL
        mid = mids[symbol]
        notional = rng.uniform(20, 400)
        limit = mid * (1.003 if side is Side.BUY else 0.997)
        out.append(
            ChildOrder(
                hedge_id=f"h{i}",
                client_order_id=f"ft-{i}",
                venue=VENUE,
                symbol=symbol,
                side=side,
                amount=notional / mid,
                limit_price=limit,
            )
        )
    return out


async def run_suite() -> dict[str, object]:
    server = VenueSimServer(
        CONFIG,
        start_ns=time.time_ns(),
        credentials=SimCredentials(api_key=KEY, api_secret=SECRET),
        weight_limit_1m=10_000_000,
        faults=FAULTS,
    )
    url = {v.venue_id: v.url for v in await server.start()}[VENUE]
    clock = FastClock(TIME_SCALE)
    budget = WeightBudget(limit_per_minute=10_000_000, clock=clock, sleep=clock.sleep)
    venue = CcxtVenue(
        VENUE,
        "binance",
        ["BTC/USDT", "ETH/USDT"],
        api_key=KEY,
        api_secret=SECRET,
        base_url=url,
        timeout_s=0.6,
        max_attempts=8,
        lookup_attempts=12,
        max_wait_s=30.0,
        budget=budget,
        rng=random.Random(1),
    )
    sim = server.exchange(VENUE)
    try:
        for _ in range(20):  # market data meets the faults too
            try:
                await venue.start()
                break
            except Exception:
                await asyncio.sleep(0.05)
        before = sim.balances(KEY)
        mids = {}
        for symbol in venue.symbols:
            bids, asks, _ = sim.depth(symbol, time.time_ns(), 5)
            mids[symbol] = float((asks[0].price + bids[0].price) / 2)
        orders = children(mids)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(order: ChildOrder) -> ChildOrderResult:
            async with gate:
                return await venue.execute(order)

        started = time.monotonic()
        results = await asyncio.gather(*(one(o) for o in orders))
        elapsed = time.monotonic() - started
        await asyncio.sleep(1.5)  # let every hung request finish on the venue side
        after = sim.balances(KEY)
        venue_trades = [t for s in venue.symbols for t in sim.trades(KEY, s, time.time_ns())]
        venue_orders = {
            o.client_order_id: sim.order(
                KEY, o.symbol, time.time_ns(), client_order_id=o.client_order_id
            )
            for o in orders
            if _exists(sim, o)
        }
    finally:
        await venue.close()
        await server.stop()
    return {
        "results": results,
        "before": before,
        "after": after,
        "venue_trades": venue_trades,
        "venue_orders": venue_orders,
        "elapsed_s": elapsed,
        "budget": budget.stats,
    }


def _exists(sim, order: ChildOrder) -> bool:
    from engine.sim.exchange import OrderNotFound

    try:
        sim.order(KEY, order.symbol, time.time_ns(), client_order_id=order.client_order_id)
    except OrderNotFound:
        return False
    return True


def test_two_thousand_children_through_faults_lose_nothing_and_double_nothing():
    out = asyncio.run(run_suite())
    results: list[ChildOrderResult] = out["results"]  # type: ignore[assignment]
    venue_trades = out["venue_trades"]
    venue_orders = out["venue_orders"]

    statuses = Counter(r.status for r in results)
    reasons = Counter(r.reason.split(":")[0] for r in results if r.reason)
    print(f"\nfault suite: {CHILDREN} children in {out['elapsed_s']:.1f}s; {dict(statuses)}")
    print(f"budget: {out['budget']}")
    print(f"reasons: {reasons.most_common(8)}")

    # every child has a final answer, one per child
    assert len(results) == CHILDREN
    assert [r.order.client_order_id for r in results] == [f"ft-{i}" for i in range(CHILDREN)]
    assert statuses["unknown"] == 0, [r.reason for r in results if r.status == "unknown"][:5]
    # the faults really happened: rejects, partial fills, look-ups after timeouts, 429 pauses
    assert statuses["rejected"] >= CHILDREN * 0.02
    assert statuses["partial"] >= CHILDREN * 0.05
    assert sum("looked up" in r.reason for r in results) >= CHILDREN * 0.02
    assert out["budget"].pauses >= CHILDREN * 0.02

    # no duplicated execution: venue trade ids unique across results, one venue order per child
    executions = [e for r in results for e in r.executions]
    reported_ids = Counter(e.trade_id for e in executions)
    duplicates = [t for t, n in reported_ids.items() if n > 1]
    assert duplicates == []
    venue_ids = Counter(str(t.trade_id) for t in venue_trades)
    assert all(n == 1 for n in venue_ids.values())

    # no lost child order: every venue trade is in exactly one result, and nothing more is
    lost = set(venue_ids) - set(reported_ids)
    invented = set(reported_ids) - set(venue_ids)
    print(f"duplicates: {len(duplicates)}, lost: {len(lost)}, invented: {len(invented)}")
    assert lost == set() and invented == set()
    by_child = {r.order.client_order_id: r for r in results}
    for client_id, state in venue_orders.items():
        assert by_child[client_id].filled == state.executed_qty, client_id
    for r in results:
        if r.executions:
            assert {e.order_id for e in r.executions} == {
                str(venue_orders[r.order.client_order_id].order_id)
            }

    # the executions reported equal the venue's balance change, to the unit
    expected = {a: free + locked for a, (free, locked) in out["before"].items()}
    for e in executions:
        base, quote = e.symbol.split("/")
        sign = 1 if e.side is Side.BUY else -1
        expected[base] += sign * e.amount
        expected[quote] -= sign * e.cost
        expected[e.fee_currency] = expected.get(e.fee_currency, Decimal(0)) - e.fee
    got = {a: free + locked for a, (free, locked) in out["after"].items()}
    assert got == expected
    assert executions, "nothing executed at all"
