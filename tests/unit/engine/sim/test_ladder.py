from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import SymbolRulesConfig
from engine.sim.ladder import ladder, ladder_reference, to_levels

STEPS = ["0.00000001", "0.00001", "0.001", "0.01", "0.1", "0.5", "1", "25", "500", "0.0025"]


def rules(tick: str, lot: str) -> SymbolRulesConfig:
    return SymbolRulesConfig(tick_size=Decimal(tick), lot_size=Decimal(lot))


def inputs(
    levels: int, spacing_bps: float, seed: int
) -> tuple[list[float], list[float], np.ndarray]:
    distances = [(0.8 + i * spacing_bps) / 1e4 for i in range(levels)]
    notionals = [40_000 * 1.1 ** min(i, 29) for i in range(levels)]
    jitter = np.random.default_rng(seed).uniform(-0.1, 0.1, size=(2, levels))
    return distances, notionals, jitter


def fast(mid, distances, notionals, jitter, r):
    """`ladder`'s counts as the exact levels they stand for."""
    bids, asks = ladder(mid, distances, notionals, jitter, r)
    return to_levels(bids, r.tick_size, r.lot_size), to_levels(asks, r.tick_size, r.lot_size)


def same(a: list[tuple[Decimal, Decimal]], b: list[tuple[Decimal, Decimal]]) -> bool:
    """Equal values, level by level (the exponent may differ: `0.99992000` is `0.99992`;
    both wire dialects print fixed-point, so a level's string there is the same)."""
    return len(a) == len(b) and all(x == y for x, y in zip(a, b, strict=True))


@settings(max_examples=300, deadline=None)
@given(
    mid=st.floats(min_value=1e-6, max_value=2e6, allow_nan=False),
    levels=st.integers(min_value=1, max_value=120),
    spacing_bps=st.sampled_from([0.01, 0.1, 1.0, 2.0, 5.0, 50.0]),
    tick=st.sampled_from(STEPS),
    lot=st.sampled_from(STEPS),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_array_ladder_equals_the_exact_reference(mid, levels, spacing_bps, tick, lot, seed):
    distances, notionals, jitter = inputs(levels, spacing_bps, seed)
    r = rules(tick, lot)
    fast_bids, fast_asks = fast(mid, distances, notionals, jitter, r)
    ref_bids, ref_asks = ladder_reference(mid, distances, notionals, jitter, r)
    assert same(fast_bids, ref_bids)
    assert same(fast_asks, ref_asks)


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=10**9),
    tick=st.sampled_from(STEPS),
    lot=st.sampled_from(STEPS),
)
def test_prices_exactly_on_the_grid_round_as_the_reference_does(count, tick, lot):
    """A mid on a tick with a zero distance puts the float right on the grid, where a
    float quotient can land either side of the integer: the exact recheck decides."""
    mid = float(Decimal(count) * Decimal(tick))
    distances = [0.0, 0.0, 1e-4]
    notionals = [float(Decimal(count) * Decimal(tick) * Decimal(lot) * 3)] * 3
    jitter = np.zeros((2, 3))
    r = rules(tick, lot)
    fast_bids, fast_asks = fast(mid, distances, notionals, jitter, r)
    ref_bids, ref_asks = ladder_reference(mid, distances, notionals, jitter, r)
    assert same(fast_bids, ref_bids)
    assert same(fast_asks, ref_asks)


def test_a_coarse_tick_keeps_prices_distinct_and_bids_above_zero():
    distances, notionals, jitter = inputs(40, 0.01, 3)
    bids, asks = fast(3.0, distances, notionals, jitter, rules("1", "0.001"))
    assert [p for p, _ in bids] == [Decimal(2), Decimal(1)]  # 3 x (1 - 0.8 bp) floors to 2
    assert [p for p, _ in asks] == [Decimal(4 + i) for i in range(40)]
    assert (bids, asks) == ladder_reference(3.0, distances, notionals, jitter, rules("1", "0.001"))


def test_a_step_floats_cannot_carry_takes_the_exact_path():
    distances, notionals, jitter = inputs(5, 1.0, 1)
    r = SymbolRulesConfig.model_construct(  # a mantissa past 2**52: floats cannot carry it
        tick_size=Decimal("0.123456789012345678"), lot_size=Decimal("0.001")
    )
    assert fast(100.0, distances, notionals, jitter, r) == ladder_reference(
        100.0, distances, notionals, jitter, r
    )
