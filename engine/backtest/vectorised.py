"""Fast backtest of the `ladder` policy: numpy for the clock, Python only where inventory moves.

`MarketBacktest` runs every 100 ms tick through the live objects (policy,
rules, rounding, matching engine) at ~1.5x10^4 book events/s; this runs at
~5x10^5 (`bench/backtest_speed.py`). Here the
same loop is reorganised around one observation: the ladder policy's quotes
are `mid * k(inventory, regime)` rounded to the grid, and inventory moves only
on fills. So

* the reference path (the very `ReferencePrice` chunks the live venue uses),
  the mid the bot pulls every `reference_pull_s`, the volatility guard's EWMA
  sigmas and regime, and the takers (`BulkTakerFlow`: Poisson count per chunk,
  uniform times, lognormal sizes, as `TakerFlow` but drawn in bulk) are numpy
  arrays per chunk of simulated time;
* between two takers inventory is fixed, so the requote rule (timer, or
  `needs_requote` over `requote_tolerance_bps` / 10 % size at each reference
  pull) is reduced to an interval of mids inside which the live ladder
  certainly survives; only pulls outside it run the exact check;
* each taker tick runs in Python: walk the live levels (a requoted ladder is
  kept as (mid, inventory) and priced level by level only as takers reach
  it), update inventory, decide with the exact rule; fills, cash and hedges
  are then summed as arrays in the exact engine's order;
* book samples, quotes, fills and hedge rows are built as columns from the
  logged ladder versions at the end of each chunk.

Same decisions as `MarketBacktest` on the same inputs (checked fill for fill
in `tests/unit/engine/backtest/test_vectorised.py` with `DrawnFeed`), except:
grid rounding skips `GridRounder`'s exact-Decimal fallback for floats within
1e-9 of a grid line; sigma EWMAs use numpy's `log`, so a regime can flip one
observation apart in a last-bit tie. Supported: the `ladder` policy, the
simulated feed, no synthetic user makers (`fast_path_problem` says why not).
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Protocol

import numpy as np

from engine.backtest.engine import (
    PROGRESS_EVERY_S,
    BacktestResult,
    BacktestSettings,
    hedge_venue_quotes,
)
from engine.backtest.feeds import ReferenceFeed
from engine.backtest.grid import GridRounder
from engine.book_metrics import DEPTH_BANDS_BPS
from engine.config import AppConfig, HedgeMode, MarketConfig, PolicyName, TakerFlowConfig
from engine.hedging.records import modelled_hedge_columns
from engine.quoting import (
    LadderPolicy,
    MarketEstimators,
    QuoteContext,
    VolRegime,
    apply_market_rules,
)
from engine.sim.price import ReferencePrice
from engine.sim.takers import TakerOrder
from engine.types import MarketSpec, Side, market_id

CHUNK_S = 3_600.0
_NORMAL, _WIDEN, _PAUSE = 0, 1, 2
_REGIMES = (VolRegime.NORMAL, VolRegime.WIDEN, VolRegime.PAUSE)
_SIZE_CHANGE = 0.10  # engine.quoting.base._REQUOTE_SIZE_CHANGE
_GRID_MARGIN_TICKS = 3.0  # desired vs k * mid: rounding plus the k estimate, in ticks
_LOCAL_MOVE = 0.01  # an interval is trusted within 1 % of the mid it was built at
_MIN_LINEAR_LOTS = 100  # below, one lot of rounding is near the 10 % size rule: full interval


class FastPathUnsupported(ValueError):
    """The market needs something the fast path does not model; run the exact engine."""


def fast_path_problem(market: MarketConfig, *, cross: bool = False) -> str | None:
    """Why `market` cannot run on the fast path, or None when it can (`cross`: its quote
    asset has a simulated price of its own)."""
    if market.policy is not PolicyName.LADDER:
        return f"policy '{market.policy}': the fast path models the ladder policy only"
    if market.user_makers.depth_quote > 0:
        return "user_makers: the fast path models a book with the bot's quotes only"
    if cross:
        return f"{market.symbol}: a cross (both legs simulated); the fast path reads one price path"
    return None


# inputs ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TakerDraws:
    """Taker arrivals as arrays: times (sorted), notionals, informed flags, 50/50 coins.

    The side is decided when the taker arrives (informed takers follow the
    reference against the home mid), so it is not part of the draw.
    """

    ts_ns: np.ndarray
    notional_quote: np.ndarray
    informed: np.ndarray
    coin_buy: np.ndarray

    def between(self, since_ns: int, until_ns: int) -> TakerDraws:
        lo, hi = np.searchsorted(self.ts_ns, [since_ns, until_ns], side="left")
        return TakerDraws(
            self.ts_ns[lo:hi],
            self.notional_quote[lo:hi],
            self.informed[lo:hi],
            self.coin_buy[lo:hi],
        )


class BulkTakerFlow:
    """`TakerFlow`'s distributions drawn for a whole window at once.

    Poisson counts over disjoint windows are independent, so one draw per
    chunk has the law of the live flow's draw per 100 ms poll (see
    `engine.sim.takers`); the stream differs, the distribution does not.
    """

    def __init__(self, config: TakerFlowConfig, *, seed: int, symbol: str) -> None:
        self.config = config
        self._rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), 2])
        sigma = config.size_sigma
        self._log_mean = math.log(config.mean_notional_quote) - 0.5 * sigma * sigma

    def draw(self, since_ns: int, until_ns: int) -> TakerDraws:
        """Takers arriving in [since_ns, until_ns), in time order."""
        cfg, rng = self.config, self._rng
        window_ns = max(0, until_ns - since_ns)
        n = int(rng.poisson(cfg.rate_per_s * window_ns / 1e9)) if window_ns else 0
        ts = since_ns + np.sort(np.floor(rng.random(n) * window_ns).astype(np.int64))
        return TakerDraws(
            ts,
            rng.lognormal(self._log_mean, cfg.size_sigma, n),
            rng.random(n) < cfg.informed_share,
            rng.random(n) < 0.5,
        )


class FixedTakers:
    """Given draws served by window: a hand-built scenario, or one draw shared by two engines."""

    def __init__(self, draws: TakerDraws) -> None:
        self.draws = draws

    def draw(self, since_ns: int, until_ns: int) -> TakerDraws:
        return self.draws.between(since_ns, until_ns)


class TakerSource(Protocol):
    def draw(self, since_ns: int, until_ns: int) -> TakerDraws: ...


class DrawnFeed(ReferenceFeed):
    """A `MarketFeed` serving given draws: the exact engine on the fast path's inputs."""

    def __init__(
        self,
        reference: ReferencePrice,
        symbol: str,
        draws: TakerDraws,
        *,
        start_ns: int,
        end_ns: int,
        step_ms: int,
    ) -> None:
        super().__init__(reference, symbol, start_ns=start_ns, end_ns=end_ns, step_ms=step_ms)
        self._draws = draws

    def takers(self, since_ns: int, until_ns: int, home_mid: float | None) -> list[TakerOrder]:
        d = self._draws.between(since_ns, until_ns)
        ref = self.reference(until_ns)[0]
        self._taker_orders += len(d.ts_ns)
        informed_buy = None if home_mid is None else ref > home_mid
        out = []
        for ts, notional, informed, coin in zip(
            d.ts_ns.tolist(), d.notional_quote.tolist(), d.informed, d.coin_buy, strict=True
        ):
            buy = informed_buy if informed and informed_buy is not None else bool(coin)
            out.append(TakerOrder(ts, Side.BUY if buy else Side.SELL, notional / ref))
        return out


