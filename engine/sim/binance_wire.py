"""Wire formats and request errors of the Binance spot dialect, shared by its endpoint modules.

`binance_http.py` (the request plumbing and the core endpoints), `binance_filters.py`
(pre-trade checks), `binance_market_data.py` (tickers, klines, trades) and
`binance_orders.py` (order history, cancel-all, test orders, commission) all
speak through these helpers, so a decimal string or an order object looks the
same whichever endpoint answers. Reference:
https://developers.binance.com/docs/binance-spot-api-docs/rest-api
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, TypeVar

from engine.sim.exchange import (
    InvalidRequest,
    MalformedParameter,
    MissingParameter,
    OrderRejected,
    OrderState,
    SimError,
    SimTrade,
)
from engine.sim.faults import NO_FAULT, FaultDecision
from engine.sim.ladder import step_parts
from engine.types import Side, split_symbol

# Binance symbols carry baseAssetPrecision / quoteAssetPrecision 8: every decimal string
# the API sends has exactly 8 places ("price": "0.00100000").
WIRE_PRECISION = 8
_WIRE_QUANTUM = Decimal(1).scaleb(-WIRE_PRECISION)
_DECIMAL = re.compile(r"^\d{1,20}(\.\d{1,20})?$")
_INTEGER = re.compile(r"^-?\d{1,19}$")


@dataclass(frozen=True, slots=True)
class BinanceRequest:
    params: dict[str, str]
    account: str  # the API key for signed requests, "" otherwise
    ts_ns: int
    fault: FaultDecision = NO_FAULT


Handler = Callable[[BinanceRequest], Awaitable[Any]]
WeightRule = Callable[[dict[str, str]], int]
_Enum = TypeVar("_Enum")


# --- errors the dialect raises on top of the exchange's ------------------------------------


class UnreadParameters(InvalidRequest):
    """-1104: a parameter the endpoint does not take."""

    def __init__(self, read: int, sent: int) -> None:
        super().__init__(
            f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'."
        )


class BadPrecision(InvalidRequest):
    """-1111: more decimals than the asset's precision (8)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"Parameter '{name}' has too much precision.")


class BadRecvWindow(InvalidRequest):
    """-1131: recvWindow above 60000 ms."""

    def __init__(self, limit_ms: int) -> None:
        super().__init__(f"recvWindow must be less than {limit_ms}.")


class BadInterval(InvalidRequest):
    """-1120: a kline interval Binance does not know."""

    def __init__(self) -> None:
        super().__init__("Invalid interval.")


class UnsupportedOrder(OrderRejected):
    """-2010 for an order the symbol does not allow (stop orders, icebergs)."""


class TooManyOrders(SimError):
    """-1015 (HTTP 429): the account's ORDERS limit is used up."""

    def __init__(self, limit: int, interval: str, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"Too many new orders; current limit is {limit} orders per {interval}.")


class UnknownEndpoint(SimError):
    """A path (or method) the API does not serve."""

    def __init__(self) -> None:
        super().__init__("This operation is not supported.")


# --- wire formats -----------------------------------------------------------------------------


def wire_decimal(value: Decimal) -> str:
    """Binance's decimal strings: exactly 8 places, truncated past the asset's precision."""
    if value == 0:
        return f"{Decimal(0):.8f}"
    return f"{value.quantize(_WIRE_QUANTUM, rounding=ROUND_DOWN):.8f}"


class WireGrid:
    """Prints one symbol's grid counts (a price in ticks, an amount in lots) as
    `wire_decimal` prints `count * step`, with integers only: the diff-depth streams
    print ~200 levels a book, four times a second, per symbol. A price's string is
    kept, as a book's prices recur from one refresh to the next."""

    _KEEP = 50_000  # prices kept per symbol before the cache starts over

    def __init__(self, tick: Decimal, lot: Decimal) -> None:
        self.tick, self.lot = tick, lot
        self._tick = step_parts(tick)
        self._lot = step_parts(lot)
        self._prices: dict[int, str] = {}

    def price(self, ticks: int) -> str:
        text = self._prices.get(ticks)
        if text is None:
            if len(self._prices) >= self._KEEP:
                self._prices.clear()
            text = self._prices[ticks] = fixed_places(ticks * self._tick[0], self._tick[1])
        return text

    def amount(self, lots: int) -> str:
        return fixed_places(lots * self._lot[0], self._lot[1])


