"""Hedge cost replay: one seeded tape of home fills hedged the naive way and by the desk.

The tape is `--fills` home fills (default 1,000) drawn from the markets of
`configs/local.yaml`: Poisson arrivals at each market's `taker_flow.rate_per_s`,
lognormal notionals around its `mean_notional_quote` (sigma `size_sigma`),
buy or sell at even odds. Every fill is hedged on the same in-process venue
simulators (`engine.sim.exchange.SimExchange`, the books and fees of the
config's three hedge venues, unmodified), in simulated time:

* naive: the seed bot, one fixed venue, one market order per fill sent at the
  fill, at most `risk.max_notional_per_trade` (10,000) quote per order and
  guarded `risk.max_slippage_bps` (20) from the mid. Run once per venue; the
  headline uses the venue that was cheapest in hindsight (the hardest
  baseline, not a strawman);
* naive + netting: the same bot waiting as the router's hybrid mode does
  (the flagship's threshold and age), so routing and netting show apart;
* router, mirror / net (hybrid): the code the router actor runs, on a simulated
  clock: `engine.hedging.HedgingDesk` decides (mode per market, hybrid
  triggers on each fill batch and on the router's 200 ms timer, the cut to
  the open gap), `engine.hedging.execution.plan_slice` plans each TWAP slice
  on the venues' books (`best_split`, IOC limits inside max_slippage_bps),
  and the children are sent as IOC limits to the simulated venues.

Cost is the implementation shortfall of the whole hedge program against
hedging each fill at the reference mid at the fill's time with no fee
(Perold 1988): hedge cash flows and fees, plus whatever position is left
open at the end marked at the final reference mid, in bps of the tape's
notional. So waiting is not free: the price moves while hybrid fills wait
count in the cost. Each approach starts on fresh venues (same seeds).

    python bench/hedge_cost.py --fills 1000 --seed 11
"""

from __future__ import annotations

import argparse
import heapq
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from engine.config import AppConfig, HedgeMode, MarketConfig, load_config
from engine.hedging import DeskHedge, HedgingDesk
from engine.hedging.desk import MidOf
from engine.hedging.execution import VenueState, plan_slice, reference_mid
from engine.hedging.modes import with_hedge_mode
from engine.routing.slicing import HedgeSlice, slice_schedule
from engine.sim.exchange import OrderRequest, OrderType, SimError, SimExchange, TimeInForce
from engine.sim.price import ReferencePrice
from engine.types import BookSnapshot, Fill, HedgeIntent, MarketSpec, Side, split_symbol

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "bench"
TIMER_S = 0.2  # the router's refresh / hybrid check period
START_NS = 1_767_225_600 * 10**9
DEPTH = 50


@dataclass
class Ledger:
    """Cash and base per asset the hedges moved, and the paper hedge to compare with."""

    cash: float = 0.0
    fees: float = 0.0
    position: dict[str, float] = field(default_factory=dict)
    paper_cash: float = 0.0
    notional: float = 0.0
    target: dict[str, float] = field(default_factory=dict)
    orders: int = 0
    rejected: int = 0

    def on_fill(self, fill: Fill, mid: float) -> None:
        base, _ = split_symbol(fill.market)
        q = float(fill.amount)
        self.notional += q * mid
        self.paper_cash += fill.side.sign * q * mid  # hedge the opposite side at mid
        self.target[base] = self.target.get(base, 0.0) - fill.side.sign * q

    def on_trade(self, base: str, side: Side, qty: float, price: float, fee: float) -> None:
        self.cash -= side.sign * qty * price
        self.cash -= fee
        self.fees += fee
        self.position[base] = self.position.get(base, 0.0) + side.sign * qty

    def gap(self, base: str) -> Decimal:
        """The asset's exposure as the ledger sees it (fills and hedges booked; > 0 long)."""
        return Decimal(repr(self.position.get(base, 0.0) - self.target.get(base, 0.0)))

    def shortfall(self, final_mids: dict[str, float]) -> tuple[float, float]:
        """(total cost, of which fees) in quote; leftover positions closed at the final mid."""
        cash = self.cash
        for base, target in self.target.items():
            left = target - self.position.get(base, 0.0)
            cash -= left * final_mids[base]
        return self.paper_cash - cash, self.fees


