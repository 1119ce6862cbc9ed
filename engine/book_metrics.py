"""What one sample of the home book says about the liquidity SLA.

Depth is the quote notional resting within a distance of the mid; the SLA
bands (10/25/50/100/200 bps) are the ones analysts compare venues on.
"""

from __future__ import annotations

from collections.abc import Sequence

DEPTH_BANDS_BPS: tuple[int, ...] = (10, 25, 50, 100, 200)

Levels = Sequence[tuple[float, float]]


def depth_within(levels: Levels, mid: float, bps: float, *, is_bid: bool) -> float:
    """Quote notional of `levels` within `bps` of `mid` on one side."""
    if mid <= 0:
        return 0.0
    bound = mid * (1 - bps / 1e4) if is_bid else mid * (1 + bps / 1e4)
    total = 0.0
    for price, amount in levels:
        if (is_bid and price >= bound) or (not is_bid and price <= bound):
            total += price * amount
    return total


def book_sample(
    bids: Levels,
    asks: Levels,
    bot_bids: Levels,
    bot_asks: Levels,
    *,
    reference_mid: float,
    band_bps: float,
) -> dict[str, float | bool | None]:
    """One `book_samples` row's metrics (without ts/market/targets).

    The mid is the home book's own mid when it is two-sided, else the
    reference mid, so depth on a one-sided book is still measured.
    """
    best_bid = bids[0][0] if bids else None
    best_ask = asks[0][0] if asks else None
    two_sided = best_bid is not None and best_ask is not None
    mid = (best_bid + best_ask) / 2 if two_sided else reference_mid  # type: ignore[operator]
    row: dict[str, float | bool | None] = {
        "best_bid": best_bid,
        "best_ask": best_ask,
        "mid": mid,
        "spread_bps": (best_ask - best_bid) / mid * 1e4 if two_sided else None,  # type: ignore[operator]
    }
    for band in DEPTH_BANDS_BPS:
        row[f"bid_depth_{band}bps"] = depth_within(bids, mid, band, is_bid=True)
        row[f"ask_depth_{band}bps"] = depth_within(asks, mid, band, is_bid=False)
    row["bot_bid_depth_50bps"] = depth_within(bot_bids, mid, 50, is_bid=True)
    row["bot_ask_depth_50bps"] = depth_within(bot_asks, mid, 50, is_bid=False)
    row["bid_depth_band"] = depth_within(bids, mid, band_bps, is_bid=True)
    row["ask_depth_band"] = depth_within(asks, mid, band_bps, is_bid=False)
    row["bot_bid_depth_band"] = depth_within(bot_bids, mid, band_bps, is_bid=True)
    row["bot_ask_depth_band"] = depth_within(bot_asks, mid, band_bps, is_bid=False)
    row["quoting"] = bool(bot_bids) and bool(bot_asks)
    return row
