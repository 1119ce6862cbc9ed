"""The `quotes`, `fills` and `book_samples` rows a market writes, built once for both writers.

The live MarketActor and the backtest record the same decisions; building the
rows here keeps the two datasets identical column for column.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from engine.config import MarketConfig
from engine.types import Fill, Side


def placed_rows(
    symbol: str,
    now: int,
    quotes: Sequence[tuple[Side, Decimal, Decimal]],
    client_order_ids: Sequence[str],
) -> list[dict[str, Any]]:
    """`quotes` rows pairing the quotes sent with the ids the venue returned, in order."""
    return [
        {
            "ts": now,
            "market": symbol,
            "side": side.value,
            "level": i,
            "price": float(price),
            "amount": float(amount),
            "client_order_id": cid,
            "action": "place",
        }
        for i, ((side, price, amount), cid) in enumerate(
            zip(quotes, client_order_ids, strict=False)
        )
    ]


def cancel_all_row(symbol: str, now: int) -> dict[str, Any]:
    return {
        "ts": now,
        "market": symbol,
        "side": None,
        "level": None,
        "price": None,
        "amount": None,
        "client_order_id": None,
        "action": "cancel_all",
    }


def sample_row(sample: dict[str, Any], market: MarketConfig, now: int) -> dict[str, Any]:
    """A `book_sample` with the market's targets beside it, as `book_samples` stores it."""
    return {
        **sample,
        "ts": now,
        "market": market.symbol,
        "target_spread_bps": market.target_spread_bps,
        "max_spread_bps": market.max_spread_bps,
        "depth_band_bps": market.depth_band_bps,
        "depth_target_quote": market.depth_target_quote,
    }


def fill_row(fill: Fill, mid: float | None, seen_ns: int) -> dict[str, Any]:
    """A home fill as `fills` stores it, with the reference mid when it was seen."""
    return {
        "ts": fill.ts_ns,
        "market": fill.market,
        "fill_id": fill.fill_id,
        "order_id": fill.order_id,
        "side": fill.side.value,
        "price": float(fill.price),
        "amount": float(fill.amount),
        "fee": float(fill.fee),
        "fee_currency": fill.fee_currency,
        "liquidity": fill.liquidity.value,
        "mid": mid,
        "seen_ts": seen_ns,
    }


def maker_order_rows(
    symbol: str,
    now: int,
    orders: Sequence[tuple[str, Side, float, float]],
    mid: float | None,
    band_bps: float,
) -> list[dict[str, Any]]:
    """`maker_orders` rows: users' resting (owner, side, price, remaining) within `band_bps`
    of the sample's `mid` (orders farther out score nothing in the incentive program)."""
    if mid is None or mid <= 0:
        return []
    low, high = mid * (1 - band_bps / 1e4), mid * (1 + band_bps / 1e4)
    return [
        {
            "ts": now,
            "market": symbol,
            "owner": owner,
            "side": side.value,
            "price": price,
            "amount": amount,
            "mid": mid,
        }
        for owner, side, price, amount in orders
        if amount > 0 and (price >= low if side is Side.BUY else price <= high)
    ]
