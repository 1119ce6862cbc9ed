"""Binance spot pre-trade checks that live at the API edge, and the filters a symbol lists.

The exchange (`SimExchange`) enforces the venue's own grid: PRICE_FILTER tick,
LOT_SIZE step, NOTIONAL minimum, MAX_NUM_ORDERS. What only the wire knows is
checked here, before the exchange sees an order, with the codes Binance uses
(https://developers.binance.com/docs/binance-spot-api-docs/filters and
https://developers.binance.com/docs/binance-spot-api-docs/errors):

* -1104 for a parameter the endpoint does not read (`read_only`);
* -1111 for more decimals than the asset's precision (in `binance_wire.decimal_param`);
* PRICE_FILTER `maxPrice`, LOT_SIZE `maxQty`, MARKET_LOT_SIZE, and
  PERCENT_PRICE_BY_SIDE against the 5-minute average price (-1013 "Filter failure");
* -2010 "Order type not supported for this symbol." for the stop and take-profit
  types and icebergs this venue does not list (the symbol's `orderTypes` and
  `icebergAllowed` say so up front), -1116 for a type Binance does not have.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.config import SymbolRulesConfig
from engine.sim.binance_wire import UnreadParameters, UnsupportedOrder, wire_decimal
from engine.sim.exchange import FilterFailure, OrderType, Side, UnexpectedParameter

# The bounds every simulated symbol lists (and enforces): wide, as the venue's configs
# price assets from fractions of a cent to tens of thousands.
MAX_PRICE = Decimal(1_000_000_000)
MAX_QTY = Decimal(9_000_000_000)
MARKET_MAX_QTY = Decimal(9_000_000_000)
MAX_NOTIONAL = Decimal(9_000_000_000)
MAX_NUM_ORDERS = 200
MAX_NUM_ALGO_ORDERS = 5
# BTCUSDT's PERCENT_PRICE_BY_SIDE on the real venue: a limit price within 0.2x-5x of the
# 5-minute average price on either side.
BID_UP, BID_DOWN = Decimal(5), Decimal("0.2")
ASK_UP, ASK_DOWN = Decimal(5), Decimal("0.2")
AVG_PRICE_MINS = 5

# Types Binance has but this venue's symbols do not list: refused like a symbol that
# does not allow them. Anything else is not a Binance order type at all (-1116).
UNLISTED_ORDER_TYPES = frozenset(
    {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
)

_SIGNED = frozenset({"timestamp", "recvWindow"})
_NEW_ORDER = frozenset(
    {
        "symbol",
        "side",
        "type",
        "timeInForce",
        "quantity",
        "quoteOrderQty",
        "price",
        "newClientOrderId",
        "strategyId",
        "strategyType",
        "stopPrice",
        "trailingDelta",
        "icebergQty",
        "newOrderRespType",
        "selfTradePreventionMode",
        "pegPriceType",
        "pegOffsetValue",
        "pegOffsetType",
    }
)
_ORDER_REF = frozenset({"symbol", "orderId", "origClientOrderId"})
_HISTORY = frozenset({"symbol", "orderId", "startTime", "endTime", "limit"})
# The parameters each endpoint reads (the documented ones); a request sending any other
# is answered -1104. Endpoints not listed read whatever they get.
PARAMETERS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v3/depth"): frozenset({"symbol", "limit"}),
    ("GET", "/api/v3/trades"): frozenset({"symbol", "limit"}),
    ("GET", "/api/v3/historicalTrades"): frozenset({"symbol", "limit", "fromId"}),
    ("GET", "/api/v3/aggTrades"): frozenset({"symbol", "fromId", "startTime", "endTime", "limit"}),
    ("GET", "/api/v3/klines"): frozenset(
        {"symbol", "interval", "startTime", "endTime", "timeZone", "limit"}
    ),
    ("GET", "/api/v3/avgPrice"): frozenset({"symbol"}),
    ("GET", "/api/v3/ticker/price"): frozenset({"symbol", "symbols", "symbolStatus"}),
    ("GET", "/api/v3/ticker/bookTicker"): frozenset({"symbol", "symbols", "symbolStatus"}),
    ("GET", "/api/v3/ticker/24hr"): frozenset({"symbol", "symbols", "type", "symbolStatus"}),
    ("POST", "/api/v3/order"): _NEW_ORDER | _SIGNED,
    ("POST", "/api/v3/order/test"): _NEW_ORDER | {"computeCommissionRates"} | _SIGNED,
    ("GET", "/api/v3/order"): _ORDER_REF | _SIGNED,
    ("DELETE", "/api/v3/order"): _ORDER_REF | {"newClientOrderId", "cancelRestrictions"} | _SIGNED,
    ("DELETE", "/api/v3/openOrders"): frozenset({"symbol"}) | _SIGNED,
    ("GET", "/api/v3/openOrders"): frozenset({"symbol"}) | _SIGNED,
    ("GET", "/api/v3/allOrders"): _HISTORY | _SIGNED,
    ("GET", "/api/v3/myTrades"): _HISTORY | {"fromId"} | _SIGNED,
    ("GET", "/api/v3/account"): frozenset({"omitZeroBalances"}) | _SIGNED,
    ("GET", "/api/v3/account/commission"): frozenset({"symbol"}) | _SIGNED,
    ("GET", "/api/v3/rateLimit/order"): _SIGNED,
    ("POST", "/api/v3/order/cancelReplace"): _NEW_ORDER
    | {
        "cancelReplaceMode",
        "cancelNewClientOrderId",
        "cancelOrigClientOrderId",
        "cancelOrderId",
        "cancelRestrictions",
        "orderRateLimitExceededMode",
    }
    | _SIGNED,
}


def read_only(method: str, path: str, params: dict[str, str]) -> None:
    """-1104 when `params` holds one the endpoint does not read."""
    allowed = PARAMETERS.get((method, path))
    if allowed is None:
        return
    read = sum(1 for name in params if name in allowed)
    if read != len(params):
        raise UnreadParameters(read, len(params))


def check_order_kind(params: dict[str, str]) -> None:
    """Refuse what this venue's symbols do not offer, as a real symbol refuses it."""
    if params.get("type", "").upper() in UNLISTED_ORDER_TYPES:
        raise UnsupportedOrder("Order type not supported for this symbol.")
    if params.get("icebergQty"):
        raise UnsupportedOrder("Iceberg orders are not supported for this symbol.")
    for name in ("stopPrice", "trailingDelta"):
        if params.get(name):
            raise UnexpectedParameter(name)


