"""The fast backtest's sequential part: one chunk of ticks, events in time order.

Between events (a taker arrival, a vol-guard regime change) inventory is
fixed, so the requote rule reduces to the timer and to pulled mids leaving an
interval `[lo, hi]` inside which the live ladder certainly survives
`needs_requote`; only those run the exact check. At an event the takers walk
the live ladder, inventory moves, and the exact decision is made.

The live ladder is kept lazily in the common case: a requote in the linear
state (every price `mid * k`, every level of a side one size) is kept as
(mid, state, lots per level) plus the lots takers took from each side, and is
put on the grid only level by level as takers reach it (`fast_rows` puts the
logged versions on the grid vectorised). Otherwise it is one flat row
`[bid ticks] [bid lots] [ask ticks] [ask lots] inv`, levels best first, a
filled-out level keeping its slot with zero lots.
"""

from __future__ import annotations

import math

from engine.backtest.chunk import ChunkInputs, ChunkLog, Ladder, Lazy, LoopState
from engine.backtest.ladder_grid import LadderOnGrid, LadderState
from engine.quoting.base import REQUOTE_SIZE_CHANGE

GRID_MARGIN_TICKS = 3.0  # desired vs k * mid: rounding plus the k estimate, in ticks
LOCAL_MOVE = 0.01  # an interval is trusted within 1 % of the mid it was built at
MIN_LINEAR_LOTS = 100  # below, one lot of rounding is near the 10 % size rule: full interval
_SHRINK, _GROW = 1 - REQUOTE_SIZE_CHANGE, 1 + REQUOTE_SIZE_CHANGE
_UP, _DOWN = 1 + 1e-9, 1 - 1e-9