def fixed_places(units: int, exponent: int, places: int = WIRE_PRECISION) -> str:
    """`units * 10**exponent` with exactly `places` decimals, cut toward zero (what
    `wire_decimal` prints for that value)."""
    shift = exponent + places
    scaled = abs(units) * 10**shift if shift >= 0 else abs(units) // 10**-shift
    sign = "-" if units < 0 and scaled else ""
    whole, fraction = divmod(scaled, 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"


def market_id(symbol: str) -> str:
    """`BTC/USDT` -> `BTCUSDT`, the Binance symbol."""
    base, quote = split_symbol(symbol)
    return base + quote


def ms(ts_ns: int) -> int:
    return ts_ns // 1_000_000


def int_param(params: dict[str, str], name: str, default: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise MissingParameter(name)
        return default
    if not _INTEGER.match(raw):
        raise MalformedParameter(name, "legal range is '^-?[0-9]{1,19}$'.")
    return int(raw)


def is_integer(raw: str) -> bool:
    return bool(_INTEGER.match(raw))


def decimal_param(params: dict[str, str], name: str) -> Decimal | None:
    """A decimal parameter; -1100 if malformed, -1111 past 8 decimals."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not _DECIMAL.match(raw):
        raise MalformedParameter(name, "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
    value = Decimal(raw)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -WIRE_PRECISION:
        raise BadPrecision(name)
    return value


def enum_param(
    params: dict[str, str], name: str, values: dict[str, _Enum], error: type[InvalidRequest]
) -> _Enum:
    raw = params.get(name)
    if not raw:
        raise MissingParameter(name)
    value = values.get(raw.upper())
    if value is None:
        raise error()
    return value


def order_fields(order: OrderState) -> dict[str, Any]:
    return {
        "price": wire_decimal(order.price),
        "origQty": wire_decimal(order.orig_qty),
        "executedQty": wire_decimal(order.executed_qty),
        "origQuoteOrderQty": wire_decimal(order.orig_quote_order_qty),
        "cummulativeQuoteQty": wire_decimal(order.cumulative_quote_qty),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.order_type.value,
        "side": order.side.value.upper(),
    }


def order_json(order: OrderState) -> dict[str, Any]:
    return {
        "symbol": market_id(order.symbol),
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        **order_fields(order),
        "stopPrice": wire_decimal(Decimal(0)),
        "icebergQty": wire_decimal(Decimal(0)),
        "time": ms(order.created_ns),
        "updateTime": ms(order.updated_ns),
        "isWorking": True,
        "workingTime": ms(order.created_ns),
        "selfTradePreventionMode": "NONE",
    }


def fill_json(trade: SimTrade) -> dict[str, Any]:
    """One entry of an order answer's `fills` (newOrderRespType FULL)."""
    return {
        "price": wire_decimal(trade.price),
        "qty": wire_decimal(trade.qty),
        "commission": wire_decimal(trade.fee),
        "commissionAsset": trade.fee_asset,
        "tradeId": trade.trade_id,
    }


def trade_json(trade: SimTrade) -> dict[str, Any]:
    return {
        "symbol": market_id(trade.symbol),
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": wire_decimal(trade.price),
        "qty": wire_decimal(trade.qty),
        "quoteQty": wire_decimal(trade.quote_qty),
        "commission": wire_decimal(trade.fee),
        "commissionAsset": trade.fee_asset,
        "time": ms(trade.ts_ns),
        "isBuyer": trade.side is Side.BUY,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def fixed(weight: int) -> WeightRule:
    return lambda params: weight


def symbol_weight(with_symbol: int, without_symbol: int) -> WeightRule:
    return lambda params: with_symbol if params.get("symbol") else without_symbol
