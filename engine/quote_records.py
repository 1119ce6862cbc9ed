"""The `quotes`, `fills` and `book_samples` rows a market writes, built once for both writers.

The live MarketActor and the backtest record the same decisions; building the
rows here keeps the two datasets identical column for column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from engine.config import MarketConfig
from engine.quoting.guards import VolRegime, guarded_target_spread_bps, regime_breach_reason
from engine.types import Fill, Liquidity, Side


class QuoteState(StrEnum):
    """Why a market's quotes departed from its configured target at a sample.

    The SLA grades every sample against the configured target; a sample that
    misses it is a breach whose reason is this state (or, when the state is
    normal, what the book shows: `analytics.sla`). Listed in precedence order.
    """

    PAUSED = "paused"  # an operator or an alert action paused the market
    STALE_REFERENCE = "stale_reference"  # no quotes off a reference older than the limit
    VOL_PAUSE = "vol_pause"  # the volatility guard took the quotes down
    NOT_QUOTING = "not_quoting"  # no quote on either side (before the first, or rejected)
    ONE_SIDED = "one_sided"  # one side only: the inventory limit, or a side not placed
    VOL_WIDEN = "vol_widen"  # the volatility guard widened the ladder
    TARGET_WIDENED = "target_widened"  # an alert action raised the target over the config
    NORMAL = "normal"


def quote_state(
    *,
    paused: bool,
    stale: bool,
    regime: VolRegime,
    configured_target_spread_bps: float,
    effective_target_spread_bps: float,
    bot_bids: bool,
    bot_asks: bool,
) -> QuoteState:
    """The first state that holds, in `QuoteState`'s order."""
    guard = regime_breach_reason(regime)
    if paused:
        return QuoteState.PAUSED
    if stale:
        return QuoteState.STALE_REFERENCE
    if guard == QuoteState.VOL_PAUSE:
        return QuoteState.VOL_PAUSE
    if not bot_bids and not bot_asks:
        return QuoteState.NOT_QUOTING
    if not (bot_bids and bot_asks):
        return QuoteState.ONE_SIDED
    if guard == QuoteState.VOL_WIDEN:
        return QuoteState.VOL_WIDEN
    if effective_target_spread_bps > configured_target_spread_bps:
        return QuoteState.TARGET_WIDENED
    return QuoteState.NORMAL


if TYPE_CHECKING:
    from engine.market.quoter import Quoter


def placed_rows(
    symbol: str,
    now: int,
    quotes: Sequence[tuple[Side, Decimal, Decimal]],
    client_order_ids: Sequence[str],
    inputs: Mapping[str, Any] | None = None,
    hedge_costs_bps: Sequence[float | None] = (),
) -> list[dict[str, Any]]:
    """`quotes` rows pairing the quotes sent with the ids the venue returned, in order;
    each row carries the decision's `inputs` (`decision_inputs`) when given and each
    quote's hedge cost when known."""
    costs = list(hedge_costs_bps) + [None] * (len(quotes) - len(hedge_costs_bps))
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
            "hedge_cost_bps": cost,
        }
        for i, ((side, price, amount), cid, cost) in enumerate(
            zip(quotes, client_order_ids, costs, strict=False)
        )
    ]


# the `quotes` columns `decision_inputs` fills, in the order `marketmesh explain` shows them
DECISION_INPUTS = (
    "decision_id",
    "policy",
    "hedge_mode",
    "decision_mid",
    "reference_age_s",
    "inventory",
    "inventory_limit",
    "vol_regime",
    "sigma_bps_per_sqrt_s",
    "guards",
    "target_spread_bps",
    "max_spread_bps",
)


def decision_inputs(quoter: Quoter, now: int) -> dict[str, Any]:
    """Why a placed ladder stood where it did: the decision id and what drove it, read off
    the quoter right after its decision (`marketmesh explain` shows them for a fill).

    `guards` names the market rules the inputs engaged (`engine.quoting.guards`): the
    volatility regime when not normal, and the inventory limit when only one side quotes.
    """
    m = quoter.market
    # what the policy skewed on: the desk's net exposure (issue 13), the home position
    # only where no exposure is known (a test driving the quoter alone)
    held = quoter.net_exposure if quoter.net_exposure is not None else float(quoter.position)
    inventory = held - m.inventory_target
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
        "hedge_cost_bps": None,
    }


def sample_row(
    sample: dict[str, Any],
    market: MarketConfig,
    now: int,
    *,
    effective: MarketConfig | None = None,
    regime: VolRegime = VolRegime.NORMAL,
    state: QuoteState | None = None,
    reference_mid: float | None = None,
) -> dict[str, Any]:
    """A `book_sample` with the market's targets beside it, as `book_samples` stores it.

    `market` is the configured market: the SLA's target, whatever the engine
    raised since. `effective` is the market the quoter runs (an alert may have
    widened its target); with the guard's `regime` it gives the target quoted to.
    """
    effective = effective or market
    return {
        **sample,
        "ts": now,
        "market": market.symbol,
        "target_spread_bps": market.target_spread_bps,
        "max_spread_bps": market.max_spread_bps,
        "depth_band_bps": market.depth_band_bps,
        "depth_target_quote": market.depth_target_quote,
        "configured_target_spread_bps": market.target_spread_bps,
        "configured_depth_target_quote": market.depth_target_quote,
        "effective_target_spread_bps": guarded_target_spread_bps(effective, regime),
        "quote_state": None if state is None else state.value,
        "reference_mid": reference_mid,
    }


def fill_row(
    fill: Fill,
    mid: float | None,
    seen_ns: int,
    expected_hedge_cost_bps: float | None = None,
    *,
    home_taker_fee: float | None = None,
) -> dict[str, Any]:
    """A home fill as `fills` stores it, with the reference mid when it was seen and the
    hedge cost its quote expected (None: not known).

    `home_taker_fee` (a rate) prices what the home venue charged the taker on a
    fill where the bot was the maker: the exchange's revenue from this liquidity.
    """
    taker_fee = None
    if home_taker_fee is not None and fill.liquidity is Liquidity.MAKER:
        taker_fee = float(fill.price * fill.amount) * home_taker_fee
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
        "taker_fee_quote": taker_fee,
        "expected_hedge_cost_bps": expected_hedge_cost_bps,
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
