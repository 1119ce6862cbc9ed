"""Garbage-collector settings for a latency-sensitive process (the router, the ledger).

CPython's cyclic collector runs a generation-0 pass every 700 net allocations
and, every 10 × 10 of those, a full pass over every tracked object. A Ray
worker holding a config, ccxt's market tables and pyarrow buffers tracks a few
hundred thousand objects, so a full pass stops the event loop for 15–27 ms,
which is the tail of fill → hedge latency (BENCHMARKS.md, "Hot path").

Two standard remedies (the Python docs' `gc.freeze`, and what Instagram's
"Dismissing Python Garbage Collection" describes for long-lived servers):

- `gc.freeze()` once start-up is done: every object alive then (config,
  markets, imported modules) moves to a permanent generation no pass scans;
- a larger generation-0 threshold, so short-lived hedge rows and dicts are
  collected in fewer, equally cheap young passes.

Reference counting still frees almost everything at once; the collector only
finds cycles, and a hot path that makes few of them loses nothing by running
it less often. `GcPolicy.apply()` returns what it replaced so a test or a
benchmark can restore it.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass


@dataclass(frozen=True)
class GcState:
    thresholds: tuple[int, int, int]
    frozen: int


@dataclass(frozen=True)
class GcPolicy:
    """`freeze`: move every live object to the permanent generation after start-up.
    `gen0_threshold`: allocations between young passes (CPython's default 700)."""

    freeze: bool = True
    gen0_threshold: int = 50_000

    def apply(self) -> GcState:
        before = GcState(gc.get_threshold(), gc.get_freeze_count())
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(self.gen0_threshold, gen1, gen2)
        if self.freeze:
            gc.collect()  # what is garbage now is not frozen with the rest
            gc.freeze()
        return before


def restore(state: GcState) -> None:
    """Undo `GcPolicy.apply` (frozen objects go back to the oldest generation)."""
    gc.set_threshold(*state.thresholds)
    if gc.get_freeze_count() > state.frozen:
        gc.unfreeze()
