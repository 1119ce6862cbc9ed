"""Backtest one home market: a quoting policy against a feed, on simulated time, without Ray.

`MarketBacktest.run` steps the live MarketActor's loop on a simulated clock
with the live objects: every `timing.market_tick_s` the takers that arrived
since the last tick trade against the home book (`HomeBook`, the live venue's
`MatchingEngine`), the reference mid is pulled every `timing.reference_pull_s`,
and the market's `engine.market.Quoter` (the object the MarketActor drives)
decides: policy, market rules, venue grid, requote rule. The book is sampled
every `sample_interval_s` (with synthetic user makers, their resting orders
within the incentive band go to `maker_orders` at each sample). Rows go to the
same tables with the same columns as a live run, so `marketmesh sla` reads a backtest like any run.

Two differences from the live loop, both to go fast:

* A tick that brings nothing new (no taker, no reference pull, requote timer
  not due) skips the policy: its inputs are the ones of the last decision, so
  its ladder would be too. The clock-driven inputs (the elapsed time of a
  finite-horizon A-S, the GLFT window sliding) then move at the next decision,
  at most one reference interval later.
* Hedging is modelled, not routed: each fill (mirror mode), the market's
  netted fills once big or old enough (hybrid mode, checked on fills and on
  the router's timer) or the net exposure over the rebalancer's threshold
  (net mode) is hedged at once across the simulated external venues' profile
  books, best all-in price first (`engine.backtest.hedge_model`): depth and
  taker fees, no latency.

The quoter sees what the live MarketActor gives it: the desk's net unhedged
exposure (home fills plus hedges plus nothing in flight, since hedges here
fill at once) and, when hedges are modelled, the external venues' books to
price its levels against.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.backtest.feeds import MarketFeed
from engine.backtest.hedge_model import NettingPool, profile_external, walk_all_in
from engine.backtest.result import BacktestResult, BacktestSettings
from engine.config import AppConfig, HedgeMode, MarketConfig, VenueConfig
from engine.hedging import mirror_hedge_id
from engine.hedging.records import modelled_hedge_columns, rows_of
from engine.market import QuoteAction, Quoter
from engine.quote_records import cancel_all_row, decision_inputs, maker_order_rows, placed_rows
from engine.sim.home_book import HomeBook
from engine.types import Fill, Side

PROGRESS_EVERY_S = 2.0
CHECKPOINT_EVERY_S = 3_600.0


class RowWriter(Protocol):
    def append(self, rows: list[dict[str, Any]]) -> None: ...


class TableWriters(Protocol):
    """Where rows go, by table: `analytics.writer.PartWriters` in a real run."""

    def __getitem__(self, table: str) -> RowWriter: ...


@dataclass(frozen=True, slots=True)
class HedgeVenueQuote:
    """What hedging `side` costs on one simulated external venue, in bps of the reference."""

    venue: str
    offset_bps: float
    half_spread_bps: float
    taker_fee: float

    def price(self, side: Side, reference_mid: float) -> float:
        sign = 1.0 if side is Side.BUY else -1.0
        return reference_mid * (1.0 + (self.offset_bps + sign * self.half_spread_bps) / 1e4)

    def all_in_bps(self, side: Side) -> float:
        """Cost against the reference: worse price plus fee, in bps (lower is better)."""
        sign = 1.0 if side is Side.BUY else -1.0
        return sign * self.offset_bps + self.half_spread_bps + self.taker_fee * 1e4


def hedge_venue_quotes(venues: list[VenueConfig]) -> list[HedgeVenueQuote]:
    return [
        HedgeVenueQuote(v.id, v.book.offset_bps, v.book.half_spread_bps, v.taker_fee)
        for v in venues
    ]


ProgressCallback = Callable[[BacktestResult, int], None]


class MarketBacktest:
    """One market, one policy, one feed; rows go to `writers` (None: totals only)."""

    def __init__(
        self,
        config: AppConfig,
        market: MarketConfig,
        feed: MarketFeed,
        *,
        seed: int,
        session: str,
        writers: TableWriters | None = None,
        settings: BacktestSettings | None = None,
    ) -> None:
        self._config = config
        self._market = market
        self._feed = feed
        self._writers = writers
        self._settings = settings or BacktestSettings()
        self._venue = HomeBook(config.home_venue, market, seed=seed, session=session)
        self._quoter = Quoter(
            market,
            self._venue.spec,
            max_book_age_s=config.risk.max_book_age_s,
            started_ns=feed.start_ns,
            read_user_depth=market.user_makers.active,
        )
        self._quoter.home_taker_fee = config.home_venue.taker_fee
        self._hedge_venues = hedge_venue_quotes(config.hedge_venues)
        self._record_makers = market.user_makers.active
        self._maker_band_bps = market.incentives.band_bps or market.depth_band_bps
        self._hedge_seq = 0
        self._pool = NettingPool()
        self.result = BacktestResult(
            market=market.symbol, policy=market.policy, start_ns=feed.start_ns, end_ns=feed.end_ns
        )

    @property
    def venue(self) -> HomeBook:
        return self._venue

    def run(
        self,
        *,
        progress: ProgressCallback | None = None,
        progress_every_s: float = PROGRESS_EVERY_S,
        checkpoint: Callable[[int], object] | None = None,
        checkpoint_every_s: float = CHECKPOINT_EVERY_S,
    ) -> BacktestResult:
        """Run the feed from start to end.

        `progress(result, now_ns)` is called every `progress_every_s` of wall time,
        `checkpoint(now_ns)` (e.g. a writer flush, so memory stays flat) every
        `checkpoint_every_s` of simulated time.
        """
        s, cfg, m = self._settings, self._config, self._market
        tick_ns = int(cfg.timing.market_tick_s * 1e9)
        pull_ns = int(cfg.timing.reference_pull_s * 1e9)
        sample_ns = int(cfg.analytics.sample_interval_s * 1e9)
        requote_ns = int(m.requote_interval_s * 1e9)
        rebalance_ns = int(cfg.rebalancer.interval_s * 1e9)
        net_hedge = s.hedge and m.hedge_mode is HedgeMode.NET
        hybrid = s.hedge and m.hedge_mode is HedgeMode.HYBRID
        router_ns = int(cfg.timing.router_refresh_s * 1e9)
        feed, venue, r, quoter = self._feed, self._venue, self.result, self._quoter
        start, end = feed.start_ns, feed.end_ns
        # every timer is due on the first tick; takers are counted from the start
        last_pull = last_sample = last_rebalance = start - max(
            pull_ns, sample_ns, requote_ns, rebalance_ns
        )
        last_poll = last_router = start
        ticks = 0
        checkpoint_ns = int(checkpoint_every_s * 1e9)
        next_checkpoint = start + checkpoint_ns
        wall_start = time.perf_counter()
        next_progress = wall_start + progress_every_s
        now = start
        while now < end:
            news = False
            if venue.users_due(now):
                ref = feed.reference(now)
                if ref is not None:
                    venue.refresh_users(now, ref[0])
            if now > last_poll:
                news = self._poll(last_poll, now)
                last_poll = now
            if now - last_pull >= pull_ns:
                last_pull = now
                news = self._pull_reference(now) or news
            if net_hedge and now - last_rebalance >= rebalance_ns:
                last_rebalance = now
                self._net_hedge(now)
            if hybrid and now - last_router >= router_ns:
                last_router = now
                self._hybrid_check(now)
            if news or quoter.timer_due(now) or quoter.is_stale(now):
                self._decide(now)
            if now - last_sample >= sample_ns:
                last_sample = now
                self._sample(now)
            ticks += 1
            if checkpoint is not None and now >= next_checkpoint:
                next_checkpoint = now + checkpoint_ns
                checkpoint(now)
            if progress is not None and ticks % 1024 == 0:
                wall = time.perf_counter()
                if wall >= next_progress:
                    next_progress = wall + progress_every_s
                    self._finish_totals(now, wall_start)
                    progress(r, now)
            now += tick_ns
        if hybrid:
            self._drain(end)
        venue.cancel_all()
        self._record_cancel_all(end)
        self._finish_totals(end, wall_start)
        return r

    # steps ---------------------------------------------------------------------

    def _poll(self, since: int, now: int) -> bool:
        """The takers that arrived in [since, now) trade; True when any arrived."""
        venue = self._venue
        arrivals = self._feed.takers(since, now, venue.home_mid())
        if not arrivals:
            return False
        fills = venue.execute(arrivals)
        if fills:
            self._on_fills(fills, now)
        if venue.trades:
            self._quoter.on_trades(venue.trades)
            venue.trades.clear()
        return True

    def _pull_reference(self, now: int) -> bool:
        """Take the feed's reference; True when it is a new observation."""
        quoter = self._quoter
        if not quoter.on_reference(now, self._feed.reference(now)):
            return False
        self.result.last_mid = quoter.reference_mid or 0.0
        if self._settings.hedge and quoter.reference_mid is not None:
            quoter.external = profile_external(
                self._config.hedge_venues, self._market.symbol, quoter.reference_mid, now
            )
        return True

    def _decide(self, now: int) -> None:
        """One quoter decision (`engine.market.Quoter.decide`), carried out on the book."""
        quoter, venue, r = self._quoter, self._venue, self.result
        quoter.net_exposure = r.home_position_base + r.hedge_position_base
        decision = quoter.decide(now, venue)
        if decision.action is QuoteAction.IDLE:
            return
        if decision.action is QuoteAction.CANCEL:
            venue.cancel_all()
            self._record_cancel_all(now)
            return
        self.result.decisions += 1
        if decision.action is QuoteAction.HOLD:
            return
        self.result.requotes += 1
        venue.cancel_all()
        self._record_cancel_all(now)
        cids = venue.place(decision.quotes, now)
        if self._writers is not None:
            self._writers["quotes"].append(
                placed_rows(
                    self._market.symbol,
                    now,
                    decision.quotes,
                    cids,
                    decision_inputs(quoter, now),
                    decision.hedge_costs_bps,
                )
            )

    def _on_fills(self, fills: list[Fill], now: int) -> None:
        r, m, quoter = self.result, self._market, self._quoter
        quoter.on_fills(fills)
        rows = quoter.fill_rows(fills, now)
        mid = quoter.reference_mid
        for f in fills:
            notional = float(f.price * f.amount)
            r.fills += 1
            r.volume_quote += notional
            r.home_cash_quote -= f.side.sign * notional + float(f.fee)
            r.home_fee_quote += float(f.fee)
            if mid is not None:
                r.capture_quote += f.side.sign * (mid - float(f.price)) * float(f.amount)
            subsidy = quoter.subsidy_bps(f)
            if subsidy is not None:
                r.subsidy_quote += subsidy * notional / 1e4
        r.home_position_base = float(quoter.position)
        if self._writers is not None:
            self._writers["fills"].append(rows)
        if not self._settings.hedge or mid is None:
            return
        if m.hedge_mode is HedgeMode.MIRROR:
            for f in fills:
                self._hedge(
                    mirror_hedge_id(f.fill_id), f.fill_id, f.side.opposite, float(f.amount), now
                )
        elif m.hedge_mode is HedgeMode.HYBRID:
            for f in fills:
                self._pool.add(f.side.sign * float(f.amount), f.ts_ns, f.fill_id)
            self._hybrid_check(now)

    def _drain(self, now: int) -> None:
        """At the end, hedge what the netting pool still holds (the router drains at stop)."""
        pool = self._pool
        if pool.net_base != 0:
            self._hedge_seq += 1
            side = Side.SELL if pool.net_base > 0 else Side.BUY
            hedge_id = f"h-{self._market.symbol}-{self._hedge_seq}"
            self._hedge(hedge_id, pool.first_fill_id, side, abs(pool.net_base), now)
        pool.clear()

    def _hybrid_check(self, now: int) -> None:
        """Hedge the netting pool once its net is big or old enough (hybrid mode)."""
        pool, m, mid = self._pool, self._market, self._quoter.reference_mid
        if mid is None or not pool.due(mid, now, m.hybrid_threshold_quote, m.hybrid_max_age_s):
            return
        self._hedge_seq += 1
        side = Side.SELL if pool.net_base > 0 else Side.BUY
        hedge_id = f"h-{m.symbol}-{self._hedge_seq}"
        self._hedge(hedge_id, pool.first_fill_id, side, abs(pool.net_base), now)
        pool.clear()

    def _net_hedge(self, now: int) -> None:
        r, mid = self.result, self._quoter.reference_mid
        if mid is None:
            return
        net = r.home_position_base + r.hedge_position_base
        threshold = self._config.rebalancer.exposure_threshold_quote
        if abs(net) * mid > threshold:
            self._hedge_seq += 1
            side = Side.SELL if net > 0 else Side.BUY
            self._hedge(f"n-{self._market.symbol}-{self._hedge_seq}", None, side, abs(net), now)

    def _hedge(
        self, hedge_id: str, fill_id: str | None, side: Side, amount: float, now: int
    ) -> None:
        """Fill a hedge at once across the venues' profile books, best all-in first."""
        quoter = self._quoter
        mid = quoter.reference_mid
        if not self._hedge_venues or mid is None or amount <= 0:
            return
        external = quoter.external or profile_external(
            self._config.hedge_venues, self._market.symbol, mid, now
        )
        if external is None:
            return
        legs = walk_all_in(external, side, amount)
        r = self.result
        r.hedges += 1
        for leg in legs:
            r.hedge_cash_quote += (-leg.cost if side is Side.BUY else leg.cost) - leg.fee
            r.hedge_position_base += side.sign * leg.amount
            r.hedge_fee_quote += leg.fee
            r.hedge_slippage_quote += side.sign * (leg.cost - mid * leg.amount)
            r.hedged_base += leg.amount
        if self._writers is None or not legs:
            return
        n = len(legs)
        orders, fills = modelled_hedge_columns(
            n,
            ts=[now] * n,
            market=self._market.symbol,
            hedge_ids=[hedge_id] * n,
            client_order_ids=[f"{hedge_id}-{i}" for i in range(n)],
            source_fill_ids=[fill_id] * n,
            venue=[leg.venue for leg in legs],
            side=[side.value] * n,
            amount=[leg.amount for leg in legs],
            decision_mid=[mid] * n,
            price=[leg.price for leg in legs],
            cost=[leg.cost for leg in legs],
            fee=[leg.fee for leg in legs],
            fee_currency=self._market.quote,
        )
        self._writers["hedge_orders"].append(rows_of(orders))
        self._writers["hedge_fills"].append(rows_of(fills))

    def _record_cancel_all(self, now: int) -> None:
        if self._writers is not None:
            self._writers["quotes"].append([cancel_all_row(self._market.symbol, now)])

    def _sample(self, now: int) -> None:
        venue, m, r = self._venue, self._market, self.result
        bids, asks = venue.levels()
        bot_bids, bot_asks = venue.bot_levels()
        row = self._quoter.sample_row(now, bids, asks, bot_bids, bot_asks)
        r.samples += 1
        spread = row["spread_bps"]
        if isinstance(spread, float) and m.target_spread_bps is not None:
            # the SLA's rule (analytics.sla_samples): the bot's own two-sided quotes
            r.samples_spread_within_target += bool(row["quoting"]) and spread <= m.target_spread_bps
        r.samples_two_sided += bool(row["quoting"])
        target = m.depth_target_quote
        r.samples_depth_within_target += (
            row["bid_depth_band"] >= target and row["ask_depth_band"] >= target
        )
        inventory = r.home_position_base
        r.inventory_sum += inventory
        r.inventory_sumsq += inventory * inventory
        if self._writers is None:
            return
        self._writers["book_samples"].append([row])
        if self._record_makers:
            maker_rows = maker_order_rows(
                m.symbol, now, venue.user_orders(), row["mid"], self._maker_band_bps
            )
            if maker_rows:
                self._writers["maker_orders"].append(maker_rows)

    def _finish_totals(self, now: int, wall_start: float) -> None:
        r = self.result
        r.book_events = self._feed.book_events(now)
        r.taker_orders = self._venue.taker_orders
        r.rejected_quotes = self._venue.rejected
        r.wall_s = time.perf_counter() - wall_start