def reference_path(reference: ReferencePrice, asset: str, steps: np.ndarray) -> list[float]:
    """`reference.price` at many step indices, read from its seeded chunks, bit for bit.

    `math.exp`, not `np.exp`: numpy's vector exp can differ in the last bit.
    """
    chunk_len = 4096  # engine.sim.price._CHUNK
    logs = np.empty(len(steps), dtype=float)
    chunks = steps // chunk_len
    for c in np.unique(chunks).tolist():
        sel = chunks == c
        logs[sel] = reference._chunk(asset, c)[steps[sel] % chunk_len]
    exp = math.exp
    return [exp(x) for x in logs.tolist()]


@dataclass(frozen=True, slots=True)
class NumberedIds:
    """A column of ids `prefix + str(n) + suffix`: writers format it vectorised (or `tolist`)."""

    prefix: str
    numbers: np.ndarray
    suffix: str = ""

    def __len__(self) -> int:
        return len(self.numbers)

    def tolist(self) -> list[str]:
        return [f"{self.prefix}{n}{self.suffix}" for n in self.numbers.tolist()]


class ColumnWriters(Protocol):
    """Where the fast path's rows go, as columns per table (the CLI writes Parquet parts).

    A column is a numpy array (float NaN = null), a list, or `NumberedIds`.
    """

    def write_columns(self, table: str, columns: dict[str, Any]) -> None: ...


# the ladder on the grid --------------------------------------------------------


def _ewma(x: np.ndarray, w: float, v0: float) -> np.ndarray:
    """v_k = v_{k-1} + w (x_k - v_{k-1}) from v0, in blocks short enough that a^-B stays finite."""
    a = 1.0 - w
    out = np.empty(len(x), dtype=float)
    if a <= 0.0:
        out[:] = x
        return out
    block = 256 if a >= 1.0 else max(1, min(256, int(16.0 / -math.log10(a))))
    powers = a ** np.arange(1, block + 1, dtype=float)
    for s in range(0, len(x), block):
        xb = x[s : s + block]
        p = powers[: len(xb)]
        out[s : s + len(xb)] = p * (v0 + w * np.cumsum(xb / p))
        v0 = float(out[s + len(xb) - 1])
    return out


