"""The `quotes`, `fills` and `book_samples` rows a market writes, built once for both writers.

The live MarketActor and the backtest record the same decisions; building the
rows here keeps the two datasets identical column for column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.config import MarketConfig
from engine.types import Fill, Side

if TYPE_CHECKING:
    from engine.market.quoter import Quoter


def placed_rows(
    symbol: str,
    now: int,
    quotes: Sequence[tuple[Side, Decimal, Decimal]],
    client_order_ids: Sequence[str],
    inputs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """`quotes` rows pairing the quotes sent with the ids the venue returned, in order;
    each row carries the decision's `inputs` (`decision_inputs`) when given."""
    return [
        {
            **(inputs or {}),
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


def decision_inputs(quoter: Quoter, now: int) -> dict[str, Any]:
    """Why a placed ladder stood where it did: the decision id and what drove it, read off
    the quoter right after its decision (`marketmesh explain` shows them for a fill).

    `guards` names the market rules the inputs engaged (`engine.quoting.guards`): the
    volatility regime when not normal, and the inventory limit when only one side quotes.
    """
    m = quoter.market
    inventory = float(quoter.position) - m.inventory_target
    guards = [] if quoter.regime.value == "normal" else [f"vol_guard:{quoter.regime.value}"]
    if inventory >= m.inventory_limit:
        guards.append("inventory_limit:asks_only")
    elif inventory <= -m.inventory_limit:
        guards.append("inventory_limit:bids_only")
    return {
        "decision_id": f"{m.symbol}@{now}",
        "policy": str(m.policy),
        "hedge_mode": str(m.hedge_mode),
        "decision_mid": quoter.reference_mid,
        "reference_age_s": (now - quoter.reference_ts_ns) / 1e9,
        "inventory": inventory,
        "inventory_limit": m.inventory_limit,
        "vol_regime": quoter.regime.value,
        "sigma_bps_per_sqrt_s": quoter.sigma_long.sigma_bps_per_sqrt_s,
        "target_spread_bps": m.target_spread_bps,
        "max_spread_bps": m.max_spread_bps,
        "guards": ",".join(guards),
    }


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
