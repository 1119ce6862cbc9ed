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
    hedge_costs_bps: Sequence[float | None] = (),
) -> list[dict[str, Any]]:
    """`quotes` rows pairing the quotes sent with the ids the venue returned, in order,
    with each quote's hedge cost when known."""
    costs = list(hedge_costs_bps) + [None] * (len(quotes) - len(hedge_costs_bps))
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
            "hedge_cost_bps": cost,
        }
        for i, ((side, price, amount), cid, cost) in enumerate(
            zip(quotes, client_order_ids, costs, strict=False)
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
        "hedge_cost_bps": None,
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


def fill_row(
    fill: Fill, mid: float | None, seen_ns: int, expected_hedge_cost_bps: float | None = None
) -> dict[str, Any]:
    """A home fill as `fills` stores it, with the reference mid when it was seen and the
    hedge cost its quote expected (None: not known)."""
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
        "expected_hedge_cost_bps": expected_hedge_cost_bps,
    }
