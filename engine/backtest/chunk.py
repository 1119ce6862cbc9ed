"""The fast backtest's chunks: one chunk's takers as arrays, the compiled loop that runs it
(`engine.backtest.kernel`) with the state it carries across chunks, and its log (read by
`engine.backtest.fast_rows`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.backtest import intensity_kernel, kernel
from engine.backtest.ladder_grid import FastPathUnsupported, LadderOnGrid
from engine.config import PolicyName
from engine.quoting import MarketEstimators

WINDOW_CAPACITY = 1 << 16
"""Trades GLFT's compiled calibration window can hold (~450 at the default flow)."""


@dataclass(slots=True)
class ChunkTakers:
    """One chunk's takers with a non-zero amount, in arrival order, and the ticks at which
    any taker arrived (news for the quoter, even when its amount floors to zero)."""

    news_ticks: np.ndarray
    tick: np.ndarray
    lots: np.ndarray
    ts: np.ndarray
    informed: np.ndarray
    coin_buy: np.ndarray
    ref: np.ndarray

    @classmethod
    def empty(cls) -> ChunkTakers:
        i, f, b = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
        return cls(i, i, i, i, b, b, f)


@dataclass(frozen=True, slots=True)
class ChunkLog:
    """What a chunk did: ladder versions in tick order (a later one at the same tick wins;
    rows `[bid ticks] [bid lots] [ask ticks] [ask lots] inv`), the replacements (tick, and
    their version), the fills (int columns ts, tick, maker buy, ticks, lots, replacement
    relative to the chunk (-1: the previous chunk's last), level, trade seq; and the mid
    each was seen at), and how many decisions were made."""

    ver_tick: np.ndarray
    ver_rows: np.ndarray
    rep_tick: np.ndarray
    rep_ver: np.ndarray
    fills_i: np.ndarray
    fills_mid: np.ndarray
    decisions: int


