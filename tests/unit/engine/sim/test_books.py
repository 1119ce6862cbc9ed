from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import AssetProcessConfig, BookProfileConfig, SymbolRulesConfig, VenueConfig
from engine.sim.books import AMOUNT_JITTER, BookGenerator
from engine.sim.price import ReferencePrice

REFRESH_NS = 250_000_000
T0 = 1_700_000_000 * 10**9  # a bucket boundary: 250 ms divides whole seconds
ASSETS = {
    "BTC": AssetProcessConfig(initial_price=65_000, vol_annual=0.0, jumps_per_day=0),
    "ETH": AssetProcessConfig(initial_price=3_200, vol_annual=0.0, jumps_per_day=0),
}
PROFILE = BookProfileConfig(
    offset_bps=1.5,
    noise_bps=0.8,
    half_spread_bps=1.5,
    levels=25,
    level_spacing_bps=2.0,
    level_notional_quote=15_000,
    depth_growth=1.2,
)


def venue(
    venue_id: str = "okx-sim",
    profile: BookProfileConfig = PROFILE,
    tick: str = "0.1",
    lot: str = "0.0001",
) -> VenueConfig:
    return VenueConfig(
        id=venue_id,
        kind="ccxt",
        exchange="binance",
        url="sim",
        book=profile,
        symbol_rules={
            "BTC/USDT": SymbolRulesConfig(tick_size=Decimal(tick), lot_size=Decimal(lot)),
            "ETH/BTC": SymbolRulesConfig(tick_size=Decimal("0.00001"), lot_size=Decimal("0.001")),
        },
    )


def reference(seed: int = 7) -> ReferencePrice:
    return ReferencePrice(ASSETS, seed=seed, step_ms=100, start_ns=T0)


def test_same_inputs_give_the_same_book_in_any_process():
    a = BookGenerator(venue(), reference(), seed=7)
    b = BookGenerator(venue(), reference(), seed=7)
    ts = [T0 + i * 97 * REFRESH_NS + 13 for i in range(10)]
    assert [a.snapshot("BTC/USDT", t, 25) for t in ts] == [
        b.snapshot("BTC/USDT", t, 25) for t in reversed(ts)
    ][::-1]


def _next_refresh(gen: BookGenerator, symbol: str, t: int) -> int:
    """The first ns after `t` at which `symbol`'s book moves to its next bucket."""
    return gen.bucket_start(symbol, gen.bucket(symbol, t) + 1)


def test_book_is_constant_within_a_refresh_bucket_and_noise_changes_across():
    gen = BookGenerator(venue(), reference(), seed=7)
    start = _next_refresh(gen, "BTC/USDT", T0)
    first = gen.book("BTC/USDT", start)
    assert gen.book("BTC/USDT", start + REFRESH_NS - 1) == first
    assert gen.book("BTC/USDT", start - 1) != first
    # the reference price is flat (vol 0): only the per-bucket noise moves the mid
    mids = {gen.book("BTC/USDT", T0 + i * REFRESH_NS).mid for i in range(20)}
    assert len(mids) == 20
    spread_bps = [(m / 65_000 - 1) * 1e4 - PROFILE.offset_bps for m in mids]
    assert max(abs(x) for x in spread_bps) < 6 * PROFILE.noise_bps


def test_symbols_refresh_on_phases_of_their_own():
    """A venue's symbols do not all change in one instant: a diff stream of many symbols
    then hears some symbol every push tick (its events vouch for the quiet books)."""
    gen = BookGenerator(venue(), reference(), seed=7)
    symbols = [f"A{i:02d}/USDT" for i in range(50)]
    starts = {_next_refresh(gen, s, T0) - T0 for s in symbols}
    assert len(starts) > 25  # spread over the refresh, not one shared boundary
    assert all(0 < s <= REFRESH_NS for s in starts)


def test_seed_and_venue_id_each_change_the_book():
    base = BookGenerator(venue(), reference(), seed=7).book("BTC/USDT", T0)
    other_seed = BookGenerator(venue(), reference(), seed=8).book("BTC/USDT", T0)
    other_venue = BookGenerator(venue("kraken-sim"), reference(), seed=7).book("BTC/USDT", T0)
    assert base.mid != other_seed.mid
    assert base.mid != other_venue.mid


def test_ladder_follows_the_depth_profile():
    gen = BookGenerator(venue(), reference(), seed=7)
    book = gen.book("BTC/USDT", T0)
    tick = Decimal("0.1")
    for i, (bid, ask) in enumerate(zip(book.bids, book.asks, strict=True)):
        distance = (PROFILE.half_spread_bps + i * PROFILE.level_spacing_bps) / 1e4
        assert (
            book.mid * (1 - distance) - float(tick) < float(bid.price) <= book.mid * (1 - distance)
        )
        assert (
            book.mid * (1 + distance) <= float(ask.price) < book.mid * (1 + distance) + float(tick)
        )
        notional = PROFILE.level_notional_quote * PROFILE.depth_growth**i
        for level in (bid, ask):
            quote = float(level.price * level.amount)
            assert notional * (1 - AMOUNT_JITTER) - 1 < quote <= notional * (1 + AMOUNT_JITTER)


@settings(max_examples=60, deadline=None)
@given(
    bucket=st.integers(min_value=0, max_value=10**6),
    tick=st.sampled_from(["0.01", "0.1", "1", "25", "500"]),
    lot=st.sampled_from(["0.00001", "0.001", "0.1", "1"]),
    spacing_bps=st.sampled_from([0.1, 1.0, 5.0]),
    model=st.sampled_from(["redraw", "resting"]),
)
def test_levels_sit_on_the_grid_distinct_and_never_crossed(bucket, tick, lot, spacing_bps, model):
    profile = PROFILE.model_copy(
        update={"level_spacing_bps": spacing_bps, "noise_bps": 3.0, "model": model}
    )
    gen = BookGenerator(venue(profile=profile, tick=tick, lot=lot), reference(), seed=3)
    book = gen.book("BTC/USDT", T0 + bucket * REFRESH_NS)
    tick_d, lot_d = Decimal(tick), Decimal(lot)
    assert len(book.asks) == profile.levels
    assert book.bids and book.bids[0].price < book.asks[0].price
    for side in (book.bids, book.asks):
        for level in side:
            assert level.price > 0 and level.price % tick_d == 0
            assert level.amount >= lot_d and level.amount % lot_d == 0
    assert all(a.price > b.price for a, b in zip(book.bids, book.bids[1:], strict=False))
    assert all(a.price < b.price for a, b in zip(book.asks, book.asks[1:], strict=False))


def test_snapshot_is_the_float_view_of_the_exact_book_cut_to_depth():
    gen = BookGenerator(venue(), reference(), seed=7)
    book = gen.book("BTC/USDT", T0)
    snap = gen.snapshot("BTC/USDT", T0 + 5, depth=5)
    assert (snap.venue, snap.symbol, snap.ts_ns) == ("okx-sim", "BTC/USDT", T0 + 5)
    assert snap.bids == tuple((float(lv.price), float(lv.amount)) for lv in book.bids[:5])
    assert snap.asks == tuple((float(lv.price), float(lv.amount)) for lv in book.asks[:5])
    assert snap.best_bid < snap.best_ask


def test_a_cross_is_priced_from_both_reference_legs():
    gen = BookGenerator(venue(), reference(), seed=7)
    assert gen.reference_mid("ETH/BTC", 0) == pytest.approx(3_200 / 65_000)
    book = gen.book("ETH/BTC", T0)
    assert abs(book.mid / (3_200 / 65_000) - 1) < 10e-4
    assert book.bids[0].price < book.asks[0].price