class LadderOnGrid:
    """The ladder's constants on one market's grid, and the live code for the rare cases.

    Prices and sizes are integers: ticks and lots. `live_quotes` runs the policy,
    the market rules and `GridRounder` themselves; the fast loop uses it where a
    ladder is not `mid * k` (vol guard widening or pausing, the spread clamp).
    """

    def __init__(self, market: MarketConfig, spec: MarketSpec) -> None:
        self.market = market
        self.policy = LadderPolicy(market)
        self.grid = GridRounder(spec)
        self.tick_f = float(spec.tick_size)
        self.lot_f = float(spec.lot_size)
        tpu, lpu = 1 / spec.tick_size, 1 / spec.lot_size
        if tpu != tpu.to_integral_value() or lpu != lpu.to_integral_value():
            raise FastPathUnsupported("tick and lot sizes must be 1/integer for the fast path")
        self.tpu, self.lpu = int(tpu), int(lpu)  # ticks (lots) per unit: float(Decimal) exactly
        self.spec = spec
        self.min_units = int(
            (spec.min_notional / (spec.tick_size * spec.lot_size)).to_integral_value(
                rounding="ROUND_CEILING"
            )
        )
        self.min_lots = int((spec.min_amount / spec.lot_size).to_integral_value("ROUND_CEILING"))
        m = market
        self.offsets = [
            self.policy.half_spread_bps + i * m.level_spacing_bps for i in range(m.levels)
        ]
        self.max_spread = m.max_spread_bps / 1e4

    def live_quotes(
        self, mid: float, now_ns: int, inv_lots: int, regime: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks) best first as (ticks, lots), exactly as `MarketBacktest._decide` rounds."""
        inventory = inv_lots / self.lpu - self.market.inventory_target
        ctx = QuoteContext(ts_ns=now_ns, mid=mid, inventory=inventory, market=self.market)
        wanted = apply_market_rules(self.policy.desired_quotes(ctx), ctx, _REGIMES[regime])
        bids: list[tuple[int, int]] = []
        asks: list[tuple[int, int]] = []
        for side, price, amount in self.grid.round(wanted):
            level = (int(price * self.tpu), int(amount * self.lpu))
            (bids if side is Side.BUY else asks).append(level)
        return bids, asks


# the backtest ----------------------------------------------------------------


class FastLadderBacktest:
    """`MarketBacktest` for the ladder policy on the simulated feed, ~30x faster.

    `takers` defaults to `BulkTakerFlow` on the market's flow; pass `FixedTakers`
    to replay given draws (the same ones `DrawnFeed` gives the exact engine).
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
    ) -> None:
        problem = fast_path_problem(market, cross=market.quote in config.sim.assets)
        if problem is not None:
            raise FastPathUnsupported(f"market {market.symbol}: {problem}")
        self._config, self._market = config, market
        self._settings = settings or BacktestSettings()
        self._writers = writers
        self._session = session
        home = config.home_venue
        self._spec = home.spec_for(market.symbol)
        self._maker_fee = Decimal(str(home.maker_fee))
        self._ladder = LadderOnGrid(market, self._spec)
        self._reference = ReferencePrice(
            config.sim.assets, seed=seed, step_ms=config.sim.step_ms, start_ns=start_ns
        )
        self._takers = takers or BulkTakerFlow(market.taker_flow, seed=seed, symbol=market.symbol)
        self._step_ns = config.sim.step_ms * 1_000_000
        self._start = start_ns
        self._end = start_ns + int(duration_s * 1e9)
        if self._end <= start_ns:
            raise ValueError(f"fast backtest: duration {duration_s} s must be positive")
        self._chunk_s = chunk_s
        est = MarketEstimators.for_market(market)
        self._min_obs_s = est.sigma_long.min_interval_s
        venues = hedge_venue_quotes(config.hedge_venues)
        self._hedge_best = (
            {s: min(venues, key=lambda v, s=s: v.all_in_bps(s)) for s in (Side.BUY, Side.SELL)}
            if venues
            else {}
        )
        self.result = BacktestResult(
            market=market.symbol, policy=market.policy, start_ns=start_ns, end_ns=self._end
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
        cfg, m = self._config, self._market
        tick_ns = int(cfg.timing.market_tick_s * 1e9)
        self._tick_ns = tick_ns
        n_ticks = -(-(self._end - self._start) // tick_ns)

        def stride(ns: float) -> int:
            return max(1, -(-int(ns) // tick_ns))

        self._pull = stride(cfg.timing.reference_pull_s * 1e9)
        self._sample = stride(cfg.analytics.sample_interval_s * 1e9)
        self._requote = stride(m.requote_interval_s * 1e9)
        self._rebalance = stride(cfg.rebalancer.interval_s * 1e9)
        j = 1
        while j * self._pull * tick_ns / 1e9 < self._min_obs_s:
            j += 1
        self._obs = j * self._pull
        self._init_state()
        wall_start = time.perf_counter()
        next_progress = wall_start + progress_every_s
        chunk_ticks = max(self._obs, int(self._chunk_s * 1e9) // tick_ns // self._obs * self._obs)
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
            self._writers.write_columns("quotes", self._cancel_all_columns([self._end]))
        self._finish_totals(wall_start)
        return self.result

    # state -----------------------------------------------------------------------

    def _init_state(self) -> None:
        L = self._market.levels
        self._row = [0] * (4 * L + 1)  # live ladder, see `_loop`
        self._cur_rep, self._cur_nb = -1, 0
        self._inv_lots = 0
        self._cid_seq = 0
        self._carry_seq0 = 0
        self._trade_seq = 0
        self._last_quote = -(10**12)
        self._lo, self._hi = 0.0, 0.0
        self._hedge_seq = 0
        # sigma EWMAs: (variance short, variance long, returns seen, last observed mid)
        self._sigma: tuple[float | None, float | None, int, float | None] = (None, None, 0, None)
        self._regime = _NORMAL
        self._book_events = 0
        self._last_mid = 0.0

    # one chunk -------------------------------------------------------------------

    def _regimes(self, c0: int, c1: int, mid_at: np.ndarray) -> np.ndarray:
        """Regime code per tick in [c0, c1): one sigma observation every `_obs` ticks."""
        guard = self._market.vol_guard
        obs_ticks = np.arange(-(-c0 // self._obs) * self._obs, c1, self._obs)
        mids = mid_at[obs_ticks - c0]
        vs, vl, seen, last = self._sigma
        codes = np.empty(len(obs_ticks), dtype=np.int8)
        if len(mids):
            prev = np.concatenate(([last if last is not None else np.nan], mids[:-1]))
            dt_s = self._obs * self._tick_ns / 1e9
            x = (np.log(mids / prev) * 1e4) ** 2 / dt_s
            valid = ~np.isnan(x)  # the very first observation only sets the last mid
            xs = x[valid]
            out_s = np.full(len(x), np.nan)
            out_l = np.full(len(x), np.nan)
            if len(xs):
                ln2 = math.log(2.0)
                ws = 1.0 - math.exp(-dt_s * ln2 / guard.short_halflife_s)
                wl = 1.0 - math.exp(-dt_s * ln2 / guard.long_halflife_s)
                if vs is None or vl is None:
                    v0s, v0l = float(xs[0]), float(xs[0])
                    es = np.concatenate(([v0s], _ewma(xs[1:], ws, v0s)))
                    el = np.concatenate(([v0l], _ewma(xs[1:], wl, v0l)))
                else:
                    es, el = _ewma(xs, ws, vs), _ewma(xs, wl, vl)
                out_s[valid], out_l[valid] = es, el
                vs, vl = float(es[-1]), float(el[-1])
            counts = seen + np.cumsum(valid)
            seen = int(counts[-1])
            last = float(mids[-1])
            ratio = np.sqrt(out_s) / np.sqrt(out_l)
            with np.errstate(invalid="ignore"):
                codes[:] = _NORMAL
                codes[ratio >= guard.widen_ratio] = _WIDEN
                codes[ratio >= guard.pause_ratio] = _PAUSE
                zero_long = out_l <= 0
                codes[zero_long] = np.where(out_s[zero_long] > 0, _PAUSE, _NORMAL)
            codes[(counts < guard.min_samples) | np.isnan(out_l)] = _NORMAL
        self._sigma = (vs, vl, seen, last)
        per_tick = np.empty(c1 - c0, dtype=np.int8)
        if len(obs_ticks) == 0:
            per_tick[:] = self._regime
            return per_tick
        idx = np.searchsorted(obs_ticks, np.arange(c0, c1), side="right") - 1
        per_tick[:] = np.where(idx >= 0, codes[np.maximum(idx, 0)], self._regime)
        return per_tick

    def _run_chunk(self, c0: int, c1: int) -> None:
        tick_ns, start, S = self._tick_ns, self._start, self._pull
        m, lad = self._market, self._ladder
        ticks = np.arange(c0, c1, dtype=np.int64)
        # the mid after each tick's pull is the reference at the latest pull tick
        first_pull = c0 - c0 % S
        pulls = np.arange(first_pull, c1, S, dtype=np.int64)
        pull_mid = np.asarray(
            reference_path(self._reference, m.base, (pulls * tick_ns) // self._step_ns)
        )
        mid_at = pull_mid[(ticks - first_pull) // S]
        regime_at = self._regimes(c0, c1, mid_at)
        # takers: tick T executes arrivals in [t(T-1), t(T)), priced at the reference at t(T)
        since = start + max(0, c0 - 1) * tick_ns
        until = start + (c1 - 1) * tick_ns
        draws = self._takers.draw(since, until) if until > since else None
        n_draws = 0 if draws is None else len(draws.ts_ns)
        self._book_events += n_draws
        if draws is not None and n_draws:
            exec_tick = (draws.ts_ns - start) // tick_ns + 1
            ref_exec = np.asarray(
                reference_path(self._reference, m.base, (exec_tick * tick_ns) // self._step_ns)
            )
            base = draws.notional_quote / ref_exec
            q = base / lad.lot_f
            lots = np.floor(q)
            near = np.abs(q - np.round(q)) <= 1e-9 * np.maximum(1.0, q)
            for i in np.flatnonzero(near).tolist():  # HomeBook.execute's Decimal floor
                lots[i] = float(
                    (Decimal(str(float(base[i]))) / self._spec.lot_size).to_integral_value(
                        rounding=ROUND_FLOOR
                    )
                )
            news_ticks = exec_tick.tolist()
            keep = lots > 0
            tk_tick = exec_tick[keep].tolist()
            tk_lots = lots[keep].astype(np.int64).tolist()
            tk_ts = draws.ts_ns[keep].tolist()
            tk_inf = draws.informed[keep].tolist()
            tk_coin = draws.coin_buy[keep].tolist()
            tk_ref = ref_exec[keep].tolist()
        else:
            news_ticks, tk_tick, tk_lots, tk_ts = [], [], [], []
            tk_inf, tk_coin, tk_ref = [], [], []
        self.result.taker_orders += len(tk_tick)

        mid_l = mid_at.tolist()
        reg_l = regime_at.tolist()
        if float(pull_mid.min()) * m.level_spacing_bps / 1e4 < 2 * lad.tick_f:
            raise FastPathUnsupported(f"{m.symbol}: levels closer than two ticks would merge")
        # events: ticks with arrivals (news even when an amount floors to zero), regime changes
        change = np.flatnonzero(np.diff(np.concatenate(([self._regime], regime_at))) != 0)
        event_ticks = sorted(set(news_ticks) | set((change + c0).tolist()))
        self._loop(
            c0,
            c1,
            mid_l,
            reg_l,
            event_ticks,
            tk_tick,
            tk_lots,
            tk_ts,
            tk_inf,
            tk_coin,
            tk_ref,
            news_ticks,
            mid_at,
        )

    def _loop(
        self,
        c0: int,
        c1: int,
        mid_l: list[float],
        reg_l: list[int],
        event_ticks: list[int],
        tk_tick: list[int],
        tk_lots: list[int],
        tk_ts: list[int],
        tk_inf: list[bool],
        tk_coin: list[bool],
        tk_ref: list[float],
        news_ticks: list[int],
        mid_at: np.ndarray,
    ) -> None:
        """The sequential part: requote chain between events, takers and decisions at events.

        The live ladder is lazy in the common case: a requote in the linear regime
        (every price `mid * k`, every level of a side one size) is kept as
        (mid, state, lots per level) plus the lots takers took from each side, and
        is put on the grid only level by level as takers reach it (vectorised for
        the chunk's rows). Otherwise it is one flat row `[bid ticks] [bid lots]
        [ask ticks] [ask lots] inv`, levels best first, a filled-out level keeping
        its slot with zero lots.
        """
        m, lad = self._market, self._ladder
        start, tick_ns, S, R = self._start, self._tick_ns, self._pull, self._requote
        L = m.levels
        L2, L3, L4 = 2 * L, 3 * L, 4 * L
        tpu, lpu, tick_f, lot_f = lad.tpu, lad.lpu, lad.tick_f, lad.lot_f
        min_units, min_lots = lad.min_units, lad.min_lots
        notional, levels_f = m.order_notional_quote, m.levels
        offsets = lad.offsets
        tol_bps = m.requote_tolerance_bps
        c = tol_bps / 1e4
        margin = _GRID_MARGIN_TICKS * tick_f
        up, down = 1 + 1e-9, 1 - 1e-9
        inv_target, inv_limit = m.inventory_target, m.inventory_limit
        skew_at_limit = m.skew_bps_at_limit
        skew_cap = 0.75 * lad.policy.half_spread_bps
        floor, ceil = math.floor, math.ceil
        max_spread = lad.max_spread
        eps = 1e-9
        half = lad.policy.half_spread_bps
        # the skew is capped at 3/4 of the half spread, so touches sit 1/4 half off mid and the
        # two-sided spread is 2 half: when that and a one-sided 1.75 half fit under the cap,
        # the clamp never moves a price (checked per inventory otherwise)
        clamp_never = (
            half > 0
            and 2 * half / 1e4 < max_spread * (1 - 1e-6)
            and 1.75 * half / 1e4 < max_spread / 2 * (1 - 1e-6)
        )

        # logs of this chunk
        # ladder versions in tick order (a later one at the same tick wins): a row, flattened
        # into `ver_flat`, or a lazy ladder as (mid, state id)
        ver_tick: list[int] = [c0 - 1]
        ver_lazy: list[int] = [0]
        ver_flat: list[int] = list(self._row)
        # per lazy entry: mid, state id, bid and ask level size, lots taken from each, inventory
        lazy_log: list[float] = []
        lazy_extend = lazy_log.extend
        states: list[tuple[list[float], list[float], float, float, int]] = []
        rep_tick: list[int] = []
        rep_ver: list[int] = []
        fills: list[tuple[Any, ...]] = []
        fills_append = fills.append

        # state
        row = self._row  # the live ladder, valid unless `lazy`
        # a lazy ladder: (mid, state id, lots per bid level, lots per ask level), every level
        # of a side the same size, `used_b`/`used_a` lots taken from the touch down
        lazy: tuple[float, int, int, int] | None = None
        used_b = used_a = 0
        cur_rep, cur_nb = self._cur_rep, self._cur_nb  # replacement the live row came from
        inv, regime = self._inv_lots, self._regime
        last_quote, lo, hi = self._last_quote, self._lo, self._hi
        trade_seq = self._trade_seq
        bk: list[float] = []
        ak: list[float] = []
        bf = af = kmax = kmin = 0.0
        linear = False
        sid = -1

        def set_state() -> None:
            """Inventory or regime changed: `LadderPolicy` and the rules' coefficients anew."""
            nonlocal bk, ak, bf, af, kmax, kmin, linear, sid
            inventory = inv / lpu - inv_target
            q = inventory / inv_limit
            qc = -1.0 if q < -1.0 else (1.0 if q > 1.0 else q)
            skew = skew_at_limit * qc
            skew = -skew_cap if skew < -skew_cap else (skew_cap if skew > skew_cap else skew)
            x = 1.0 - q
            bf = 0.0 if x < 0.0 else (2.0 if x > 2.0 else x)
            x = 1.0 + q
            af = 0.0 if x < 0.0 else (2.0 if x > 2.0 else x)
            # one side only at the inventory limit (`one_sided_at_limit`)
            bk = [1 - (o + skew) / 1e4 for o in offsets] if bf > 0 and inventory < inv_limit else []
            ak = (
                [1 + (o - skew) / 1e4 for o in offsets] if af > 0 and inventory > -inv_limit else []
            )
            if clamp_never:
                clamp_free = True
            elif bk and ak:  # the spread clamp moves nothing: every price is exactly mid * k
                clamp_free = bk[0] < 1 - eps and ak[0] > 1 + eps
                clamp_free = clamp_free and ak[0] - bk[0] < max_spread * (1 - eps)
            elif bk:
                clamp_free = bk[0] < 1 - eps and 1 - bk[0] < max_spread / 2 * (1 - eps)
            elif ak:
                clamp_free = ak[0] > 1 + eps and ak[0] - 1 < max_spread / 2 * (1 - eps)
            else:
                clamp_free = True
            linear = regime == _NORMAL and clamp_free
            kmax = ak[-1] if ak else (bk[0] if bk else 1.0)
            kmin = bk[-1] if bk else (ak[0] if ak else 1.0)
            states.append((bk, ak, bf, af, inv))
            sid = len(states) - 1

        def desired(mid: float, tick: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
            if not linear:
                return lad.live_quotes(mid, start + tick * tick_ns, inv, regime)
            return on_grid(mid, bk, ak, bf, af)

        def on_grid(
            mid: float, bk: list[float], ak: list[float], bf: float, af: float
        ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
            """The linear ladder at `mid` on the grid (`GridRounder` without its Decimal edge)."""
            size = notional / mid / levels_f
            bids: list[tuple[int, int]] = []
            asks: list[tuple[int, int]] = []
            if bk:
                n = floor(size * bf / lot_f)
                if n >= min_lots:
                    for k in bk:
                        t = floor(mid * k / tick_f)
                        if t > 0 and t * n >= min_units:
                            bids.append((t, n))
            if ak:
                n = floor(size * af / lot_f)
                if n >= min_lots:
                    for k in ak:
                        t = ceil(mid * k / tick_f)
                        if t * n >= min_units:
                            asks.append((t, n))
            return bids, asks

        def check(
            mid: float, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
        ) -> tuple[bool, float, float]:
            """`needs_requote(live, desired)`, and if not, the mids at which it stays False."""
            tol = mid * tol_bps / 1e4
            lo_ = mid * (1 - _LOCAL_MOVE)
            hi_ = mid * (1 + _LOCAL_MOVE)
            lot_quote = mid / lpu
            for base, want in ((0, bids), (L2, asks)):
                j = 0
                nw = len(want)
                for i in range(base, base + L):
                    h_lots = row[i + L]
                    if not h_lots:
                        continue
                    if j >= nw:
                        return True, 0.0, 0.0
                    wt, wl = want[j]
                    j += 1
                    hp, wp = row[i] / tpu, wt / tpu
                    if abs(hp - wp) > tol:
                        return True, 0.0, 0.0
                    ha, wa = h_lots / lpu, wl / lpu
                    if abs(ha - wa) > _SIZE_CHANGE * abs(wa):
                        return True, 0.0, 0.0
                    k = wp / mid
                    x = (hp + margin) / (k + c)
                    if x > lo_:
                        lo_ = x
                    x = (hp - margin) / (k - c)
                    if x < hi_:
                        hi_ = x
                    wn = wa * mid
                    x = 0.9 * (wn + lot_quote) / ha
                    if x > lo_:
                        lo_ = x
                    x = 1.1 * wn / (ha + 1.1 / lpu)
                    if x < hi_:
                        hi_ = x
                if j != nw:
                    return True, 0.0, 0.0
            return False, lo_ * up, hi_ * down

        def place(tick: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
            """Replace the live ladder with `bids`/`asks` (already on the grid)."""
            nonlocal row, lazy, cur_rep, cur_nb, last_quote
            new = [0] * (L4 + 1)
            for i, (t, n) in enumerate(bids):
                new[i] = t
                new[L + i] = n
            for i, (t, n) in enumerate(asks):
                new[L2 + i] = t
                new[L3 + i] = n
            new[L4] = inv
            row, lazy, cur_nb, last_quote = new, None, len(bids), tick
            ver_tick.append(tick)
            ver_lazy.append(0)
            ver_flat.extend(new)
            rep_tick.append(tick)
            rep_ver.append(len(ver_tick) - 1)
            cur_rep = len(rep_tick) - 1

        def materialise() -> None:
            """Put a lazy ladder on the grid (`on_grid` in the state it was quoted in), less
            what takers took."""
            nonlocal row, lazy, cur_nb
            assert lazy is not None
            mid_r, s_id, nb, na = lazy
            l_bk, l_ak = states[s_id][0], states[s_id][1]
            new = [0] * (L4 + 1)
            if nb:
                for j, k in enumerate(l_bk):
                    new[j] = floor(mid_r * k / tick_f)
                    new[L + j] = nb - min(max(used_b - j * nb, 0), nb)
            if na:
                for j, k in enumerate(l_ak):
                    new[L2 + j] = ceil(mid_r * k / tick_f)
                    new[L3 + j] = na - min(max(used_a - j * na, 0), na)
            new[L4] = inv
            row, lazy, cur_nb = new, None, L if nb else 0

        def log_lazy(tick: int) -> None:
            assert lazy is not None
            ver_tick.append(tick)
            ver_lazy.append(1)
            lazy_extend((*lazy, used_b, used_a, inv))

        def lazy_place(tick: int, mid: float, nb: int, na: int) -> tuple[float, float]:
            """Requote lazily: the ladder at `mid` in the current (linear) state, all levels."""
            nonlocal lazy, last_quote, cur_rep, used_b, used_a
            lazy, last_quote = (mid, sid, nb, na), tick
            used_b = used_a = 0
            log_lazy(tick)
            rep_tick.append(tick)
            rep_ver.append(len(ver_tick) - 1)
            cur_rep = len(rep_tick) - 1
            return (mid * kmax + margin) / (kmax + c) * up, (mid * kmax - margin) / (
                kmax - c
            ) * down

        def timer_requote(tick: int, mid: float) -> tuple[float, float]:
            """A due timer replaces the ladder; lazily when its survival interval is simple."""
            if linear:
                size = notional / mid / levels_f
                nb = floor(size * bf / lot_f) if bk else 0
                na = floor(size * af / lot_f) if ak else 0
                units = mid * kmin / tick_f - 1.0
                # every level placed, all one size per side, sizes far from the lot
                if (not nb or (nb >= _MIN_LINEAR_LOTS and nb * units >= min_units)) and (
                    not na or (na >= _MIN_LINEAR_LOTS and na * units >= min_units)
                ):
                    return lazy_place(tick, mid, nb, na)
            bids, asks = desired(mid, tick)
            place(tick, bids, asks)
            return check(mid, bids, asks)[1:]

        def decide(tick: int, mid: float) -> tuple[float, float]:
            """A news tick's decision (the timer not due): requote if the ladder drifted."""
            if lazy is not None:
                materialise()
            bids, asks = desired(mid, tick)
            requote, lo_, hi_ = check(mid, bids, asks)
            if not requote:
                return lo_, hi_
            place(tick, bids, asks)
            return check(mid, bids, asks)[1:]

        def quick_decide(tick: int, mid: float) -> tuple[float, float]:
            """`decide` in the linear regime: sizes and counts first, then prices, inline."""
            if lazy is not None:
                return lazy_decide(tick, mid)
            size = notional / mid / levels_f
            nb = floor(size * bf / lot_f) if bk else 0
            na = floor(size * af / lot_f) if ak else 0
            nb = 0 if nb < min_lots else nb
            na = 0 if na < min_lots else na
            units = mid * kmin / tick_f - 1.0
            if (nb and nb * units < min_units) or (na and na * units < min_units):
                return decide(tick, mid)  # a level may miss the minimum notional
            lo_ = mid * (1 - _LOCAL_MOVE)
            hi_ = mid * (1 + _LOCAL_MOVE)
            for base, n_want in ((0, nb), (L2, na)):
                want = n_want / lpu
                lim = _SIZE_CHANGE * want
                count = 0
                for i in range(base + L, base + L2):
                    h = row[i]
                    if h:
                        count += 1
                        if abs(h / lpu - want) > lim:
                            return timer_requote(tick, mid)
                if count != (L if n_want else 0):
                    return timer_requote(tick, mid)
            tol = mid * tol_bps / 1e4
            lot_quote = mid / lpu
            for base, ks, n_want in ((0, bk, nb), (L2, ak, na)):
                wn = n_want / lpu * mid
                j = 0
                for i in range(base, base + L):
                    h = row[i + L]
                    if not h:
                        continue
                    k = ks[j]
                    j += 1
                    t = floor(mid * k / tick_f) if base == 0 else ceil(mid * k / tick_f)
                    hp = row[i] / tpu
                    if abs(hp - t / tpu) > tol:
                        return timer_requote(tick, mid)
                    x = (hp + margin) / (k + c)
                    if x > lo_:
                        lo_ = x
                    x = (hp - margin) / (k - c)
                    if x < hi_:
                        hi_ = x
                    ha = h / lpu
                    x = 0.9 * (wn + lot_quote) / ha
                    if x > lo_:
                        lo_ = x
                    x = 1.1 * wn / (ha + 1.1 / lpu)
                    if x < hi_:
                        hi_ = x
            return lo_ * up, hi_ * down

        def lazy_decide(tick: int, mid: float) -> tuple[float, float]:
            """`quick_decide` against a lazy ladder: level j holds n - clip(used - j n, 0, n)."""
            assert lazy is not None
            mid_r, s_id, pb, pa = lazy
            size = notional / mid / levels_f
            nb = floor(size * bf / lot_f) if bk else 0
            na = floor(size * af / lot_f) if ak else 0
            nb = 0 if nb < min_lots else nb
            na = 0 if na < min_lots else na
            units = mid * kmin / tick_f - 1.0
            if (nb and nb * units < min_units) or (na and na * units < min_units):
                return decide(tick, mid)  # a level may miss the minimum notional
            # the requote, if due, can stay lazy when the new sizes are far from the lot
            lazy_ok = (not nb or nb >= _MIN_LINEAR_LOTS) and (not na or na >= _MIN_LINEAR_LOTS)
            # counts, then sizes: filled-out levels are gone, one level may be partly taken
            first_b = used_b // pb if pb else L
            first_a = used_a // pa if pa else L
            requote = (L - first_b) != (L if nb else 0) or (L - first_a) != (L if na else 0)
            if not requote and nb:
                want = nb / lpu
                lim = _SIZE_CHANGE * want
                requote = abs((pb - used_b % pb) / lpu - want) > lim or (
                    first_b < L - 1 and abs(pb / lpu - want) > lim
                )
            if not requote and na:
                want = na / lpu
                lim = _SIZE_CHANGE * want
                requote = abs((pa - used_a % pa) / lpu - want) > lim or (
                    first_a < L - 1 and abs(pa / lpu - want) > lim
                )
            if requote:
                return lazy_place(tick, mid, nb, na) if lazy_ok else timer_requote(tick, mid)
            tol = mid * tol_bps / 1e4
            lot_quote = mid / lpu
            lo_ = mid * (1 - _LOCAL_MOVE)
            hi_ = mid * (1 + _LOCAL_MOVE)
            old_b, old_a = states[s_id][0], states[s_id][1]
            wn = nb / lpu * mid
            for j in range(first_b, L):
                k = bk[j]
                hp = floor(mid_r * old_b[j] / tick_f) / tpu
                if abs(hp - floor(mid * k / tick_f) / tpu) > tol:
                    return lazy_place(tick, mid, nb, na) if lazy_ok else timer_requote(tick, mid)
                x = (hp + margin) / (k + c)
                if x > lo_:
                    lo_ = x
                x = (hp - margin) / (k - c)
                if x < hi_:
                    hi_ = x
                ha = (pb - used_b % pb if j == first_b else pb) / lpu
                x = 0.9 * (wn + lot_quote) / ha
                if x > lo_:
                    lo_ = x
                x = 1.1 * wn / (ha + 1.1 / lpu)
                if x < hi_:
                    hi_ = x
            wn = na / lpu * mid
            for j in range(first_a, L):
                k = ak[j]
                hp = ceil(mid_r * old_a[j] / tick_f) / tpu
                if abs(hp - ceil(mid * k / tick_f) / tpu) > tol:
                    return lazy_place(tick, mid, nb, na) if lazy_ok else timer_requote(tick, mid)
                x = (hp + margin) / (k + c)
                if x > lo_:
                    lo_ = x
                x = (hp - margin) / (k - c)
                if x < hi_:
                    hi_ = x
                ha = (pa - used_a % pa if j == first_a else pa) / lpu
                x = 0.9 * (wn + lot_quote) / ha
                if x > lo_:
                    lo_ = x
                x = 1.1 * wn / (ha + 1.1 / lpu)
                if x < hi_:
                    hi_ = x
            return lo_ * up, hi_ * down

        set_state()
        if c0 == 0:  # the first tick pulls and quotes at once
            regime = reg_l[0]
            set_state()
            lo, hi = timer_requote(0, mid_l[0])
            cursor = 0
        else:
            cursor = c0 - 1
        tk_i, n_tk = 0, len(tk_tick)
        for E in [*(t for t in event_ticks if t > cursor), c1]:
            # the requote chain up to E: the timer, and pulls whose mid leaves [lo, hi]
            p = (cursor // S + 1) * S
            while True:
                timer = last_quote + R
                if timer <= p:
                    if timer >= E:
                        break
                    lo, hi = timer_requote(timer, mid_l[timer - c0])
                    if timer == p:
                        p += S
                    continue
                if p >= E:
                    break
                mid = mid_l[p - c0]
                if not lo <= mid <= hi:
                    lo, hi = quick_decide(p, mid) if linear else decide(p, mid)
                p += S
            if c1 <= E:
                break
            cursor = E
            i0 = E - c0
            if tk_i < n_tk and tk_tick[tk_i] == E and lazy is not None:
                # takers against a lazy ladder: prices on demand, lots taken counted per side
                mid_r, s_id, pb, pa = lazy
                l_bk, l_ak = states[s_id][0], states[s_id][1]
                jb = used_b // pb if pb else L
                ja = used_a // pa if pa else L
                informed_buy = (
                    tk_ref[tk_i]
                    > (floor(mid_r * l_bk[jb] / tick_f) + ceil(mid_r * l_ak[ja] / tick_f)) / tpu / 2
                    if jb < L and ja < L
                    else None
                )
                fill_mid = mid_l[i0 - 1] if i0 > 0 else self._last_mid
                first_ask = L if pb else 0
                while tk_i < n_tk and tk_tick[tk_i] == E:
                    lots = tk_lots[tk_i]
                    if tk_inf[tk_i] and informed_buy is not None:
                        buy = informed_buy
                    else:
                        buy = tk_coin[tk_i]
                    if buy:  # a buying taker lifts the asks
                        while lots and used_a < L * pa:
                            j = used_a // pa
                            qty = pa - used_a % pa
                            qty = lots if lots < qty else qty
                            used_a += qty
                            lots -= qty
                            inv -= qty
                            trade_seq += 1
                            t = ceil(mid_r * l_ak[j] / tick_f)
                            fills_append(
                                (
                                    tk_ts[tk_i],
                                    E,
                                    False,
                                    t,
                                    qty,
                                    cur_rep,
                                    first_ask + j,
                                    trade_seq,
                                    fill_mid,
                                )
                            )
                    else:
                        while lots and used_b < L * pb:
                            j = used_b // pb
                            qty = pb - used_b % pb
                            qty = lots if lots < qty else qty
                            used_b += qty
                            lots -= qty
                            inv += qty
                            trade_seq += 1
                            t = floor(mid_r * l_bk[j] / tick_f)
                            fills_append(
                                (tk_ts[tk_i], E, True, t, qty, cur_rep, j, trade_seq, fill_mid)
                            )
                    tk_i += 1
                log_lazy(E)
            elif tk_i < n_tk and tk_tick[tk_i] == E:
                bb = row[0] if row[L] else next((row[i] for i in range(L) if row[L + i]), 0)
                ba = row[L2] if row[L3] else next((row[L2 + i] for i in range(L) if row[L3 + i]), 0)
                informed_buy = tk_ref[tk_i] > (bb + ba) / tpu / 2 if bb and ba else None
                fill_mid = mid_l[i0 - 1] if i0 > 0 else self._last_mid
                while tk_i < n_tk and tk_tick[tk_i] == E:
                    lots = tk_lots[tk_i]
                    if tk_inf[tk_i] and informed_buy is not None:
                        buy = informed_buy
                    else:
                        buy = tk_coin[tk_i]
                    base = L2 if buy else 0  # a buying taker lifts the asks
                    for i in range(base, base + L):
                        have = row[i + L]
                        if not have:
                            continue
                        qty = lots if lots < have else have
                        row[i + L] = have - qty
                        lots -= qty
                        trade_seq += 1
                        inv += -qty if buy else qty
                        pos = i if not buy else cur_nb + i - L2
                        fills_append(
                            (
                                tk_ts[tk_i],
                                E,
                                not buy,
                                row[i],
                                qty,
                                cur_rep,
                                pos,
                                trade_seq,
                                fill_mid,
                            )
                        )
                        if not lots:
                            break
                    tk_i += 1
                row[L4] = inv
                ver_tick.append(E)
                ver_lazy.append(0)
                ver_flat.extend(row)
            new_regime = reg_l[i0]
            if inv != states[sid][4] or new_regime != regime:
                regime = new_regime
                set_state()
            mid = mid_l[i0]
            if E - last_quote >= R:
                lo, hi = timer_requote(E, mid)
            elif linear:
                lo, hi = lazy_decide(E, mid) if lazy is not None else quick_decide(E, mid)
            else:
                lo, hi = decide(E, mid)
        if lazy is not None:
            materialise()
        self._row, self._cur_nb = row, cur_nb
        self._inv_lots, self._regime = inv, regime
        self._last_quote, self._lo, self._hi = last_quote, lo, hi
        self._trade_seq = trade_seq
        self._last_mid = mid_l[-1]
        self.result.last_mid = mid_l[-1]
        decided = np.zeros(c1 - c0, dtype=bool)
        decided[(-c0) % S :: S] = True
        decided[np.asarray(news_ticks, dtype=np.int64) - c0] = True
        decided[np.asarray(rep_tick, dtype=np.int64) - c0] = True
        self.result.decisions += int(np.count_nonzero(decided))
        self.result.requotes += len(rep_tick)
        rows = self._version_rows(ver_lazy, ver_flat, lazy_log, states)
        self._cur_rep = cur_rep - len(rep_tick)  # relative to the next chunk's replacements
        self._emit(
            c0, c1, mid_at, np.asarray(ver_tick, dtype=np.int64), rows, rep_tick, rep_ver, fills
        )

    def _version_rows(
        self,
        kinds: list[int],
        flat: list[int],
        lazy_log: list[float],
        states: list[tuple[Any, ...]],
    ) -> np.ndarray:
        """Logged ladders as an int array; lazy ones put on the grid here, vectorised."""
        lad, m = self._ladder, self._market
        L = m.levels
        is_lazy = np.asarray(kinds, dtype=bool)
        out = np.zeros((len(kinds), 4 * L + 1), dtype=np.int64)
        out[~is_lazy] = np.fromiter(flat, dtype=np.int64, count=len(flat)).reshape(-1, 4 * L + 1)
        if not lazy_log:
            return out
        log = np.asarray(lazy_log, dtype=float).reshape(-1, 7)  # ints < 2^53: exact
        mid = log[:, 0]
        sid = log[:, 1].astype(np.int64)
        zeros = [0.0] * L
        bk = np.asarray([s[0] or zeros for s in states])[sid]
        ak = np.asarray([s[1] or zeros for s in states])[sid]
        # per entry: lots per bid level, per ask level (0: side not quoted), lots taken from each
        lots = log[:, 2:6].astype(np.int64)
        b_n, a_n, b_used, a_used = (lots[:, i : i + 1] for i in range(4))
        level = np.arange(L)[None, :]
        block = np.zeros((len(mid), 4 * L + 1), dtype=np.int64)
        # a lazy ladder has every level of a quoted side, all one size (see `timer_requote`)
        block[:, 0:L] = np.where(b_n > 0, np.floor(mid[:, None] * bk / lad.tick_f), 0)
        block[:, L : 2 * L] = b_n - np.clip(b_used - level * b_n, 0, b_n)
        block[:, 2 * L : 3 * L] = np.where(a_n > 0, np.ceil(mid[:, None] * ak / lad.tick_f), 0)
        block[:, 3 * L : 4 * L] = a_n - np.clip(a_used - level * a_n, 0, a_n)
        block[:, 4 * L] = log[:, 6].astype(np.int64)
        out[is_lazy] = block
        return out

    # rows and totals -------------------------------------------------------------

    def _emit(
        self,
        c0: int,
        c1: int,
        mid_at: np.ndarray,
        ver_tick: np.ndarray,
        ver_rows: np.ndarray,
        rep_tick: list[int],
        rep_ver: list[int],
        fills: list[tuple[Any, ...]],
    ) -> None:
        """Totals and rows of one chunk, as columns, from the logged versions and fills."""
        m, lad, r, w = self._market, self._ladder, self.result, self._writers
        tpu, lpu, L = lad.tpu, lad.lpu, m.levels
        tick_ns, start = self._tick_ns, self._start
        symbol, mid_id = m.symbol, market_id(m.symbol)
        prefix = f"{self._session}-{mid_id}"
        # fills: totals in the exact engine's summation order (cumsum is sequential)
        # cids: each replacement's orders are numbered on from the last one's
        rep_rows = ver_rows[np.asarray(rep_ver, dtype=np.int64)]
        counts = (rep_rows[:, L : 2 * L] > 0).sum(axis=1) + (rep_rows[:, 3 * L : 4 * L] > 0).sum(
            axis=1
        )
        seq0 = self._cid_seq + np.cumsum(counts) - counts
        seq0_ext = np.concatenate((seq0, [self._carry_seq0]))  # index -1: the previous chunk's
        if len(rep_tick):
            self._carry_seq0 = int(seq0[-1])
        self._cid_seq += int(counts.sum())
        if fills:
            cols = list(zip(*fills, strict=True))
            maker_buy = np.asarray(cols[2], dtype=bool)
            f_ticks = np.fromiter(cols[3], dtype=np.int64, count=len(fills))
            f_lots = np.fromiter(cols[4], dtype=np.int64, count=len(fills))
            f_mid = np.fromiter(cols[8], dtype=float, count=len(fills))
            seen = np.fromiter(cols[1], dtype=np.int64, count=len(fills))
            notional = (f_ticks * f_lots) / float(tpu * lpu)
            fee = self._fees(f_ticks, f_lots)
            sign = np.where(maker_buy, 1.0, -1.0)
            r.fills += len(fills)
            r.volume_quote = float(np.cumsum(np.concatenate(([r.volume_quote], notional)))[-1])
            r.home_cash_quote = float(
                np.cumsum(np.concatenate(([r.home_cash_quote], -(sign * notional + fee))))[-1]
            )
            amount = f_lots / float(lpu)
            trade = np.fromiter(cols[7], dtype=np.int64, count=len(fills))
            fill_ids = NumberedIds(f"{self._session}-{mid_id}-", trade)
            if w is not None:
                ts = np.fromiter(cols[0], dtype=np.int64, count=len(fills))
                f_cid = seq0_ext[np.asarray(cols[5])] + 1 + np.asarray(cols[6])
                w.write_columns(
                    "fills",
                    {
                        "ts": ts.astype(np.int64),
                        "market": [symbol] * len(fills),
                        "fill_id": fill_ids,
                        "order_id": NumberedIds(f"{prefix}-q", f_cid),
                        "side": np.where(maker_buy, "buy", "sell").tolist(),
                        "price": f_ticks / float(tpu),
                        "amount": amount,
                        "fee": fee,
                        "fee_currency": [m.quote] * len(fills),
                        "liquidity": ["maker"] * len(fills),
                        "mid": f_mid.astype(float),
                        "seen_ts": start + seen.astype(np.int64) * tick_ns,
                    },
                )
            if self._settings.hedge and m.hedge_mode is HedgeMode.MIRROR and self._hedge_best:
                hedge_buy = ~maker_buy.astype(bool)
                self._hedges(
                    start + seen.astype(np.int64) * tick_ns,
                    hedge_buy,
                    amount,
                    f_mid.astype(float),
                    NumberedIds(f"m-{fill_ids.prefix}", trade),
                    fill_ids,
                )
        # net mode: the rebalancer's timer hedges the net exposure over its threshold
        if self._settings.hedge and m.hedge_mode is HedgeMode.NET and self._hedge_best:
            rb = np.arange(-(-c0 // self._rebalance) * self._rebalance, c1, self._rebalance)
            v = np.searchsorted(ver_tick, rb, side="right") - 1
            home = ver_rows[v, 4 * L] / float(lpu)
            threshold = self._config.rebalancer.exposure_threshold_quote
            for t, pos, mid in zip(
                rb.tolist(), home.tolist(), mid_at[rb - c0].tolist(), strict=True
            ):
                net = pos + r.hedge_position_base
                if abs(net) * mid > threshold:
                    self._hedge_seq += 1
                    self._hedges(
                        np.array([start + t * tick_ns]),
                        np.array([net < 0]),
                        np.array([abs(net)]),
                        np.array([mid]),
                        NumberedIds(f"n-{symbol}-", np.array([self._hedge_seq])),
                        [None],
                    )
        # book samples after each sample tick's decision
        st = np.arange(-(-c0 // self._sample) * self._sample, c1, self._sample)
        if len(st):
            rows = ver_rows[np.searchsorted(ver_tick, st, side="right") - 1]
            self._samples(st, rows, mid_at[st - c0])
        # quotes: a cancel_all then the placed ladder, per replacement
        if w is not None and rep_tick:
            rows = rep_rows
            q_ticks = np.concatenate((rows[:, 0:L], rows[:, 2 * L : 3 * L]), axis=1)
            q_lots = np.concatenate((rows[:, L : 2 * L], rows[:, 3 * L : 4 * L]), axis=1)
            placed = q_lots > 0
            level = np.cumsum(placed, axis=1) - 1
            seq = seq0[:, None] + 1 + level
            rep_ts = start + np.asarray(rep_tick, dtype=np.int64) * tick_ns
            n = int(placed.sum())
            is_bid = np.zeros_like(placed)
            is_bid[:, :L] = True
            w.write_columns("quotes", self._cancel_all_columns(rep_ts.tolist()))
            w.write_columns(
                "quotes",
                {
                    "ts": np.broadcast_to(rep_ts[:, None], placed.shape)[placed],
                    "market": [symbol] * n,
                    "side": np.where(is_bid[placed], "buy", "sell").tolist(),
                    "level": level[placed].astype(np.int32),
                    "price": q_ticks[placed] / float(tpu),
                    "amount": q_lots[placed] / float(lpu),
                    "client_order_id": NumberedIds(f"{prefix}-q", seq[placed]),
                    "action": ["place"] * n,
                },
            )

    def _fees(self, ticks: np.ndarray, lots: np.ndarray) -> np.ndarray:
        """Maker fees as the matching engine charges them: Decimal, 8 places, half up."""
        if self._maker_fee == 0:
            return np.zeros(len(ticks))
        spec, rate, quantum = self._spec, self._maker_fee, Decimal("1e-8")
        return np.asarray(
            [
                float(
                    (spec.tick_size * t * (spec.lot_size * q) * rate).quantize(
                        quantum, "ROUND_HALF_UP"
                    )
                )
                for t, q in zip(ticks.tolist(), lots.tolist(), strict=True)
            ]
        )

    def _hedges(
        self,
        ts: np.ndarray,
        buy: np.ndarray,
        amount: np.ndarray,
        mid: np.ndarray,
        hedge_ids: NumberedIds,
        source_fill_ids: NumberedIds | list[None],
    ) -> None:
        """Hedges filled at once at the best simulated venue's touch, as `MarketBacktest._hedge`."""
        r, m = self.result, self._market
        buy_v, sell_v = self._hedge_best[Side.BUY], self._hedge_best[Side.SELL]
        off = np.where(buy, buy_v.offset_bps, sell_v.offset_bps)
        half = np.where(buy, buy_v.half_spread_bps, -sell_v.half_spread_bps)
        fee_rate = np.where(buy, buy_v.taker_fee, sell_v.taker_fee)
        price = mid * (1.0 + (off + half) / 1e4)
        cost = price * amount
        fee = cost * fee_rate
        r.hedge_cash_quote = float(
            np.cumsum(np.concatenate(([r.hedge_cash_quote], np.where(buy, -cost, cost) - fee)))[-1]
        )
        r.hedge_position_base = float(
            np.cumsum(np.concatenate(([r.hedge_position_base], np.where(buy, amount, -amount))))[-1]
        )
        if self._writers is None:
            return
        n = len(ts)
        venue = np.where(buy, buy_v.venue, sell_v.venue).tolist()
        side = np.where(buy, "buy", "sell").tolist()
        cids = NumberedIds(hedge_ids.prefix, hedge_ids.numbers, "-0")
        orders, fills = modelled_hedge_columns(
            n,
            ts=np.asarray(ts, dtype=np.int64),
            market=m.symbol,
            hedge_ids=hedge_ids,
            client_order_ids=cids,
            source_fill_ids=source_fill_ids,
            venue=venue,
            side=side,
            amount=amount,
            decision_mid=mid,
            price=price,
            cost=cost,
            fee=fee,
            fee_currency=m.quote,
        )
        self._writers.write_columns("hedge_orders", orders)
        self._writers.write_columns("hedge_fills", fills)

    def _samples(self, st: np.ndarray, rows: np.ndarray, ref_mid: np.ndarray) -> None:
        """`book_sample` for many ticks at once (levels best first, absent ones zero)."""
        m, lad, r = self._market, self._ladder, self.result
        L, tpu, lpu = m.levels, float(lad.tpu), float(lad.lpu)
        bp, ba = rows[:, 0:L] / tpu, rows[:, L : 2 * L] / lpu
        ap, aa = rows[:, 2 * L : 3 * L] / tpu, rows[:, 3 * L : 4 * L] / lpu
        has_b, has_a = rows[:, L] > 0, rows[:, 3 * L] > 0
        two = has_b & has_a
        best_bid = np.where(has_b, bp[:, 0], np.nan)
        best_ask = np.where(has_a, ap[:, 0], np.nan)
        mid = np.where(two, (best_bid + best_ask) / 2, ref_mid)
        with np.errstate(invalid="ignore"):
            spread = np.where(two, (best_ask - best_bid) / mid * 1e4, np.nan)

        def depth(prices: np.ndarray, amounts: np.ndarray, bps: float, is_bid: bool) -> np.ndarray:
            bound = mid * (1 - bps / 1e4) if is_bid else mid * (1 + bps / 1e4)
            total = np.zeros(len(mid))
            for i in range(L):  # level by level: the order `depth_within` sums in
                p, a = prices[:, i], amounts[:, i]
                inside = (a > 0) & ((p >= bound) if is_bid else (p <= bound))
                total = total + np.where(inside, p * a, 0.0)
            return np.where(mid > 0, total, 0.0)

        r.samples += len(st)
        if m.target_spread_bps is not None:
            r.samples_spread_within_target += int(
                np.count_nonzero(two & (spread <= m.target_spread_bps))
            )
        inventory = rows[:, 4 * L] / lpu
        r.inventory_sum = float(np.cumsum(np.concatenate(([r.inventory_sum], inventory)))[-1])
        r.inventory_sumsq = float(
            np.cumsum(np.concatenate(([r.inventory_sumsq], inventory * inventory)))[-1]
        )
        if self._writers is None:
            return  # the totals need no depth
        band = m.depth_band_bps
        cols: dict[str, Any] = {
            "ts": self._start + st * self._tick_ns,
            "market": [m.symbol] * len(st),
            "best_bid": best_bid,
            "best_ask": best_ask,
            "mid": mid,
            "spread_bps": spread,
        }
        for b in DEPTH_BANDS_BPS:
            cols[f"bid_depth_{b}bps"] = depth(bp, ba, b, True)
            cols[f"ask_depth_{b}bps"] = depth(ap, aa, b, False)
        cols["bot_bid_depth_50bps"] = cols["bid_depth_50bps"]
        cols["bot_ask_depth_50bps"] = cols["ask_depth_50bps"]
        cols["bid_depth_band"] = cols["bot_bid_depth_band"] = depth(bp, ba, band, True)
        cols["ask_depth_band"] = cols["bot_ask_depth_band"] = depth(ap, aa, band, False)
        cols["quoting"] = two
        for key in ("target_spread_bps", "max_spread_bps", "depth_band_bps", "depth_target_quote"):
            value = getattr(m, key)
            cols[key] = np.full(len(st), np.nan if value is None else float(value))
        self._writers.write_columns("book_samples", cols)

    def _cancel_all_columns(self, ts: list[int]) -> dict[str, Any]:
        n = len(ts)
        return {
            "ts": np.asarray(ts, dtype=np.int64),
            "market": [self._market.symbol] * n,
            "side": [None] * n,
            "level": [None] * n,
            "price": [None] * n,
            "amount": [None] * n,
            "client_order_id": [None] * n,
            "action": ["cancel_all"] * n,
        }

    def _finish_totals(self, wall_start: float) -> None:
        r = self.result
        steps = (self._end - self._start) // self._step_ns
        r.book_events = int(steps) + self._book_events
        r.home_position_base = self._inv_lots / self._ladder.lpu
        r.wall_s = time.perf_counter() - wall_start