class CompiledLoop:
    """Runs chunks through `kernel.run_chunk`, carrying its state; the ladder's states that
    are not `mid * k` are priced by the live policy and rules when the kernel asks.

    `compiled=False` runs the same loop interpreted (`run_chunk.py_func`): the reference.
    """

    def __init__(
        self,
        lad: LadderOnGrid,
        *,
        start_ns: int,
        tick_ns: int,
        pull_ticks: int,
        requote_ticks: int,
        compiled: bool = True,
        entry_ticks: int = 0,
    ) -> None:
        self.lad, self.start, self.tick_ns = lad, start_ns, tick_ns
        self.coef = kernel.coefficients_of(
            lad, pull_ticks=pull_ticks, requote_ticks=requote_ticks, tick_ns=tick_ns,
            start_ns=start_ns, entry_ticks=entry_ticks,
        )  # fmt: skip
        est = MarketEstimators.for_market(lad.market).intensity
        self.ist, self.ip, self.grid = intensity_kernel.intensity_parameters(est)
        self.it_ts = np.zeros(WINDOW_CAPACITY, dtype=np.int64)
        self.it_d = np.zeros(WINDOW_CAPACITY)
        self.counts = np.zeros(len(self.grid), dtype=np.int64)
        self.L = lad.market.levels
        self.st = np.zeros(kernel.STATE_SLOTS, dtype=np.int64)
        self.st[kernel.LAST_QUOTE] = -(10**12)
        self.st[kernel.CUR_REP] = -1
        self.st[kernel.LANDS_AT] = -1
        self.fst = np.zeros(kernel.FSTATE_SLOTS)
        self.row = np.zeros(4 * self.L + 1, dtype=np.int64)
        self.want = np.zeros(4 * self.L, dtype=np.int64)
        self._run = kernel.run_chunk if compiled else kernel.run_chunk.py_func
        glft = lad.market.policy is PolicyName.GLFT
        self._intensity = MarketEstimators.for_market(lad.market).intensity if glft else None
        self._fed = 0  # fills of the running chunk already fed to `_intensity`

    @property
    def inv_lots(self) -> int:
        return int(self.st[kernel.INV])

    def run(
        self,
        c0: int,
        c1: int,
        mid: np.ndarray,
        regime: np.ndarray,
        sigma: np.ndarray,
        tk: ChunkTakers,
        new_reference_ticks: np.ndarray,
    ) -> ChunkLog:
        """Ticks [c0, c1): `mid` after each tick's pull, the vol guard's `regime` and the long
        `sigma` (NaN: none yet) the models read at each tick, the takers, and the ticks whose
        pull brought a new reference (news, as takers are)."""
        st, L, n = self.st, self.L, c1 - c0
        news = np.zeros(n, dtype=bool)
        news[tk.news_ticks - c0] = True
        news[new_reference_ticks - c0] = True
        cap_ver = 2 * n + 1
        ver_tick = np.empty(cap_ver, dtype=np.int64)
        ver_rows = np.empty((cap_ver, 4 * L + 1), dtype=np.int64)
        ver_tick[0], ver_rows[0] = c0 - 1, self.row
        rep_tick = np.empty(n, dtype=np.int64)
        rep_ver = np.empty(n, dtype=np.int64)
        cap_fill = len(tk.tick) * L
        fills_i = np.empty((cap_fill, 8), dtype=np.int64)
        fills_mid = np.empty(cap_fill)
        st[kernel.TICK], st[kernel.PHASE] = c0, 0
        st[kernel.N_VER], st[kernel.N_REP], st[kernel.N_FILL] = 1, 0, 0
        st[kernel.TK_I], st[kernel.DECISIONS] = 0, 0
        c = self.coef
        have_want = False
        while True:
            status = self._run(
                c0, c1, mid, regime, news, tk.tick, tk.lots, tk.ts, tk.informed, tk.coin_buy,
                tk.ref, sigma, c.offsets_bps, c.real, c.integer, c.model, self.ist, self.ip,
                self.it_ts, self.it_d, self.counts, self.grid, st, self.fst, self.row, self.want,
                have_want, ver_tick, ver_rows, rep_tick, rep_ver, fills_i, fills_mid,
            )  # fmt: skip
            if status == kernel.DONE:
                break
            if status == kernel.WINDOW_FULL:
                raise FastPathUnsupported(
                    f"{self.lad.market.symbol}: more than {WINDOW_CAPACITY} trades in GLFT's "
                    "calibration window"
                )
            t = int(st[kernel.TICK])
            self._feed_trades(fills_i, fills_mid, int(st[kernel.N_FILL]))
            self._live_ladder(t, float(mid[t - c0]), float(sigma[t - c0]))
            have_want = True
        nv, nr, nf = int(st[kernel.N_VER]), int(st[kernel.N_REP]), int(st[kernel.N_FILL])
        self._feed_trades(fills_i, fills_mid, nf)
        self._fed = 0
        log = ChunkLog(
            ver_tick[:nv], ver_rows[:nv], rep_tick[:nr], rep_ver[:nr], fills_i[:nf],
            fills_mid[:nf], int(st[kernel.DECISIONS]),
        )  # fmt: skip
        st[kernel.CUR_REP] -= nr  # relative to the next chunk's replacements
        return log

    def _feed_trades(self, fills_i: np.ndarray, fills_mid: np.ndarray, upto: int) -> None:
        """The fills since the last call to the fill-intensity fit, as the quoter's
        `on_trades` sees them (with only the bot making, every trade is a bot fill)."""
        if self._intensity is None:
            return
        tpu = self.lad.tpu
        for i in range(self._fed, upto):
            self._intensity.observe(int(fills_i[i, 0]), fills_i[i, 3] / tpu, fills_mid[i])
        self._fed = upto

    def _live_ladder(self, tick: int, mid: float, sigma: float) -> None:
        """The live policy and rules' ladder into `want` (any policy; the ladder's vol guard
        and spread clamp states)."""
        st, L, want = self.st, self.L, self.want
        now = self.start + tick * self.tick_ns
        fit = self._intensity.fit(now) if self._intensity is not None else None
        bids, asks = self.lad.live_quotes(
            mid,
            now,
            int(st[kernel.INV]),
            int(st[kernel.REGIME]),
            elapsed_s=(now - self.start) / 1e9,
            sigma=None if math.isnan(sigma) else sigma,
            intensity=fit,
        )
        want[:] = 0
        for j, (t, n) in enumerate(bids):
            want[j], want[L + j] = t, n
        for j, (t, n) in enumerate(asks):
            want[2 * L + j], want[3 * L + j] = t, n