def check_order_filters(
    order_type: OrderType,
    side: Side,
    price: Decimal | None,
    quantity: Decimal | None,
    avg_price: Callable[[], Decimal],
) -> None:
    """PRICE_FILTER maxPrice, LOT_SIZE / MARKET_LOT_SIZE maxQty, PERCENT_PRICE_BY_SIDE."""
    if price is not None and price > MAX_PRICE:
        raise FilterFailure("PRICE_FILTER", f"price {price} > maxPrice {MAX_PRICE}")
    if quantity is not None:
        if order_type is OrderType.MARKET and quantity > MARKET_MAX_QTY:
            raise FilterFailure("MARKET_LOT_SIZE", f"quantity {quantity} > {MARKET_MAX_QTY}")
        if quantity > MAX_QTY:
            raise FilterFailure("LOT_SIZE", f"quantity {quantity} > maxQty {MAX_QTY}")
    if price is None or order_type is OrderType.MARKET:
        return
    avg = avg_price()  # only a priced order needs it
    if avg <= 0:
        return
    up, down = (BID_UP, BID_DOWN) if side is Side.BUY else (ASK_UP, ASK_DOWN)
    if not avg * down <= price <= avg * up:
        raise FilterFailure(
            "PERCENT_PRICE_BY_SIDE", f"price {price} outside {down}x-{up}x of {avg}"
        )


def symbol_filters(rules: SymbolRulesConfig) -> list[dict[str, Any]]:
    """The `filters` of one symbol in exchangeInfo, the set a real spot symbol carries."""
    tick, lot = rules.tick_size, rules.lot_size
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": wire_decimal(tick),
            "maxPrice": wire_decimal(MAX_PRICE),
            "tickSize": wire_decimal(tick),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": wire_decimal(lot),
            "maxQty": wire_decimal(MAX_QTY),
            "stepSize": wire_decimal(lot),
        },
        {"filterType": "ICEBERG_PARTS", "limit": 10},
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": wire_decimal(Decimal(0)),
            "maxQty": wire_decimal(MARKET_MAX_QTY),
            "stepSize": wire_decimal(Decimal(0)),
        },
        {
            "filterType": "TRAILING_DELTA",
            "minTrailingAboveDelta": 10,
            "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10,
            "maxTrailingBelowDelta": 2000,
        },
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": str(BID_UP),
            "bidMultiplierDown": str(BID_DOWN),
            "askMultiplierUp": str(ASK_UP),
            "askMultiplierDown": str(ASK_DOWN),
            "avgPriceMins": AVG_PRICE_MINS,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": wire_decimal(rules.min_notional),
            "applyMinToMarket": True,
            "maxNotional": wire_decimal(MAX_NOTIONAL),
            "applyMaxToMarket": False,
            "avgPriceMins": AVG_PRICE_MINS,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": MAX_NUM_ORDERS},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": MAX_NUM_ALGO_ORDERS},
    ]
