"""What the fast backtest's chunks carry: the state from one chunk to the next, a chunk's
inputs as lists, and the log of what it did (read by `engine.backtest.fast_rows`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.backtest.ladder_grid import LadderState

Ladder = tuple[list[tuple[int, int]], list[tuple[int, int]]]
"""(bids, asks) best first as (ticks, lots)."""
Lazy = tuple[float, int, int, int]
"""A lazy ladder: (mid, state id, lots per bid level, lots per ask level)."""


@dataclass(slots=True)
class LoopState:
    """What carries from one chunk to the next."""

    row: list[int]
    cur_rep: int = -1  # the replacement the live row came from, relative to the chunk
    cur_nb: int = 0  # bid levels of that replacement
    inv: int = 0  # home inventory in lots
    regime: int = 0
    last_quote: int = -(10**12)
    lo: float = 0.0
    hi: float = 0.0
    trade_seq: int = 0
    last_mid: float = 0.0


@dataclass(slots=True)
class ChunkInputs:
    """One chunk's arrays as lists: the pulled mid and regime per tick, the takers."""

    mid: list[float]
    regime: list[int]
    event_ticks: list[int]
    news_ticks: list[int]
    tk_tick: list[int]
    tk_lots: list[int]
    tk_ts: list[int]
    tk_informed: list[bool]
    tk_coin_buy: list[bool]
    tk_ref: list[float]


@dataclass(slots=True)
class ChunkLog:
    """What a chunk did, for `fast_rows`: ladder versions in tick order (a later one at the
    same tick wins: a flat row in `ver_flat`, or a lazy entry of 7 numbers in `lazy_log`:
    mid, state id, bid and ask level lots, lots taken from each, inventory), the
    replacements, and the fills (ts, tick, maker buy, ticks, lots, replacement, level,
    trade seq, mid)."""

    ver_tick: list[int]
    ver_lazy: list[int]
    ver_flat: list[int]
    lazy_log: list[float] = field(default_factory=list)
    states: list[LadderState] = field(default_factory=list)
    rep_tick: list[int] = field(default_factory=list)
    rep_ver: list[int] = field(default_factory=list)
    fills: list[tuple[Any, ...]] = field(default_factory=list)