class ChunkLoop:
    """Runs one chunk [c0, c1) from `state`, logging into `log`; `run` leaves `state` at c1."""

    def __init__(
        self,
        lad: LadderOnGrid,
        state: LoopState,
        c0: int,
        c1: int,
        inputs: ChunkInputs,
        *,
        start_ns: int,
        tick_ns: int,
        pull_stride: int,
        requote_stride: int,
    ) -> None:
        m = lad.market
        self.lad, self.state, self.c0, self.c1, self.inp = lad, state, c0, c1, inputs
        self.start, self.tick_ns = start_ns, tick_ns
        self.S, self.R = pull_stride, requote_stride
        self.L = m.levels
        self.tol_bps = m.requote_tolerance_bps
        self.c = self.tol_bps / 1e4
        self.margin = GRID_MARGIN_TICKS * lad.tick_f
        self.log = ChunkLog([c0 - 1], [0], list(state.row))
        self.row = state.row  # the live ladder, valid unless `lazy`
        self.lazy: Lazy | None = None
        self.used_b = self.used_a = 0  # lots taken from a lazy ladder's bid (ask) touch down
        self.st: LadderState = lad.state(state.inv, state.regime)
        self.sid = -1

    # ladder state -----------------------------------------------------------------

    def set_state(self) -> None:
        """Inventory or regime changed: the ladder's multiples anew."""
        s = self.state
        self.st = self.lad.state(s.inv, s.regime)
        self.log.states.append(self.st)
        self.sid = len(self.log.states) - 1

    def desired(self, mid: float, tick: int) -> Ladder:
        if not self.st.linear:
            s = self.state
            return self.lad.live_quotes(mid, self.start + tick * self.tick_ns, s.inv, s.regime)
        return self.lad.on_grid(mid, self.st)

    # the live ladder ---------------------------------------------------------------

    def place(self, tick: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        """Replace the live ladder with `bids`/`asks` (already on the grid)."""
        L, log = self.L, self.log
        new = [0] * (4 * L + 1)
        for i, (t, n) in enumerate(bids):
            new[i] = t
            new[L + i] = n
        for i, (t, n) in enumerate(asks):
            new[2 * L + i] = t
            new[3 * L + i] = n
        new[4 * L] = self.state.inv
        self.row, self.lazy = new, None
        self.state.cur_nb, self.state.last_quote = len(bids), tick
        log.ver_tick.append(tick)
        log.ver_lazy.append(0)
        log.ver_flat.extend(new)
        log.rep_tick.append(tick)
        log.rep_ver.append(len(log.ver_tick) - 1)
        self.state.cur_rep = len(log.rep_tick) - 1

    def materialise(self) -> None:
        """Put a lazy ladder on the grid (in the state it was quoted in), less what takers
        took."""
        assert self.lazy is not None
        L, tick_f = self.L, self.lad.tick_f
        mid_r, s_id, nb, na = self.lazy
        quoted = self.log.states[s_id]
        new = [0] * (4 * L + 1)
        if nb:
            for j, k in enumerate(quoted.bk):
                new[j] = math.floor(mid_r * k / tick_f)
                new[L + j] = nb - min(max(self.used_b - j * nb, 0), nb)
        if na:
            for j, k in enumerate(quoted.ak):
                new[2 * L + j] = math.ceil(mid_r * k / tick_f)
                new[3 * L + j] = na - min(max(self.used_a - j * na, 0), na)
        new[4 * L] = self.state.inv
        self.row, self.lazy = new, None
        self.state.cur_nb = L if nb else 0

    def log_lazy(self, tick: int) -> None:
        assert self.lazy is not None
        self.log.ver_tick.append(tick)
        self.log.ver_lazy.append(1)
        self.log.lazy_log.extend((*self.lazy, self.used_b, self.used_a, self.state.inv))

    def lazy_place(self, tick: int, mid: float, nb: int, na: int) -> tuple[float, float]:
        """Requote lazily: the ladder at `mid` in the current (linear) state, all levels."""
        log, kmax, c, margin = self.log, self.st.kmax, self.c, self.margin
        self.lazy, self.state.last_quote = (mid, self.sid, nb, na), tick
        self.used_b = self.used_a = 0
        self.log_lazy(tick)
        log.rep_tick.append(tick)
        log.rep_ver.append(len(log.ver_tick) - 1)
        self.state.cur_rep = len(log.rep_tick) - 1
        return (mid * kmax + margin) / (kmax + c) * _UP, (mid * kmax - margin) / (kmax - c) * _DOWN

    # decisions ---------------------------------------------------------------------

    def wanted_lots(self, mid: float) -> tuple[int, int, bool]:
        """(lots per bid level, per ask level, every level clears the minimum notional)."""
        lad, st = self.lad, self.st
        size = lad.level_size(mid)
        nb = math.floor(size * st.bf / lad.lot_f) if st.bk else 0
        na = math.floor(size * st.af / lad.lot_f) if st.ak else 0
        units = mid * st.kmin / lad.tick_f - 1.0
        nb = 0 if nb < lad.min_lots else nb
        na = 0 if na < lad.min_lots else na
        notional_ok = not (
            (nb and nb * units < lad.min_units) or (na and na * units < lad.min_units)
        )
        return nb, na, notional_ok

    def timer_requote(self, tick: int, mid: float) -> tuple[float, float]:
        """A due timer replaces the ladder; lazily when its survival interval is simple."""
        st, lad = self.st, self.lad
        if st.linear:
            size = lad.level_size(mid)
            nb = math.floor(size * st.bf / lad.lot_f) if st.bk else 0
            na = math.floor(size * st.af / lad.lot_f) if st.ak else 0
            units = mid * st.kmin / lad.tick_f - 1.0
            min_units = lad.min_units
            # every level placed, all one size per side, sizes far from the lot
            if (not nb or (nb >= MIN_LINEAR_LOTS and nb * units >= min_units)) and (
                not na or (na >= MIN_LINEAR_LOTS and na * units >= min_units)
            ):
                return self.lazy_place(tick, mid, nb, na)
        bids, asks = self.desired(mid, tick)
        self.place(tick, bids, asks)
        return self.check(mid, bids, asks)[1:]

    def decide(self, tick: int, mid: float) -> tuple[float, float]:
        """A news tick's decision (the timer not due): requote if the ladder drifted."""
        if self.lazy is not None:
            self.materialise()
        bids, asks = self.desired(mid, tick)
        requote, lo, hi = self.check(mid, bids, asks)
        if not requote:
            return lo, hi
        self.place(tick, bids, asks)
        return self.check(mid, bids, asks)[1:]

    def narrow(
        self, lo: float, hi: float, hp: float, k: float, have: float, want_quote: float, mid: float
    ) -> tuple[float, float]:
        """[lo, hi] narrowed to the mids at which a level resting at price `hp` with `have`
        base still matches the desired `mid * k` and `want_quote` / mid base."""
        margin, c, lpu = self.margin, self.c, self.lad.lpu
        x = (hp + margin) / (k + c)
        if x > lo:
            lo = x
        x = (hp - margin) / (k - c)
        if x < hi:
            hi = x
        x = _SHRINK * (want_quote + mid / lpu) / have
        if x > lo:
            lo = x
        x = _GROW * want_quote / (have + _GROW / lpu)
        if x < hi:
            hi = x
        return lo, hi

    def check(
        self, mid: float, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
    ) -> tuple[bool, float, float]:
        """`needs_requote(live, desired)`, and if not, the mids at which it stays False."""
        L, row, tpu, lpu = self.L, self.row, self.lad.tpu, self.lad.lpu
        tol = mid * self.tol_bps / 1e4
        lo, hi = mid * (1 - LOCAL_MOVE), mid * (1 + LOCAL_MOVE)
        for base, want in ((0, bids), (2 * L, asks)):
            j, nw = 0, len(want)
            for i in range(base, base + L):
                h_lots = row[i + L]
                if not h_lots:
                    continue
                if j >= nw:
                    return True, 0.0, 0.0
                wt, wl = want[j]
                j += 1
                hp, wp = row[i] / tpu, wt / tpu
                ha, wa = h_lots / lpu, wl / lpu
                if abs(hp - wp) > tol or abs(ha - wa) > REQUOTE_SIZE_CHANGE * abs(wa):
                    return True, 0.0, 0.0
                lo, hi = self.narrow(lo, hi, hp, wp / mid, ha, wa * mid, mid)
            if j != nw:
                return True, 0.0, 0.0
        return False, lo * _UP, hi * _DOWN

    def quick_decide(self, tick: int, mid: float) -> tuple[float, float]:
        """`decide` in the linear state: sizes and counts first, then prices, inline."""
        if self.lazy is not None:
            return self.lazy_decide(tick, mid)
        nb, na, notional_ok = self.wanted_lots(mid)
        if not notional_ok:
            return self.decide(tick, mid)  # a level may miss the minimum notional
        L, row, lpu, tpu, tick_f = self.L, self.row, self.lad.lpu, self.lad.tpu, self.lad.tick_f
        for base, n_want in ((0, nb), (2 * L, na)):
            want = n_want / lpu
            count = 0
            for i in range(base + L, base + 2 * L):
                h = row[i]
                if h:
                    count += 1
                    if abs(h / lpu - want) > REQUOTE_SIZE_CHANGE * want:
                        return self.timer_requote(tick, mid)
            if count != (L if n_want else 0):
                return self.timer_requote(tick, mid)
        tol = mid * self.tol_bps / 1e4
        lo, hi = mid * (1 - LOCAL_MOVE), mid * (1 + LOCAL_MOVE)
        for base, ks, n_want in ((0, self.st.bk, nb), (2 * L, self.st.ak, na)):
            want_quote = n_want / lpu * mid
            j = 0
            for i in range(base, base + L):
                h = row[i + L]
                if not h:
                    continue
                k = ks[j]
                j += 1
                t = math.floor(mid * k / tick_f) if base == 0 else math.ceil(mid * k / tick_f)
                hp = row[i] / tpu
                if abs(hp - t / tpu) > tol:
                    return self.timer_requote(tick, mid)
                lo, hi = self.narrow(lo, hi, hp, k, h / lpu, want_quote, mid)
        return lo * _UP, hi * _DOWN

    def lazy_decide(self, tick: int, mid: float) -> tuple[float, float]:
        """`quick_decide` against a lazy ladder: level j holds n - clip(used - j n, 0, n)."""
        assert self.lazy is not None
        nb, na, notional_ok = self.wanted_lots(mid)
        if not notional_ok:
            return self.decide(tick, mid)  # a level may miss the minimum notional
        # the requote, if due, can stay lazy when the new sizes are far from the lot
        lazy_ok = (not nb or nb >= MIN_LINEAR_LOTS) and (not na or na >= MIN_LINEAR_LOTS)
        mid_r, s_id, pb, pa = self.lazy
        if self.lazy_sizes_drifted(nb, pb, self.used_b) or self.lazy_sizes_drifted(
            na, pa, self.used_a
        ):
            return self.lazy_place(tick, mid, nb, na) if lazy_ok else self.timer_requote(tick, mid)
        quoted = self.log.states[s_id]
        sides = (
            (nb, pb, self.used_b, self.st.bk, quoted.bk, math.floor),
            (na, pa, self.used_a, self.st.ak, quoted.ak, math.ceil),
        )
        tol = mid * self.tol_bps / 1e4
        lo, hi = mid * (1 - LOCAL_MOVE), mid * (1 + LOCAL_MOVE)
        L, tpu, lpu, tick_f = self.L, self.lad.tpu, self.lad.lpu, self.lad.tick_f
        for n, p, used, ks, old, to_grid in sides:
            want_quote = n / lpu * mid
            first = used // p if p else L
            for j in range(first, L):
                k = ks[j]
                hp = to_grid(mid_r * old[j] / tick_f) / tpu
                if abs(hp - to_grid(mid * k / tick_f) / tpu) > tol:
                    if lazy_ok:
                        return self.lazy_place(tick, mid, nb, na)
                    return self.timer_requote(tick, mid)
                have = (p - used % p if j == first else p) / lpu
                lo, hi = self.narrow(lo, hi, hp, k, have, want_quote, mid)
        return lo * _UP, hi * _DOWN

    def lazy_sizes_drifted(self, n: int, p: int, used: int) -> bool:
        """One side of a lazy ladder (`p` lots per level, `used` taken) against `n` lots per
        level wanted: a level count or a size off by the requote rule's share."""
        L, lpu = self.L, self.lad.lpu
        first = used // p if p else L  # filled-out levels are gone, one may be partly taken
        if (L - first) != (L if n else 0):
            return True
        if not n:
            return False
        want = n / lpu
        limit = REQUOTE_SIZE_CHANGE * want
        return abs((p - used % p) / lpu - want) > limit or (
            first < L - 1 and abs(p / lpu - want) > limit
        )

    # the chunk -----------------------------------------------------------------------

    def run(self) -> None:
        """Every event of the chunk in tick order, the requote chain between them."""
        s, inp, c0, c1 = self.state, self.inp, self.c0, self.c1
        self.set_state()
        if c0 == 0:  # the first tick pulls and quotes at once
            s.regime = inp.regime[0]
            self.set_state()
            s.lo, s.hi = self.timer_requote(0, inp.mid[0])
            cursor = 0
        else:
            cursor = c0 - 1
        self.tk_i = 0
        for event in [*(t for t in inp.event_ticks if t > cursor), c1]:
            self.requote_chain(cursor, event)
            if c1 <= event:
                break
            cursor = event
            self.on_event(event)
        if self.lazy is not None:
            self.materialise()
        s.row = self.row

    def requote_chain(self, cursor: int, until: int) -> None:
        """Ticks (cursor, until): the requote timer, and pulls whose mid leaves [lo, hi]."""
        s, mids, c0, S, R = self.state, self.inp.mid, self.c0, self.S, self.R
        p = (cursor // S + 1) * S
        while True:
            timer = s.last_quote + R
            if timer <= p:
                if timer >= until:
                    break
                s.lo, s.hi = self.timer_requote(timer, mids[timer - c0])
                if timer == p:
                    p += S
                continue
            if p >= until:
                break
            mid = mids[p - c0]
            if not s.lo <= mid <= s.hi:
                linear = self.st.linear
                s.lo, s.hi = self.quick_decide(p, mid) if linear else self.decide(p, mid)
            p += S

    def on_event(self, tick: int) -> None:
        """Takers arriving at `tick` walk the ladder; then the state and the decision."""
        s, inp = self.state, self.inp
        i0 = tick - self.c0
        if self.tk_i < len(inp.tk_tick) and inp.tk_tick[self.tk_i] == tick:
            fill_mid = inp.mid[i0 - 1] if i0 > 0 else s.last_mid
            if self.lazy is not None:
                self.takers_on_lazy(tick, fill_mid)
            else:
                self.takers_on_row(tick, fill_mid)
        new_regime = inp.regime[i0]
        if s.inv != self.st.inv or new_regime != s.regime:
            s.regime = new_regime
            self.set_state()
        mid = inp.mid[i0]
        if tick - s.last_quote >= self.R:
            s.lo, s.hi = self.timer_requote(tick, mid)
        elif self.st.linear:
            lazy = self.lazy is not None
            s.lo, s.hi = self.lazy_decide(tick, mid) if lazy else self.quick_decide(tick, mid)
        else:
            s.lo, s.hi = self.decide(tick, mid)

    def taker_buys(self, informed_buy: bool | None) -> list[bool]:
        """Each of this tick's takers: True when it buys (an informed one follows the
        reference against the home mid the tick started with)."""
        inp, i = self.inp, self.tk_i
        tick = inp.tk_tick[i]
        out = []
        while i < len(inp.tk_tick) and inp.tk_tick[i] == tick:
            if inp.tk_informed[i] and informed_buy is not None:
                out.append(informed_buy)
            else:
                out.append(inp.tk_coin_buy[i])
            i += 1
        return out

    def takers_on_lazy(self, tick: int, fill_mid: float) -> None:
        """Takers against a lazy ladder: prices on demand, lots taken counted per side."""
        assert self.lazy is not None
        s, inp, L, tick_f = self.state, self.inp, self.L, self.lad.tick_f
        mid_r, s_id, pb, pa = self.lazy
        quoted = self.log.states[s_id]
        jb = self.used_b // pb if pb else L
        ja = self.used_a // pa if pa else L
        informed_buy = None
        if jb < L and ja < L:
            bid = math.floor(mid_r * quoted.bk[jb] / tick_f)
            ask = math.ceil(mid_r * quoted.ak[ja] / tick_f)
            informed_buy = inp.tk_ref[self.tk_i] > (bid + ask) / self.lad.tpu / 2
        first_ask = L if pb else 0
        append, floor, ceil = self.log.fills.append, math.floor, math.ceil
        used_a, used_b, inv, seq, rep = self.used_a, self.used_b, s.inv, s.trade_seq, s.cur_rep
        for buy in self.taker_buys(informed_buy):
            lots, ts = inp.tk_lots[self.tk_i], inp.tk_ts[self.tk_i]
            self.tk_i += 1
            if buy:  # a buying taker lifts the asks
                while lots and used_a < L * pa:
                    j = used_a // pa
                    qty = min(lots, pa - used_a % pa)
                    used_a += qty
                    lots -= qty
                    inv -= qty
                    seq += 1
                    t = ceil(mid_r * quoted.ak[j] / tick_f)
                    append((ts, tick, False, t, qty, rep, first_ask + j, seq, fill_mid))
            else:
                while lots and used_b < L * pb:
                    j = used_b // pb
                    qty = min(lots, pb - used_b % pb)
                    used_b += qty
                    lots -= qty
                    inv += qty
                    seq += 1
                    t = floor(mid_r * quoted.bk[j] / tick_f)
                    append((ts, tick, True, t, qty, rep, j, seq, fill_mid))
        self.used_a, self.used_b, s.inv, s.trade_seq = used_a, used_b, inv, seq
        self.log_lazy(tick)

    def takers_on_row(self, tick: int, fill_mid: float) -> None:
        """Takers against a flat row: each walks its side's levels best first."""
        s, inp, L, row = self.state, self.inp, self.L, self.row
        bb = row[0] if row[L] else next((row[i] for i in range(L) if row[L + i]), 0)
        ba = (
            row[2 * L]
            if row[3 * L]
            else next((row[2 * L + i] for i in range(L) if row[3 * L + i]), 0)
        )
        informed_buy = inp.tk_ref[self.tk_i] > (bb + ba) / self.lad.tpu / 2 if bb and ba else None
        fills = self.log.fills
        for buy in self.taker_buys(informed_buy):
            lots, ts = inp.tk_lots[self.tk_i], inp.tk_ts[self.tk_i]
            base = 2 * L if buy else 0  # a buying taker lifts the asks
            for i in range(base, base + L):
                have = row[i + L]
                if not have:
                    continue
                qty = min(lots, have)
                row[i + L] = have - qty
                lots -= qty
                s.trade_seq += 1
                s.inv += -qty if buy else qty
                pos = i if not buy else s.cur_nb + i - 2 * L
                fills.append(
                    (ts, tick, not buy, row[i], qty, s.cur_rep, pos, s.trade_seq, fill_mid)
                )
                if not lots:
                    break
            self.tk_i += 1
        row[4 * L] = s.inv
        self.log.ver_tick.append(tick)
        self.log.ver_lazy.append(0)
        self.log.ver_flat.extend(row)