def tape(cfg: AppConfig, n: int, seed: int) -> list[Fill]:
    """`n` home fills over the config's markets, merged by time."""
    rng = np.random.default_rng(seed)
    fills: list[Fill] = []
    total_rate = sum(m.taker_flow.rate_per_s for m in cfg.markets)
    t = 0.0
    reference = _reference(cfg)
    for i in range(n):
        t += rng.exponential(1.0 / total_rate)
        weights = [m.taker_flow.rate_per_s / total_rate for m in cfg.markets]
        market: MarketConfig = cfg.markets[int(rng.choice(len(cfg.markets), p=weights))]
        flow = market.taker_flow
        sigma = flow.size_sigma
        notional = flow.mean_notional_quote * math.exp(rng.normal(-sigma * sigma / 2, sigma))
        ts = START_NS + int(t * 1e9)
        mid = reference.price(market.base, ts)
        lot = cfg.home_venue.rules_for(market.symbol).lot_size
        amount = max(lot, (Decimal(repr(notional / mid)) / lot).to_integral_value() * lot)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        fills.append(
            Fill(ts, "home", market.symbol, f"f{i}", f"o{i}", side, Decimal(repr(mid)), amount,
                 Decimal(0), cfg.quote_asset)
        )  # fmt: skip
    return fills


def _reference(cfg: AppConfig) -> ReferencePrice:
    return ReferencePrice(
        cfg.sim.assets, seed=cfg.sim.seed, step_ms=cfg.sim.step_ms, start_ns=START_NS
    )


class Venues:
    """The config's hedge venues, simulated in process, fresh accounts."""

    def __init__(self, cfg: AppConfig) -> None:
        self.cfg = cfg
        self.reference = _reference(cfg)
        symbols = [m.symbol for m in cfg.markets]
        self.exchanges = {
            v.id: SimExchange(v, self.reference, cfg.sim.seed, cfg.quote_asset, symbols)
            for v in cfg.hedge_venues
        }

    def mid(self, symbol: str, ts_ns: int) -> float:
        return self.reference.price(split_symbol(symbol)[0], ts_ns)

    def views(self, symbol: str, ts_ns: int) -> dict[str, VenueState]:
        """Every venue's book of `symbol` at `ts_ns`, its balances, fee and grid."""
        out = {}
        for venue, ex in self.exchanges.items():
            bids, asks, _ = ex.depth(symbol, ts_ns, DEPTH)
            book = BookSnapshot(
                venue,
                symbol,
                ts_ns,
                tuple((float(lv.price), float(lv.amount)) for lv in bids),
                tuple((float(lv.price), float(lv.amount)) for lv in asks),
            )
            rules = ex.rules(symbol)
            spec = MarketSpec(symbol, rules.tick_size, rules.lot_size, rules.lot_size,
                              rules.min_notional)  # fmt: skip
            free = {a: v[0] for a, v in ex.balances(ACCOUNT).items()}
            out[venue] = VenueState(venue, True, "", {symbol: book}, free, float(ex.taker_fee),
                                 {symbol: spec})  # fmt: skip
        return out

    def send(
        self, ledger: Ledger, venue: str, symbol: str, side: Side, request: OrderRequest, ts: int
    ) -> None:
        ledger.orders += 1
        try:
            state = self.exchanges[venue].place_order(ACCOUNT, request, ts)
        except SimError:
            ledger.rejected += 1
            return
        base, _ = split_symbol(symbol)
        for t in state.fills:
            ledger.on_trade(base, side, float(t.qty), float(t.price), float(t.fee))


class NaiveBot:
    """The seed bot: market orders on one fixed venue, each at most `max_notional_per_trade`
    of quote and guarded `max_slippage_bps` from the reference mid (an IOC at that limit:
    what the book does not give inside it stays open). With `netting`, the same wait as
    the router's hybrid mode first: a market's fills net out until their net is worth
    `threshold` quote or the oldest is `age_s` old (checked on each fill and every 200 ms).
    """

    def __init__(
        self, cfg: AppConfig, venue: str, netting: tuple[float, float] | None = None
    ) -> None:
        self.cfg, self.venue, self.netting = cfg, venue, netting
        self.venues, self.ledger = Venues(cfg), Ledger()
        self.pools: dict[str, tuple[Decimal, int]] = {}  # market -> (net base, oldest ts)

    def run(self, fills: list[Fill]) -> Ledger:
        timer_ns = int(TIMER_S * 1e9)
        next_timer = START_NS
        for fill in fills:
            while self.netting and next_timer <= fill.ts_ns:
                self._check_all(next_timer)
                next_timer += timer_ns
            self.ledger.on_fill(fill, self.venues.mid(fill.market, fill.ts_ns))
            if self.netting is None:
                self.hedge(fill.market, fill.side.opposite, fill.amount, fill.ts_ns)
                continue
            net, oldest = self.pools.get(fill.market, (Decimal(0), fill.ts_ns))
            self.pools[fill.market] = (net + fill.side.sign * fill.amount, oldest)
            self._check(fill.market, fill.ts_ns)
        end = fills[-1].ts_ns + int(10 * 1e9)
        while self.netting and next_timer <= end:
            self._check_all(next_timer)
            next_timer += timer_ns
        for market, (net, _) in list(self.pools.items()):  # drain what still waits
            if net:
                self.hedge(market, Side.SELL if net > 0 else Side.BUY, abs(net), end)
        return self.ledger

    def _check_all(self, ts: int) -> None:
        for market in list(self.pools):
            self._check(market, ts)

    def _check(self, market: str, ts: int) -> None:
        assert self.netting is not None
        threshold, age_s = self.netting
        net, oldest = self.pools[market]
        if net == 0:
            return
        mid = self.venues.mid(market, ts)
        if abs(float(net)) * mid >= threshold or (ts - oldest) / 1e9 >= age_s:
            self.hedge(market, Side.SELL if net > 0 else Side.BUY, abs(net), ts)
            del self.pools[market]

    def hedge(self, market: str, side: Side, amount: Decimal, ts: int) -> None:
        risk, ex = self.cfg.risk, self.venues.exchanges[self.venue]
        rules = ex.rules(market)
        mid = self.venues.mid(market, ts)
        guard = mid * (1 + side.sign * risk.max_slippage_bps / 1e4)
        limit = (Decimal(repr(guard)) / rules.tick_size).to_integral_value(
            rounding="ROUND_FLOOR" if side is Side.BUY else "ROUND_CEILING"
        ) * rules.tick_size
        cap = Decimal(repr(risk.max_notional_per_trade / mid))
        left = (amount / rules.lot_size).to_integral_value(rounding="ROUND_FLOOR") * rules.lot_size
        while left > 0:
            qty = min(
                left, (cap / rules.lot_size).to_integral_value("ROUND_FLOOR") * rules.lot_size
            )
            if qty <= 0:
                break
            left -= qty
            request = OrderRequest(
                market, side, OrderType.LIMIT, quantity=qty, price=limit,
                time_in_force=TimeInForce.IOC,
            )  # fmt: skip
            self.venues.send(self.ledger, self.venue, market, side, request, ts)


