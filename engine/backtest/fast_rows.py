"""The fast backtest's totals and rows, built as columns from a chunk's log.

A chunk's ladder versions (flat rows and lazy entries put on the grid here,
vectorised) give the book at every sample tick; its fills and replacements
give the `fills`, `quotes` and (modelled) `hedge_orders`/`hedge_fills` rows,
in the exact engine's order and with its client order ids. Totals are summed
in the exact engine's order too (`cumsum` is sequential), so the two engines
agree to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import numpy as np

from engine.backtest.chunk import ChunkLog
from engine.backtest.engine import BacktestResult, BacktestSettings, HedgeVenueQuote
from engine.backtest.ladder_grid import PAUSE as _PAUSE
from engine.backtest.ladder_grid import WIDEN as _WIDEN
from engine.backtest.ladder_grid import LadderOnGrid
from engine.backtest.models import FeeModel, Liquidity
from engine.book_metrics import DEPTH_BANDS_BPS
from engine.config import AppConfig, HedgeMode
from engine.hedging.records import modelled_hedge_columns
from engine.quote_records import QuoteState
from engine.quoting.guards import VolRegime, guarded_target_spread_bps
from engine.types import Side, market_id


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


@dataclass(frozen=True, slots=True)
class Constant:
    """A column of `n` times `value` (None: null): writers repeat one Arrow scalar."""

    value: object
    n: int

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> object:
        return self.value

    def tolist(self) -> list[object]:
        return [self.value] * self.n


@dataclass(frozen=True, slots=True)
class Either:
    """A column of `if_true` where `mask`, else `if_false` (a side): one Arrow `if_else`."""

    mask: np.ndarray
    if_true: str
    if_false: str

    def __len__(self) -> int:
        return len(self.mask)

    def tolist(self) -> list[str]:
        return np.where(self.mask, self.if_true, self.if_false).tolist()


class ColumnWriters(Protocol):
    """Where the fast path's rows go, as columns per table (the CLI writes Parquet parts).

    A column is a numpy array (float NaN = null), a list, `NumberedIds`, `Constant` or
    `Either`: the last three let a writer build Arrow arrays without a Python object per row.
    """

    def write_columns(self, table: str, columns: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Strides:
    """Timers in ticks: pull, sample, rebalance."""

    tick_ns: int
    pull: int
    sample: int
    rebalance: int


class FastRows:
    """Totals into `result`, rows into `writers` (None: totals only), chunk by chunk."""

    def __init__(
        self,
        config: AppConfig,
        lad: LadderOnGrid,
        result: BacktestResult,
        *,
        session: str,
        start_ns: int,
        strides: Strides,
        settings: BacktestSettings,
        hedge_best: dict[Side, HedgeVenueQuote],
        writers: ColumnWriters | None,
        fees: FeeModel | None = None,
    ) -> None:
        self.config, self.lad, self.market, self.result = config, lad, lad.market, result
        self.session, self.start, self.strides = session, start_ns, strides
        self.settings, self.hedge_best, self.writers = settings, hedge_best, writers
        fees = fees or FeeModel.from_config(config)
        venue = config.home_venue.id
        self.maker_fee = {  # by maker side: True = the bot bought
            buy: Decimal(str(fees.rate(venue, Side.BUY if buy else Side.SELL, Liquidity.MAKER)))
            for buy in (True, False)
        }
        self.taker_fee = float(config.home_venue.taker_fee)
        self.cid_seq = 0  # client order ids placed so far
        self.carry_seq0 = 0  # the first id of the previous chunk's last replacement, minus 1
        self.hedge_seq = 0

    def emit(
        self,
        c0: int,
        c1: int,
        mid_at: np.ndarray,
        log: ChunkLog,
        regime_at: np.ndarray | None = None,
    ) -> None:
        """Totals and rows of one chunk, as columns, from its logged versions and fills;
        `regime_at` (the vol guard's regime code per tick) names the samples' quote state."""
        L = self.market.levels
        ver_tick, ver_rows = log.ver_tick, log.ver_rows
        # cids: each replacement's orders are numbered on from the last one's
        rep_rows = ver_rows[log.rep_ver]
        counts = (rep_rows[:, L : 2 * L] > 0).sum(axis=1) + (rep_rows[:, 3 * L : 4 * L] > 0).sum(
            axis=1
        )
        seq0 = self.cid_seq + np.cumsum(counts) - counts
        seq0_ext = np.concatenate((seq0, [self.carry_seq0]))  # index -1: the previous chunk's
        if len(log.rep_tick):
            self.carry_seq0 = int(seq0[-1])
        self.cid_seq += int(counts.sum())
        if len(log.fills_i):
            self.fills(log, seq0_ext)
        if self.settings.hedge and self.market.hedge_mode is HedgeMode.NET and self.hedge_best:
            self.net_hedges(c0, c1, mid_at, ver_tick, ver_rows)
        st = np.arange(-(-c0 // self.strides.sample) * self.strides.sample, c1, self.strides.sample)
        if len(st):  # book samples after each sample tick's decision
            rows = ver_rows[np.searchsorted(ver_tick, st, side="right") - 1]
            regimes = None if regime_at is None else np.asarray(regime_at)[st - c0]
            self.samples(st, rows, mid_at[st - c0], regimes)
        if self.writers is not None and len(log.rep_tick):
            self.quotes(log.rep_tick, rep_rows, seq0)

    def fills(self, log: ChunkLog, seq0_ext: np.ndarray) -> None:
        """Fill totals in the exact engine's summation order; rows; mirror hedges."""
        r, m, w, lad = self.result, self.market, self.writers, self.lad
        tick_ns, mid_id = self.strides.tick_ns, market_id(m.symbol)
        cols = log.fills_i.T
        n = len(log.fills_i)
        maker_buy = cols[2].astype(bool)
        f_ticks, f_lots, f_mid = cols[3], cols[4], log.fills_mid
        seen = self.start + cols[1] * tick_ns
        notional = (f_ticks * f_lots) / float(lad.tpu * lad.lpu)
        fee = self.fees(f_ticks, f_lots, maker_buy)
        sign = np.where(maker_buy, 1.0, -1.0)
        r.fills += n
        r.volume_quote = float(np.cumsum(np.concatenate(([r.volume_quote], notional)))[-1])
        r.home_cash_quote = float(
            np.cumsum(np.concatenate(([r.home_cash_quote], -(sign * notional + fee))))[-1]
        )
        amount = f_lots / float(lad.lpu)
        trade = cols[7].copy()
        fill_ids = NumberedIds(f"{self.session}-{mid_id}-", trade)
        if w is not None:
            f_cid = seq0_ext[cols[5]] + 1 + cols[6]
            w.write_columns(
                "fills",
                {
                    "ts": cols[0].copy(),
                    "market": Constant(m.symbol, n),
                    "fill_id": fill_ids,
                    "order_id": NumberedIds(f"{self.session}-{mid_id}-q", f_cid),
                    "side": Either(maker_buy, "buy", "sell"),
                    "price": f_ticks / float(lad.tpu),
                    "amount": amount,
                    "fee": fee,
                    "fee_currency": Constant(m.quote, n),
                    "liquidity": Constant("maker", n),
                    "mid": f_mid,
                    "seen_ts": seen,
                    # price * amount as `fill_row` computes it: the exchange's taker fee
                    "taker_fee_quote": (f_ticks / float(lad.tpu)) * amount * self.taker_fee,
                },
            )
        if self.settings.hedge and m.hedge_mode is HedgeMode.MIRROR and self.hedge_best:
            hedge_ids = NumberedIds(f"m-{fill_ids.prefix}", trade)
            self.hedges(seen, ~maker_buy, amount, f_mid, hedge_ids, fill_ids)

    def net_hedges(
        self, c0: int, c1: int, mid_at: np.ndarray, ver_tick: np.ndarray, ver_rows: np.ndarray
    ) -> None:
        """Net mode: the rebalancer's timer hedges the net exposure over its threshold."""
        r, L, every = self.result, self.market.levels, self.strides.rebalance
        rb = np.arange(-(-c0 // every) * every, c1, every)
        v = np.searchsorted(ver_tick, rb, side="right") - 1
        home = ver_rows[v, 4 * L] / float(self.lad.lpu)
        threshold = self.config.rebalancer.exposure_threshold_quote
        for t, pos, mid in zip(rb.tolist(), home.tolist(), mid_at[rb - c0].tolist(), strict=True):
            net = pos + r.hedge_position_base
            if abs(net) * mid > threshold:
                self.hedge_seq += 1
                self.hedges(
                    np.array([self.start + t * self.strides.tick_ns]),
                    np.array([net < 0]),
                    np.array([abs(net)]),
                    np.array([mid]),
                    NumberedIds(f"n-{self.market.symbol}-", np.array([self.hedge_seq])),
                    [None],
                )

    def quotes(self, rep_tick: np.ndarray, rows: np.ndarray, seq0: np.ndarray) -> None:
        """A cancel_all then the placed ladder, per replacement."""
        assert self.writers is not None
        lad, L, m = self.lad, self.market.levels, self.market
        prefix = f"{self.session}-{market_id(m.symbol)}"
        q_ticks = np.concatenate((rows[:, 0:L], rows[:, 2 * L : 3 * L]), axis=1)
        q_lots = np.concatenate((rows[:, L : 2 * L], rows[:, 3 * L : 4 * L]), axis=1)
        placed = q_lots > 0
        level = np.cumsum(placed, axis=1) - 1
        seq = seq0[:, None] + 1 + level
        rep_ts = self.start + np.asarray(rep_tick, dtype=np.int64) * self.strides.tick_ns
        n = int(placed.sum())
        is_bid = np.zeros_like(placed)
        is_bid[:, :L] = True
        self.writers.write_columns("quotes", self.cancel_all_columns(rep_ts.tolist()))
        self.writers.write_columns(
            "quotes",
            {
                "ts": np.broadcast_to(rep_ts[:, None], placed.shape)[placed],
                "market": Constant(m.symbol, n),
                "side": Either(is_bid[placed], "buy", "sell"),
                "level": level[placed].astype(np.int32),
                "price": q_ticks[placed] / float(lad.tpu),
                "amount": q_lots[placed] / float(lad.lpu),
                "client_order_id": NumberedIds(f"{prefix}-q", seq[placed]),
                "action": Constant("place", n),
            },
        )

    def fees(self, ticks: np.ndarray, lots: np.ndarray, maker_buy: np.ndarray) -> np.ndarray:
        """Maker fees at the fee model's rate for each fill's side, as the matching engine
        charges them: Decimal, 8 places, half up."""
        rates = self.maker_fee
        if not any(rates.values()):
            return np.zeros(len(ticks))
        spec, quantum = self.lad.spec, Decimal("1e-8")
        return np.asarray(
            [
                float(
                    (spec.tick_size * t * (spec.lot_size * q) * rates[b]).quantize(
                        quantum, "ROUND_HALF_UP"
                    )
                )
                for t, q, b in zip(ticks.tolist(), lots.tolist(), maker_buy.tolist(), strict=True)
            ]
        )

    def hedges(
        self,
        ts: np.ndarray,
        buy: np.ndarray,
        amount: np.ndarray,
        mid: np.ndarray,
        hedge_ids: NumberedIds,
        source_fill_ids: NumberedIds | list[None],
    ) -> None:
        """Hedges filled at once at the best simulated venue's touch, as `MarketBacktest._hedge`."""
        r, m = self.result, self.market
        buy_v, sell_v = self.hedge_best[Side.BUY], self.hedge_best[Side.SELL]
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
        if self.writers is None:
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
        self.writers.write_columns("hedge_orders", orders)
        self.writers.write_columns("hedge_fills", fills)

    def samples(
        self,
        st: np.ndarray,
        rows: np.ndarray,
        ref_mid: np.ndarray,
        regimes: np.ndarray | None = None,
    ) -> None:
        """`book_sample` for many ticks at once (levels best first, absent ones zero)."""
        m, lad, r = self.market, self.lad, self.result
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
        r.samples += len(st)
        r.samples_spread_within_target += int(
            np.count_nonzero(two & (spread <= m.target_spread_bps))
        )
        inventory = rows[:, 4 * L] / lpu
        r.inventory_sum = float(np.cumsum(np.concatenate(([r.inventory_sum], inventory)))[-1])
        r.inventory_sumsq = float(
            np.cumsum(np.concatenate(([r.inventory_sumsq], inventory * inventory)))[-1]
        )
        if self.writers is None:
            return  # the totals need no depth
        cols = self.sample_columns(st, mid, spread, best_bid, best_ask, (bp, ba, ap, aa))
        cols["quoting"] = two
        cols["reference_mid"] = np.where(ref_mid > 0, ref_mid, np.nan)
        if regimes is not None:
            cols |= self.sample_states(regimes, has_b, has_a)
        self.writers.write_columns("book_samples", cols)

    def sample_states(
        self, regimes: np.ndarray, has_b: np.ndarray, has_a: np.ndarray
    ) -> dict[str, Any]:
        """`quote_state` and `effective_target_spread_bps` as `engine.quote_records` gives
        them (a backtest has no pause, stale reference or alert widening)."""
        m = self.market
        widen, pause = regimes == _WIDEN, regimes == _PAUSE
        state = np.where(widen, QuoteState.VOL_WIDEN.value, QuoteState.NORMAL.value)
        state = np.where(has_b != has_a, QuoteState.ONE_SIDED.value, state)
        state = np.where(~has_b & ~has_a, QuoteState.NOT_QUOTING.value, state)
        state = np.where(pause, QuoteState.VOL_PAUSE.value, state)
        widened = guarded_target_spread_bps(m, VolRegime.WIDEN)
        return {
            "quote_state": state.tolist(),
            "effective_target_spread_bps": np.where(widen, widened, m.target_spread_bps),
        }

    def sample_columns(
        self,
        st: np.ndarray,
        mid: np.ndarray,
        spread: np.ndarray,
        best_bid: np.ndarray,
        best_ask: np.ndarray,
        book: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ) -> dict[str, Any]:
        m, L = self.market, self.market.levels
        bp, ba, ap, aa = book

        def depth(prices: np.ndarray, amounts: np.ndarray, bps: float, is_bid: bool) -> np.ndarray:
            bound = mid * (1 - bps / 1e4) if is_bid else mid * (1 + bps / 1e4)
            total = np.zeros(len(mid))
            for i in range(L):  # level by level: the order `depth_within` sums in
                p, a = prices[:, i], amounts[:, i]
                inside = (a > 0) & ((p >= bound) if is_bid else (p <= bound))
                total = total + np.where(inside, p * a, 0.0)
            return np.where(mid > 0, total, 0.0)

        band = m.depth_band_bps
        cols: dict[str, Any] = {
            "ts": self.start + st * self.strides.tick_ns,
            "market": Constant(m.symbol, len(st)),
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
        for key in ("target_spread_bps", "max_spread_bps", "depth_band_bps", "depth_target_quote"):
            cols[key] = np.full(len(st), float(getattr(m, key)))
        # no alert widens a backtest's target: configured and effective are the same
        cols["configured_target_spread_bps"] = cols["target_spread_bps"]
        cols["configured_depth_target_quote"] = cols["depth_target_quote"]
        cols["effective_target_spread_bps"] = cols["target_spread_bps"]
        return cols

    def cancel_all_columns(self, ts: list[int]) -> dict[str, Any]:
        n = len(ts)
        return {
            "ts": np.asarray(ts, dtype=np.int64),
            "market": Constant(self.market.symbol, n),
            "side": Constant(None, n),
            "level": Constant(None, n),
            "price": Constant(None, n),
            "amount": Constant(None, n),
            "client_order_id": Constant(None, n),
            "action": Constant("cancel_all", n),
        }
