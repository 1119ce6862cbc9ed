"""The config `bench/scale.py` runs: N synthetic markets, three venue-sim hedge venues.

Markets `A01/USDT` … `ANN/USDT` each get their own seeded price process in
`sim.assets` (prices spread over five orders of magnitude, vol 60-100 %/yr),
a venue grid scaled to the price (tick ≈ 0.1-1 bp, lot ≈ 0.01-0.1 USDT),
synthetic takers on the home book (`taker_flow`) and a 1 s requote timer.
The three hedge venues have the book profiles, fees and dialect of
`configs/local.yaml` (all served by venue-sim as Binance spot v3), with
balances worth `BALANCE_QUOTE_PER_ASSET` per asset so a 30 s run never runs dry.
Their books refresh every `SCALE_REFRESH_MS` (250 ms, venue-sim's default) where
the default config's refresh every 100 ms: at 50 symbols a venue that is 2.5x
venue-sim's work on the same two cores, and every 50-market figure in
BENCHMARKS.md was measured at 250 ms. They follow the diffs alone
(`touch_stream: false`): the figures were measured so, and at 50 symbols the
real-time touch is ~1,500 more pushes a second on the same two cores.

`markets_per_actor` sets how many markets share one MarketActor (1 = one each).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

QUOTE = "USDT"
BALANCE_QUOTE_PER_ASSET = 200_000.0
HOME_BALANCE_QUOTE_PER_ASSET = 400_000.0
# price magnitudes cycled over the markets, so the grids and lot sizes differ as in life
PRICE_LADDER = (0.35, 2.7, 18.0, 140.0, 1_100.0, 8_500.0, 64_000.0)

SCALE_REFRESH_MS = 250  # venue-sim's book refresh here (the default config: 100 ms)
# (id, taker_fee, book profile): the three external venues of configs/local.yaml
HEDGE_VENUES: tuple[tuple[str, float, dict[str, float]], ...] = (
    (
        "binance-sim",
        0.0004,
        {
            "offset_bps": 0.0,
            "noise_bps": 0.4,
            "half_spread_bps": 0.8,
            "levels": 30,
            "level_spacing_bps": 1.0,
            "level_notional_quote": 40_000,
            "depth_growth": 1.1,
        },
    ),
    (
        "okx-sim",
        0.0005,
        {
            "offset_bps": 1.5,
            "noise_bps": 0.8,
            "half_spread_bps": 1.5,
            "levels": 25,
            "level_spacing_bps": 2.0,
            "level_notional_quote": 15_000,
            "depth_growth": 1.2,
        },
    ),
    (
        "kraken-sim",
        0.0008,
        {
            "offset_bps": -1.0,
            "noise_bps": 0.6,
            "half_spread_bps": 2.0,
            "levels": 40,
            "level_spacing_bps": 1.5,
            "level_notional_quote": 60_000,
            "depth_growth": 1.05,
        },
    ),
)


def asset_name(i: int) -> str:
    """`A01`, `A02`, … (three digits past 99)."""
    return f"A{i:02d}"


def _pow10_floor(x: float) -> Decimal:
    return Decimal(1).scaleb(math.floor(math.log10(x)))


def _grid(price: float) -> dict[str, str]:
    """Tick ≈ 0.1-1 bp of the price, lot ≈ 0.01-0.1 quote, 5 quote minimum."""
    return {
        "tick_size": str(_pow10_floor(price * 1e-4)),
        "lot_size": str(_pow10_floor(0.1 / price)),
        "min_notional": "5",
    }


def scale_config(
    n_markets: int,
    *,
    taker_rate_per_s: float = 0.5,
    taker_notional_quote: float = 800.0,
    requote_interval_s: float = 1.0,
    num_cpus: int = 2,
    seed: int = 7,
    markets_per_actor: int = 1,
    market_data: str | None = None,
    book_depth: int | None = None,
    book_model: str = "redraw",
) -> dict[str, Any]:
    """The config mapping (YAML-ready) for `n_markets` markets, `markets_per_actor` per actor.

    Ray CPU shares are fractional so every actor fits `num_cpus`: the market actors
    share what the seven fixed actors (ledger, router, rebalancer, three hedge
    venues, headroom) leave, at most 0.1 CPU each as in the default config.
    `market_data` ("stream" or "poll") sets the hedge venues' books; None keeps the
    default (stream for ccxt venues). `book_depth` sets the levels a hedge venue
    reads of each book (None: the default 50). `book_model` is venue-sim's book model
    (`redraw`: every level changes each refresh; `resting`: a few do).
    """
    if n_markets < 1:
        raise ValueError(f"n_markets must be at least 1, got {n_markets}")
    assets = [asset_name(i + 1) for i in range(n_markets)]
    prices = {
        a: round(PRICE_LADDER[i % len(PRICE_LADDER)] * (1 + 0.13 * (i // len(PRICE_LADDER))), 6)
        for i, a in enumerate(assets)
    }
    sim_assets = {
        a: {
            "initial_price": prices[a],
            "vol_annual": round(0.6 + 0.4 * (i % 5) / 4, 3),
            "jumps_per_day": 6,
            "jump_std": 0.004,
        }
        for i, a in enumerate(assets)
    }
    rules = {f"{a}/{QUOTE}": _grid(prices[a]) for a in assets}

    def balances(quote_per_asset: float) -> dict[str, str]:
        out = {a: _round_sig(quote_per_asset / prices[a]) for a in assets}
        out[QUOTE] = str(int(quote_per_asset * n_markets))
        return out

    venues: list[dict[str, Any]] = [
        {
            "id": "home",
            "kind": "sim",
            "role": "home",
            "maker_fee": 0.0,
            "taker_fee": 0.0004,
            "balances": balances(HOME_BALANCE_QUOTE_PER_ASSET),
            "symbol_rules": rules,
        }
    ]
    for vid, fee, book in HEDGE_VENUES:
        venues.append(
            {
                "id": vid,
                "kind": "ccxt",
                "exchange": "binance",
                "url": "sim",
                "taker_fee": fee,
                "balances": balances(BALANCE_QUOTE_PER_ASSET),
                "book": {**book, "model": book_model, "refresh_ms": SCALE_REFRESH_MS},
                "symbol_rules": rules,
                "touch_stream": False,
                **({"market_data": market_data} if market_data else {}),
                **({"book_depth": book_depth} if book_depth else {}),
            }
        )
    markets = [
        {
            "symbol": f"{a}/{QUOTE}",
            "stage": "bootstrap",  # long-tail bands, mirror hedging: every fill is hedged
            "levels": 3,
            "level_spacing_bps": 10,
            "order_notional_quote": 12_000,
            "inventory_limit": round(50_000 / prices[a], 6),
            "requote_interval_s": requote_interval_s,
            "taker_flow": {
                "rate_per_s": taker_rate_per_s,
                "mean_notional_quote": taker_notional_quote,
            },
        }
        for a in assets
    ]
    fixed_cpus = 0.1 * 6 + 0.2  # ledger, router, rebalancer, 3 hedge venues, headroom
    n_actors = -(-n_markets // markets_per_actor)
    market_cpus = min(0.1, math.floor((num_cpus - fixed_cpus) / n_actors * 1e4) / 1e4)
    return {
        "quote_asset": QUOTE,
        "sim": {"seed": seed, "step_ms": 100, "assets": sim_assets},
        "venues": venues,
        "markets": markets,
        "risk": {"max_notional_per_trade": 10_000, "max_slippage_bps": 20, "max_book_age_s": 5},
        "rebalancer": {"interval_s": 5, "exposure_threshold_quote": 250},
        "analytics": {"flush_interval_s": 5, "sample_interval_s": 0.5},
        "ray": {
            "num_cpus": num_cpus,
            "market_actor_cpus": market_cpus,
            "markets_per_actor": markets_per_actor,
            "venue_actor_cpus": 0.1,
        },
    }


def _round_sig(x: float, digits: int = 4) -> str:
    """`x` to `digits` significant figures as a plain decimal string: 571400, 3.125."""
    return f"{Decimal(f'{x:.{digits}g}').normalize():f}"
