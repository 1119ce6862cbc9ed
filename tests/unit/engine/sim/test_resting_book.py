"""The resting book model: levels keep their price and amount between refreshes."""

import itertools
from decimal import Decimal
from statistics import median

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import AssetProcessConfig, BookProfileConfig, SymbolRulesConfig, VenueConfig
from engine.sim.books import AMOUNT_JITTER, BookGenerator, GeneratedBook
from engine.sim.ladder import side_counts, side_reference, to_levels
from engine.sim.price import ReferencePrice

REFRESH_NS = 250_000_000
T0 = 1_700_000_000 * 10**9
TICK = Decimal("0.1")
PROFILE = BookProfileConfig(
    offset_bps=0.0,
    noise_bps=0.4,
    half_spread_bps=0.8,
    levels=30,
    level_spacing_bps=1.0,
    level_notional_quote=40_000,
    depth_growth=1.1,
    model="resting",
)


def generator(model: str = "resting", seed: int = 7, path_seed: int = 7) -> BookGenerator:
    """A binance-sim generator; `path_seed` seeds the reference price path."""
    venue = VenueConfig(
        id="binance-sim",
        kind="ccxt",
        exchange="binance",
        url="sim",
        book=PROFILE.model_copy(update={"model": model}),
        symbol_rules={"BTC/USDT": SymbolRulesConfig(tick_size=TICK, lot_size=Decimal("0.00001"))},
    )
    assets = {"BTC": AssetProcessConfig(initial_price=65_000, vol_annual=0.8, jumps_per_day=6)}
    reference = ReferencePrice(assets, seed=path_seed, step_ms=100, start_ns=T0)
    return BookGenerator(venue, reference, seed)


def changed_levels(a: GeneratedBook, b: GeneratedBook) -> int:
    """Price levels added, removed or resized from `a` to `b`: a diff event's length."""
    out = 0
    for old, new in (
        (dict(a.bid_counts), dict(b.bid_counts)),
        (dict(a.ask_counts), dict(b.ask_counts)),
    ):
        out += sum(1 for p in old.keys() | new.keys() if old.get(p) != new.get(p))
    return out


def books(model: str, n: int) -> list[GeneratedBook]:
    gen = generator(model)
    return [gen.book("BTC/USDT", T0 + i * REFRESH_NS) for i in range(n)]


def test_a_refresh_changes_a_few_levels_where_the_redraw_model_changes_all():
    resting = books("resting", 400)
    redraw = books("redraw", 400)
    resting_changes = [changed_levels(a, b) for a, b in itertools.pairwise(resting)]
    redraw_changes = [changed_levels(a, b) for a, b in itertools.pairwise(redraw)]
    assert median(redraw_changes) >= 100  # 30 levels a side, every one moved
    assert median(resting_changes) <= 20
    assert max(resting_changes) <= 2 * 30 * 2  # an anchor roll-over resizes a whole book


def test_the_touch_follows_the_mid_and_deeper_levels_rest_on_the_grid():
    gen = generator()
    step = np.log1p(PROFILE.level_spacing_bps / 1e4)
    for i in range(50):
        book = gen.book("BTC/USDT", T0 + i * REFRESH_NS)
        touch_bid = book.mid * (1 - PROFILE.half_spread_bps / 1e4)
        assert touch_bid - float(TICK) < float(book.bids[0].price) <= touch_bid
        touch_ask = book.mid * (1 + PROFILE.half_spread_bps / 1e4)
        assert touch_ask <= float(book.asks[0].price) < touch_ask + float(TICK)
        for level in book.bids[2:]:  # past the first two, no tick collision moves a level
            k = np.log(float(level.price)) / step
            assert abs(float(level.price) - np.exp(np.ceil(k) * step)) < float(TICK)


def test_depth_grows_away_from_the_touch_as_the_profile_says():
    levels = [b.bids for b in books("resting", 200)]
    quote = np.array([[float(lv.price * lv.amount) for lv in side[:30]] for side in levels])
    mean = quote.mean(axis=0)
    assert mean[0] < mean[5] < mean[15] < mean[29]
    # each level holds its profile notional for a distance 0-2 levels off (anchor drift)
    lo = PROFILE.level_notional_quote * (1 - AMOUNT_JITTER) - 1
    hi = PROFILE.level_notional_quote * PROFILE.depth_growth ** (PROFILE.levels - 1)
    assert lo <= quote.min() and quote.max() <= hi * (1 + AMOUNT_JITTER)


def test_a_deeper_book_extends_the_same_levels_in_any_process():
    a = generator().book("BTC/USDT", T0 + 77 * REFRESH_NS)
    deep = generator().book("BTC/USDT", T0 + 77 * REFRESH_NS, min_levels=400)
    assert deep.bid_counts[:30] == a.bid_counts and deep.ask_counts[:30] == a.ask_counts
    assert len(deep.asks) == 400
    # the seed alone (same reference path) moves the resting levels' amounts
    other = generator(seed=8).book("BTC/USDT", T0 + 77 * REFRESH_NS)
    assert [n for _, n in other.bid_counts[5:]] != [n for _, n in a.bid_counts[5:]]


@settings(max_examples=200, deadline=None)
@given(
    top=st.floats(min_value=1e-6, max_value=2e6, allow_nan=False),
    spacing_bps=st.sampled_from([0.01, 0.5, 1.0, 20.0]),
    n=st.integers(min_value=1, max_value=60),
    tick=st.sampled_from(["0.00000001", "0.001", "0.1", "1", "25", "0.0025"]),
    lot=st.sampled_from(["0.00001", "0.01", "1"]),
    bid=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_a_side_on_arrays_equals_the_exact_side(top, spacing_bps, n, tick, lot, bid, seed):
    """The grid prices of a resting side are arbitrary floats: counts equal the exact rule."""
    sign = -1.0 if bid else 1.0
    prices = top * (1 + sign * spacing_bps / 1e4) ** np.arange(n)
    quotes = np.random.default_rng(seed).uniform(100.0, 90_000.0, size=n)
    rules = SymbolRulesConfig(tick_size=Decimal(tick), lot_size=Decimal(lot))
    fast = to_levels(side_counts(prices, quotes, rules, bid=bid), rules.tick_size, rules.lot_size)
    exact = side_reference(prices, quotes, rules, bid=bid)
    assert len(fast) == len(exact)
    assert all(x == y for x, y in zip(fast, exact, strict=True))