def run_naive(
    cfg: AppConfig, fills: list[Fill], venue: str, netting: tuple[float, float] | None = None
) -> Ledger:
    return NaiveBot(cfg, venue, netting).run(fills)


@dataclass(frozen=True, slots=True)
class SliceDue:
    """A TWAP slice of a hedge the desk started, due at its event's time."""

    parent: HedgeIntent
    piece: HedgeSlice
    pended: bool


class DeskReplay:
    """The router's loop on a simulated clock: events are fills, timer ticks, slices due."""

    def __init__(self, cfg: AppConfig) -> None:
        self.cfg = cfg
        self.venues, self.ledger = Venues(cfg), Ledger()
        self.desk = HedgingDesk(cfg)
        self._events: list[tuple[int, int, str, object]] = []
        self._seq = 0
        self._slices_left: dict[str, int] = {}

    def push(self, ts: int, kind: str, payload: object) -> None:
        heapq.heappush(self._events, (ts, self._seq, kind, payload))
        self._seq += 1

    def mid_of(self, ts: int) -> MidOf:
        def mid(symbol: str) -> float | None:
            ref = reference_mid(
                self.venues.views(symbol, ts), symbol, ts, self.cfg.risk.max_book_age_s
            )
            return ref[0] if ref is not None else None

        return mid

    def run(self, fills: list[Fill]) -> Ledger:
        for fill in fills:
            self.push(fill.ts_ns, "fill", fill)
        end = fills[-1].ts_ns + int(10 * 1e9)
        for k in range(int((end - START_NS) / (TIMER_S * 1e9)) + 1):
            self.push(START_NS + int(k * TIMER_S * 1e9), "timer", None)
        while self._events:
            ts, _, kind, payload = heapq.heappop(self._events)
            if kind == "fill":
                assert isinstance(payload, Fill)
                self.ledger.on_fill(payload, self.venues.mid(payload.market, ts))
                self.start(self.desk.on_fills([payload], ts, self.mid_of(ts)), ts)
            elif kind == "timer":
                self.start(self.desk.on_timer(ts, self.mid_of(ts)), ts)
            else:
                assert isinstance(payload, SliceDue)
                self.execute(payload, ts)
        self.start(self.desk.drain(), end)
        while self._events:
            ts, _, _, payload = heapq.heappop(self._events)
            assert isinstance(payload, SliceDue)
            self.execute(payload, ts)
        return self.ledger

    def start(self, hedges: list[DeskHedge], ts: int) -> None:
        """What `HedgeRouterActor._carry_out` does with each decision, then its slices."""
        for hedge in hedges:
            if hedge.cut_to_ledger_gap:
                base = split_symbol(hedge.intent.symbol)[0]
                hedge = self.desk.cut_to_gap(hedge, self.ledger.gap(base))
            intent = hedge.to_send
            if intent.amount <= 0:
                continue
            self.desk.started(intent, pended=hedge.pended)
            mid = self.mid_of(ts)(intent.symbol)
            slices = slice_schedule(intent, mid, self.cfg.risk, ts)
            self._slices_left[intent.hedge_id] = len(slices)
            for piece in slices:
                self.push(piece.due_ns, "slice", SliceDue(intent, piece, hedge.pended))

    def execute(self, due: SliceDue, ts: int) -> None:
        parent, piece = due.parent, due.piece
        views = self.venues.views(parent.symbol, ts)
        planned = plan_slice(parent, piece, views.values(), self.cfg.risk, ts)
        for child in planned.children:
            request = OrderRequest(
                child.symbol,
                child.side,
                OrderType.LIMIT,
                quantity=Decimal(repr(child.amount)),
                price=Decimal(repr(child.limit_price)),
                time_in_force=TimeInForce.IOC,
                client_order_id=child.client_order_id,
            )
            self.venues.send(self.ledger, child.venue, child.symbol, child.side, request, ts)
        self._slices_left[parent.hedge_id] -= 1
        if self._slices_left[parent.hedge_id] == 0:
            self.desk.booked(parent, pended=due.pended)


