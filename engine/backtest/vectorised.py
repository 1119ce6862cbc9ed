"""Fast backtest: numpy for the clock and the feed, one compiled loop for the decisions.

`MarketBacktest` runs every 100 ms tick through the live objects (policy,
rules, rounding, matching engine) at ~1.5x10^4 book events/s; this makes the
same decisions at ~2-4x10^6 per CPU-s for the ladder and Avellaneda-Stoikov
(`bench/backtest_speed.py`):

* per chunk of simulated time, the reference at every pull (the very
  `ReferencePrice` chunks the live venue uses, divided by the quote leg for a
  cross; or a recording's latest book sample), which pulls bring a new
  observation, and the takers (`BulkTakerFlow`: Poisson count per chunk,
  uniform times, lognormal sizes, as `TakerFlow` but drawn in bulk; or a
  recording's market orders) are numpy arrays; the vol guard's regime and
  the long sigma follow `SigmaEstimator` compiled (`sigma_kernel`);
* the ticks run in `engine.backtest.kernel` (numba) through
  `chunk.CompiledLoop`: takers walk the live ladder, inventory moves, each
  decision puts the desired ladder on the grid and runs the requote rule;
  what the kernel does not price is asked of the live policy and rules;
* book samples, quotes and fills are built as columns from the kernel's
  buffers at the end of each chunk (`engine.backtest.fast_rows`).

Coefficients come from the policy objects and the market config
(`kernel.coefficients_of`, `model_kernel.model_coefficients`), so the two
engines cannot drift apart. Same decisions as `MarketBacktest` on the same
inputs, checked fill for fill in `tests/unit/engine/backtest/test_vectorised.py`
(`DrawnFeed`, `RecordedFeed`). What it refuses, `fast_path_problem` says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from functools import partial

import numpy as np

from engine.backtest import kernel
from engine.backtest.chunk import ChunkTakers, CompiledLoop
from engine.backtest.draws import (
    BulkTakerFlow,
    DrawnFeed,
    FixedTakers,
    TakerDraws,
    TakerSource,
    reference_path,
)
from engine.backtest.engine import (
    PROGRESS_EVERY_S,
    BacktestResult,
    BacktestSettings,
    HedgeVenueQuote,
    hedge_venue_quotes,
)
from engine.backtest.fast_rows import ColumnWriters, FastRows, NumberedIds, Strides
from engine.backtest.feeds import Recording
from engine.backtest.ladder_grid import FastPathUnsupported, LadderOnGrid, SigmaRegimes
from engine.backtest.models import ConstantLatency, FeeModel
from engine.config import AppConfig, MarketConfig, PolicyName
from engine.sim.price import ReferencePrice
from engine.types import Side

__all__ = [
    "BulkTakerFlow",
    "ColumnWriters",
    "DrawnFeed",
    "FastLadderBacktest",
    "FastPathUnsupported",
    "FixedTakers",
    "NumberedIds",
    "TakerDraws",
    "TakerSource",
    "fast_path_problem",
]

CHUNK_S = 3_600.0
MAX_SPAN_S = 10 * 366 * 86_400.0  # `duration_s=math.inf` replays a whole recording
FAST_POLICIES = frozenset({PolicyName.LADDER, PolicyName.AVELLANEDA_STOIKOV, PolicyName.GLFT})


def fast_path_problem(market: MarketConfig, *, hedge: bool = False) -> str | None:
    """Why `market` cannot run on the fast path, or None when it can (`hedge`: hedges are
    modelled). A cross (its quote asset simulated too) runs at the cross price."""
    if market.policy not in FAST_POLICIES:
        names = ", ".join(sorted(FAST_POLICIES))
        return (
            f"policy '{market.policy}': the fast path models {names} (the mirror policy "
            "quotes the hedge venues' books, which it does not simulate)"
        )
    if market.user_makers.depth_quote > 0:
        return "user_makers: the fast path models a book with the bot's quotes only"
    if hedge:
        return (
            "hedges modelled: the desk quotes on its net exposure and prices each level "
            "against the hedge venues; the fast path models the unhedged book (--no-hedge)"
        )
    return None


class FastLadderBacktest:
    """`MarketBacktest` for the ladder, A-S and GLFT, unhedged, ~190x faster.

    On the simulated feed `takers` defaults to `BulkTakerFlow` on the market's
    flow; pass `FixedTakers` to replay given draws (the same ones `DrawnFeed`
    gives the exact engine). With `recording` it replays a recorded run
    (`RecordedFeed`'s semantics) over its span, cut to `duration_s`; `fees`
    replaces the venues' configured maker rates; `latency`'s entry part delays
    each replacement (cancel-all and place) to the first tick at least that
    late, the shell waiting for it (no decision meanwhile; takers meet the old
    ladder); `compiled=False` interprets the kernel's loop.
    """

    def __init__(
        self,
        config: AppConfig,
        market: MarketConfig,
        *,
        seed: int,
        session: str,
        start_ns: int,
        duration_s: float,
        writers: ColumnWriters | None = None,
        settings: BacktestSettings | None = None,
        takers: TakerSource | None = None,
        chunk_s: float = CHUNK_S,
        compiled: bool = True,
        fees: FeeModel | None = None,
        recording: Recording | None = None,
        latency: ConstantLatency | None = None,
    ) -> None:
        problem = fast_path_problem(
            market,
            hedge=(settings or BacktestSettings()).hedge,
        )
        if problem is not None:
            raise FastPathUnsupported(f"market {market.symbol}: {problem}")
        self._config, self._market = config, market
        self._settings = settings or BacktestSettings()
        self._writers = writers
        self._session = session
        self._spec = config.home_venue.spec_for(market.symbol)
        self._ladder = LadderOnGrid(market, self._spec)
        self._reference = ReferencePrice(
            config.sim.assets, seed=seed, step_ms=config.sim.step_ms, start_ns=start_ns
        )
        self._takers = takers or BulkTakerFlow(market.taker_flow, seed=seed, symbol=market.symbol)
        self._step_ns = config.sim.step_ms * 1_000_000
        self._start = start_ns
        self._end = start_ns + int(min(duration_s, MAX_SPAN_S) * 1e9)
        if self._end <= start_ns:
            raise ValueError(f"fast backtest: duration {duration_s} s must be positive")
        self._chunk_s = chunk_s
        self._compiled = compiled
        self._fees = fees
        self._max_age_ns = int(config.risk.max_book_age_s * 1e9)
        self._latency = latency or ConstantLatency()
        if self._latency.response_latency_ns > 0:
            raise FastPathUnsupported(
                f"market {market.symbol}: response latency: the fast path models entry "
                "latency only (the bot sees its fills at once)"
            )
        self._recording = recording
        if recording is not None:  # a replay: the recording's span, cut to duration_s
            self._start = int(recording.sample_ts_ns[0])
            self._end = min(
                int(recording.sample_ts_ns[-1]) + 1,
                self._start + int(min(duration_s, MAX_SPAN_S) * 1e9),
            )
        venues = hedge_venue_quotes(config.hedge_venues)
        self._hedge_best = (
            {s: min(venues, key=partial(HedgeVenueQuote.all_in_bps, side=s)) for s in Side}
            if venues
            else {}
        )
        self.result = BacktestResult(
            market=market.symbol, policy=market.policy, start_ns=self._start, end_ns=self._end
        )

    def run(
        self,
        *,
        progress: Callable[[BacktestResult, int], None] | None = None,
        progress_every_s: float = PROGRESS_EVERY_S,
        checkpoint: Callable[[int], object] | None = None,
    ) -> BacktestResult:
        """Run start to end in chunks of `chunk_s` simulated seconds, writing each chunk's rows
        as it ends; `checkpoint(now_ns)` after each chunk, `progress(result, now_ns)` at most
        every `progress_every_s` of wall time."""
        self._start_timers()
        tick_ns = self._tick_ns
        n_ticks = -(-(self._end - self._start) // tick_ns)
        wall_start = time.perf_counter()
        next_progress = wall_start + progress_every_s
        S = self._pull
        chunk_ticks = max(S, int(self._chunk_s * 1e9) // tick_ns // S * S)
        c0 = 0
        while c0 < n_ticks:
            c1 = min(n_ticks, c0 + chunk_ticks)
            self._run_chunk(c0, c1)
            c0 = c1
            now = self._start + c1 * tick_ns
            self._finish_totals(wall_start)
            if checkpoint is not None:
                checkpoint(now)
            if progress is not None and time.perf_counter() >= next_progress:
                next_progress = time.perf_counter() + progress_every_s
                progress(self.result, now)
        if self._writers is not None:
            self._writers.write_columns("quotes", self._rows.cancel_all_columns([self._end]))
        self._finish_totals(wall_start)
        return self.result

    def _start_timers(self) -> None:
        """Every timer as a stride of ticks, and the state the chunks carry."""
        cfg, m = self._config, self._market
        tick_ns = self._tick_ns = int(cfg.timing.market_tick_s * 1e9)

        def stride(ns: float) -> int:
            return max(1, -(-int(ns) // tick_ns))

        self._pull = stride(cfg.timing.reference_pull_s * 1e9)
        self._requote = stride(m.requote_interval_s * 1e9)
        strides = Strides(
            tick_ns=tick_ns,
            pull=self._pull,
            sample=stride(cfg.analytics.sample_interval_s * 1e9),
            rebalance=stride(cfg.rebalancer.interval_s * 1e9),
        )
        self._rows = FastRows(
            cfg,
            self._ladder,
            self.result,
            session=self._session,
            start_ns=self._start,
            strides=strides,
            settings=self._settings,
            hedge_best=self._hedge_best,
            writers=self._writers,
            fees=self._fees,
        )
        self._sigmas = SigmaRegimes(m, start_ns=self._start, tick_ns=tick_ns)
        self._last_ref_ts = -1
        self._loop = CompiledLoop(
            self._ladder,
            start_ns=self._start,
            tick_ns=tick_ns,
            pull_ticks=self._pull,
            requote_ticks=self._requote,
            compiled=self._compiled,
            entry_ticks=-(-self._latency.entry_latency_ns // tick_ns),
        )
        self._book_events = 0

    def _run_chunk(self, c0: int, c1: int) -> None:
        tick_ns, S, m, lad = self._tick_ns, self._pull, self._market, self._ladder
        ticks = np.arange(c0, c1, dtype=np.int64)
        # the mid after each tick's pull is the reference at the latest pull tick
        first_pull = c0 - c0 % S
        pulls = np.arange(first_pull, c1, S, dtype=np.int64)
        pull_mid, pull_ts = self._pull_references(pulls)
        if float(pull_mid.min()) * m.level_spacing_bps / 1e4 < 2 * lad.tick_f:
            raise FastPathUnsupported(f"{m.symbol}: levels closer than two ticks would merge")
        at = (ticks - first_pull) // S
        mid_at = pull_mid[at]
        age = self._start + ticks * tick_ns - pull_ts[at]
        if int(age.max()) > self._max_age_ns:
            raise FastPathUnsupported(
                f"{m.symbol}: the reference is older than risk.max_book_age_s at "
                f"{int(self._start + ticks[np.argmax(age)] * tick_ns)} ns (a gap in the "
                "recording): the exact engine models the cancel"
            )
        # a pull is news when it brings a new observation (always, on the simulator)
        inside = pulls >= c0
        own_ts = pull_ts[inside]
        new = own_ts != np.concatenate(([self._last_ref_ts], own_ts[:-1]))
        if len(own_ts):
            self._last_ref_ts = int(own_ts[-1])
        obs_ticks = pulls[inside][new]
        regime_at, sigma_at = self._sigmas.per_tick(
            c0, c1, obs_ticks, pull_mid[inside][new], int(self._loop.st[kernel.REGIME])
        )
        tk = self._chunk_takers(c0, c1, mid_at)
        log = self._loop.run(c0, c1, mid_at, regime_at, sigma_at, tk, obs_ticks)
        self._loop.fst[kernel.LAST_MID] = self.result.last_mid = float(mid_at[-1])
        self.result.decisions += log.decisions
        self.result.requotes += len(log.rep_tick)
        self._rows.emit(c0, c1, mid_at, log, regime_at)

    def _pull_references(self, pulls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mid, ts it was observed at) the feed answers at each pull tick: the simulator's
        price now, or a recording's latest book sample."""
        now = self._start + pulls * self._tick_ns
        rec = self._recording
        if rec is None:
            return self._symbol_path((pulls * self._tick_ns) // self._step_ns), now
        i = np.searchsorted(rec.sample_ts_ns, now, side="right") - 1
        return rec.sample_mid[i].astype(float), rec.sample_ts_ns[i].astype(np.int64)

    def _symbol_path(self, steps: np.ndarray) -> np.ndarray:
        """The market's reference at many grid steps, as `ReferencePrice.symbol_price`: the
        base's price, divided by the quote's for a cross (both simulated)."""
        m = self._market
        path = np.asarray(reference_path(self._reference, m.base, steps))
        if m.quote in self._config.sim.assets:
            path = path / np.asarray(reference_path(self._reference, m.quote, steps))
        return path

    def _chunk_takers(self, c0: int, c1: int, mid: np.ndarray) -> ChunkTakers:
        """The chunk's takers: tick T executes arrivals in [t(T-1), t(T)), priced at the
        reference at t(T), amounts floored to the lot as `HomeBook.execute` does."""
        tick_ns, start = self._tick_ns, self._start
        since = start + max(0, c0 - 1) * tick_ns
        until = start + (c1 - 1) * tick_ns
        if self._recording is not None:
            return self._recorded_takers(since, until)
        draws = self._takers.draw(since, until) if until > since else None
        if draws is None or not len(draws.ts_ns):
            return ChunkTakers.empty()
        self._book_events += len(draws.ts_ns)
        exec_tick = (draws.ts_ns - start) // tick_ns + 1
        ref_exec = self._symbol_path((exec_tick * tick_ns) // self._step_ns)
        base = draws.notional_quote / ref_exec
        lots = self._lots(base)
        keep = lots > 0
        self.result.taker_orders += int(np.count_nonzero(keep))
        return ChunkTakers(
            news_ticks=exec_tick,
            tick=exec_tick[keep],
            lots=lots[keep].astype(np.int64),
            ts=draws.ts_ns[keep].astype(np.int64),
            informed=draws.informed[keep].astype(bool),
            coin_buy=draws.coin_buy[keep].astype(bool),
            ref=ref_exec[keep].astype(float),
        )

    def _recorded_takers(self, since: int, until: int) -> ChunkTakers:
        """A recording's market orders in [since, until): sides and amounts as recorded."""
        rec = self._recording
        assert rec is not None
        lo, hi = np.searchsorted(rec.taker_ts_ns, [since, until], side="left")
        if until <= since or hi <= lo:
            return ChunkTakers.empty()
        ts = rec.taker_ts_ns[lo:hi].astype(np.int64)
        exec_tick = (ts - self._start) // self._tick_ns + 1
        lots = self._lots(rec.taker_amount[lo:hi].astype(float))
        keep = lots > 0
        self.result.taker_orders += int(np.count_nonzero(keep))
        n = int(np.count_nonzero(keep))
        return ChunkTakers(
            news_ticks=exec_tick,
            tick=exec_tick[keep],
            lots=lots[keep].astype(np.int64),
            ts=ts[keep],
            informed=np.zeros(n, dtype=bool),
            coin_buy=rec.taker_is_buy[lo:hi][keep].astype(bool),
            ref=np.zeros(n),
        )

    def _lots(self, base: np.ndarray) -> np.ndarray:
        """Amounts floored to the lot as `HomeBook.execute` does (its Decimal near a lot)."""
        lad = self._ladder
        q = base / lad.lot_f
        lots = np.floor(q)
        near = np.abs(q - np.round(q)) <= 1e-9 * np.maximum(1.0, q)
        for i in np.flatnonzero(near).tolist():  # HomeBook.execute's Decimal floor
            lots[i] = float(
                (Decimal(str(float(base[i]))) / self._spec.lot_size).to_integral_value(
                    rounding=ROUND_FLOOR
                )
            )
        return lots

    def _finish_totals(self, wall_start: float) -> None:
        r = self.result
        steps = (self._end - self._start) // self._step_ns
        r.book_events = int(steps) + self._book_events
        if self._recording is not None:
            rec, end = self._recording, self._end
            r.book_events = int(np.searchsorted(rec.sample_ts_ns, end, side="left")) + int(
                np.searchsorted(rec.taker_ts_ns, end, side="left")
            )
        r.home_position_base = self._loop.inv_lots / self._ladder.lpu
        r.wall_s = time.perf_counter() - wall_start