def saving(router_bps: float, naive_bps: float) -> float:
    """How much cheaper the router was, in % of the naive cost."""
    return 100.0 * (1.0 - router_bps / naive_bps)


def report(name: str, ledger: Ledger, final_mids: dict[str, float]) -> float:
    cost, fees = ledger.shortfall(final_mids)
    bps = cost / ledger.notional * 1e4
    print(
        f"{name:<30} cost {bps:7.3f} bps  (slippage {(cost - fees) / ledger.notional * 1e4:7.3f}"
        f" + fees {fees / ledger.notional * 1e4:6.3f})  orders {ledger.orders:5d}"
        f"  rejected {ledger.rejected}"
    )
    return bps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "local.yaml")
    parser.add_argument(
        "--hybrid-threshold", type=float, default=None, help="quote (default: the flagship's)"
    )
    parser.add_argument(
        "--hybrid-age", type=float, default=None, help="s (default: the flagship's)"
    )
    args = parser.parse_args()
    cfg = load_config(args.config)
    flagship = next((m for m in cfg.markets if m.hedge_mode is HedgeMode.HYBRID), cfg.markets[0])
    threshold = args.hybrid_threshold or flagship.hybrid_threshold_quote
    age_s = args.hybrid_age or flagship.hybrid_max_age_s
    fills = tape(cfg, args.fills, args.seed)
    end = fills[-1].ts_ns + int(10 * 1e9)
    reference = _reference(cfg)
    final_mids = {m.base: reference.price(m.base, end) for m in cfg.markets}
    notional = sum(float(f.amount) * float(f.price) for f in fills)
    span = (fills[-1].ts_ns - fills[0].ts_ns) / 1e9
    print(
        f"tape: {len(fills)} home fills over {span:.0f} s, {notional:,.0f} quote, "
        f"seed {args.seed}; venues: "
        + ", ".join(f"{v.id} (taker {v.taker_fee * 1e4:g} bps)" for v in cfg.hedge_venues)
        + f"; naive: <= {cfg.risk.max_notional_per_trade:,.0f} quote per order, "
        f"{cfg.risk.max_slippage_bps:g} bps guard; netting {threshold:g} quote / {age_s:g} s"
    )
    started = time.perf_counter()
    naive: dict[str, float] = {}
    netted: dict[str, float] = {}
    for venue in cfg.hedge_venues:
        naive[venue.id] = report(f"naive @ {venue.id}", run_naive(cfg, fills, venue.id), final_mids)
    for venue in cfg.hedge_venues:
        netted[venue.id] = report(
            f"naive + netting @ {venue.id}",
            run_naive(cfg, fills, venue.id, (threshold, age_s)),
            final_mids,
        )
    mirror_cfg = with_hedge_mode(cfg, HedgeMode.MIRROR)
    mirror = report("router mirror", DeskReplay(mirror_cfg).run(fills), final_mids)
    net_cfg = with_hedge_mode(cfg, HedgeMode.HYBRID, threshold_quote=threshold, max_age_s=age_s)
    net = report("router net (hybrid)", DeskReplay(net_cfg).run(fills), final_mids)
    best_venue = min(naive, key=lambda v: naive[v])
    best, best_netted = naive[best_venue], min(netted.values())
    print(f"naive baseline (cheapest fixed venue in hindsight): {best_venue} {best:.3f} bps")
    print(
        f"routing alone  (router mirror vs naive):            {saving(mirror, best):5.1f} % cheaper"
    )
    print(
        f"netting alone  (naive + netting vs naive):          "
        f"{saving(best_netted, best):5.1f} % cheaper"
    )
    print(
        f"routing, netted (router net vs naive + netting):    "
        f"{saving(net, best_netted):5.1f} % cheaper"
    )
    print(
        f"both           (router net vs naive):               {saving(net, best):5.1f} % cheaper"
        f"  ({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
