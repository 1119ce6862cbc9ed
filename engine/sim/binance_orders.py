"""Binance spot order endpoints of a simulated venue (https://developers.binance.com/docs/
binance-spot-api-docs/rest-api/trading-endpoints and .../account-endpoints).

`POST /api/v3/order`, `order/test`, `order/cancelReplace`, `GET`/`DELETE
/api/v3/order`, `GET`/`DELETE /api/v3/openOrders`, `allOrders`, `myTrades`,
`account/commission` and `rateLimit/order`. An order passes the wire's checks
(`binance_filters`) before the exchange sees it; the answers carry the same
fields as the real venue's, decimals at the symbol's precision.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.sim.binance_filters import check_order_filters, check_order_kind
from engine.sim.binance_limits import BinanceRateLimits
from engine.sim.binance_wire import (
    BinanceRequest,
    Handler,
    WeightRule,
    decimal_param,
    enum_param,
    fill_json,
    fixed,
    int_param,
    market_id,
    ms,
    order_fields,
    order_json,
    symbol_weight,
    trade_json,
    wire_decimal,
)
from engine.sim.exchange import (
    CancelRejected,
    InvalidRequest,
    MalformedParameter,
    MissingParameter,
    OrderRequest,
    OrderState,
    OrderType,
    SimError,
    SimExchange,
    TimeInForce,
)
from engine.types import Side

_CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
SymbolResolver = Callable[..., str | None]
AvgPrice = Callable[[str, int], Decimal]
ErrorCode = Callable[[SimError], tuple[int, int]]
OrderListener = Callable[..., None]  # (account, order, ts_ns, *, created)
Route = tuple[str, str, Handler, WeightRule, bool]


class InvalidSide(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("Invalid side.")


class InvalidOrderType(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("Invalid orderType.")


class InvalidTimeInForce(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("Invalid timeInForce.")


class CancelReplaceFailed(SimError):
    """-2021 (the cancel or the new order failed) / -2022 (both failed, or the cancel did
    under STOP_ON_FAILURE); `data` is the per-leg report Binance sends with it."""

    def __init__(self, code: int, data: dict[str, Any]) -> None:
        self.code = code
        self.data = data
        super().__init__(
            "Order cancel-replace partially failed."
            if code == -2021
            else "Order cancel-replace failed."
        )


class BinanceOrders:
    """The order and account-order endpoints of one venue."""

    def __init__(
        self,
        exchange: SimExchange,
        resolve: SymbolResolver,
        avg_price: AvgPrice,
        limits: BinanceRateLimits,
        error_code: ErrorCode,
        *,
        on_order: OrderListener | None = None,
    ) -> None:
        """`error_code` maps a refusal to Binance's (code, status) for cancelReplace reports;
        `on_order` hears of every order placed or canceled (the user data streams)."""
        self._exchange = exchange
        self._on_order = on_order
        self._resolve = resolve
        self._avg_price = avg_price
        self._limits = limits
        self._error_code = error_code

    def routes(self) -> list[Route]:
        return [
            ("POST", "/api/v3/order", self._new_order, fixed(1), True),
            ("POST", "/api/v3/order/test", self._test_order, _test_weight, True),
            ("POST", "/api/v3/order/cancelReplace", self._cancel_replace, fixed(1), True),
            ("GET", "/api/v3/order", self._query_order, fixed(4), True),
            ("DELETE", "/api/v3/order", self._cancel_order, fixed(1), True),
            ("GET", "/api/v3/openOrders", self._open_orders, symbol_weight(6, 80), True),
            ("DELETE", "/api/v3/openOrders", self._cancel_all, fixed(1), True),
            ("GET", "/api/v3/allOrders", self._all_orders, fixed(20), True),
            ("GET", "/api/v3/myTrades", self._my_trades, fixed(20), True),
            ("GET", "/api/v3/account/commission", self._commission, fixed(20), True),
            ("GET", "/api/v3/rateLimit/order", self._order_limits, fixed(40), True),
        ]

    # --- placing ------------------------------------------------------------------------

    def _parse(self, req: BinanceRequest) -> tuple[OrderRequest, str]:
        """The order a request describes and its newOrderRespType, wire checks passed."""
        p = req.params
        symbol = self._resolve(p)
        assert symbol is not None
        side = enum_param(p, "side", {"BUY": Side.BUY, "SELL": Side.SELL}, InvalidSide)
        check_order_kind(p)
        order_type = enum_param(p, "type", {t.value: t for t in OrderType}, InvalidOrderType)
        tif = None
        if p.get("timeInForce"):
            tif = enum_param(
                p, "timeInForce", {t.value: t for t in TimeInForce}, InvalidTimeInForce
            )
        client_id = p.get("newClientOrderId")
        if client_id is not None and not _CLIENT_ORDER_ID.match(client_id):
            raise MalformedParameter(
                "newClientOrderId", "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."
            )
        # "MARKET and LIMIT order types default to FULL, all other orders default to ACK."
        default = "FULL" if order_type in (OrderType.MARKET, OrderType.LIMIT) else "ACK"
        resp_type = (p.get("newOrderRespType") or default).upper()
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise InvalidRequest("Invalid newOrderRespType.")
        request = OrderRequest(
            symbol=symbol,
            side=side,
            order_type=order_type,
            quantity=decimal_param(p, "quantity"),
            quote_order_qty=decimal_param(p, "quoteOrderQty"),
            price=decimal_param(p, "price"),
            time_in_force=tif,
            client_order_id=client_id,
        )
        self._exchange.check_order(request)
        check_order_filters(
            order_type,
            side,
            request.price,
            request.quantity,
            lambda: self._avg_price(symbol, req.ts_ns),
        )
        return request, resp_type

    def _place(self, req: BinanceRequest, request: OrderRequest, resp_type: str) -> dict[str, Any]:
        order = self._exchange.place_order(
            req.account, request, req.ts_ns, fill_share=req.fault.fill_share
        )
        self._told(req, order, created=True)
        ack = {
            "symbol": market_id(order.symbol),
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": ms(req.ts_ns),
        }
        if resp_type == "ACK":
            return ack
        result = {
            **ack,
            **order_fields(order),
            "workingTime": ms(order.created_ns),
            "selfTradePreventionMode": "NONE",
        }
        if resp_type == "FULL":
            result["fills"] = [fill_json(t) for t in order.fills]
        return result

    async def _new_order(self, req: BinanceRequest) -> dict[str, Any]:
        request, resp_type = self._parse(req)
        return self._place(req, request, resp_type)

    async def _test_order(self, req: BinanceRequest) -> dict[str, Any]:
        """Validated like a new order, never sent to the matching engine: `{}`, or the
        commission rates it would pay with `computeCommissionRates=true`."""
        self._parse(req)
        if req.params.get("computeCommissionRates", "false").lower() != "true":
            return {}
        rates = self._rates()
        return {
            "standardCommissionForOrder": {"maker": rates["maker"], "taker": rates["taker"]},
            "taxCommissionForOrder": {
                "maker": wire_decimal(Decimal(0)),
                "taker": wire_decimal(Decimal(0)),
            },
            "discount": _NO_DISCOUNT,
        }

    async def _cancel_replace(self, req: BinanceRequest) -> dict[str, Any]:
        p = req.params
        mode = p.get("cancelReplaceMode", "")
        if not mode:
            raise MissingParameter("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise InvalidRequest("Invalid cancelReplaceMode.")
        request, resp_type = self._parse(req)
        order_id = int_param(p, "cancelOrderId") if p.get("cancelOrderId") else None
        client_id = p.get("cancelOrigClientOrderId") or None
        if order_id is None and client_id is None:
            raise MissingParameter("cancelOrderId")
        cancel: dict[str, Any] | None = None
        cancel_error: dict[str, Any] | None = None
        try:
            canceled = self._exchange.cancel_order(
                req.account, request.symbol, req.ts_ns, order_id=order_id, client_order_id=client_id
            )
            self._told(req, canceled, created=False)
            cancel = self._cancel_json(canceled, p.get("cancelNewClientOrderId"), req.ts_ns)
        except SimError as exc:
            cancel_error = self._report(exc)
            if mode == "STOP_ON_FAILURE":
                raise CancelReplaceFailed(
                    -2022, _legs("FAILURE", "NOT_ATTEMPTED", cancel_error, None)
                ) from None
        try:
            placed = self._place(req, request, resp_type)
        except SimError as exc:
            code = -2021 if cancel is not None else -2022
            raise CancelReplaceFailed(
                code,
                _legs(
                    "SUCCESS" if cancel else "FAILURE",
                    "FAILURE",
                    cancel or cancel_error,
                    self._report(exc),
                ),
            ) from None
        if cancel is None:
            raise CancelReplaceFailed(-2021, _legs("FAILURE", "SUCCESS", cancel_error, placed))
        return _legs("SUCCESS", "SUCCESS", cancel, placed)

    def _told(self, req: BinanceRequest, order: OrderState, *, created: bool) -> OrderState:
        """Tell the user data streams of an order placed or canceled."""
        if self._on_order is not None:
            self._on_order(req.account, order, req.ts_ns, created=created)
        return order

    def _report(self, exc: SimError) -> dict[str, Any]:
        return {"code": self._error_code(exc)[0], "msg": str(exc)}

    # --- looking up and canceling -------------------------------------------------------

    @staticmethod
    def _order_ref(p: dict[str, str]) -> tuple[int | None, str | None]:
        order_id = int_param(p, "orderId") if p.get("orderId") else None
        client_id = p.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise MissingParameter("orderId")
        return order_id, client_id

    async def _query_order(self, req: BinanceRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        order_id, client_id = self._order_ref(req.params)
        order = self._exchange.order(
            req.account, symbol, req.ts_ns, order_id=order_id, client_order_id=client_id
        )
        return order_json(order)

    def _cancel_json(
        self, order: OrderState, new_client_id: str | None, ts_ns: int
    ) -> dict[str, Any]:
        return {
            "symbol": market_id(order.symbol),
            "origClientOrderId": order.client_order_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": new_client_id or f"cancel-{order.order_id}",
            "transactTime": ms(ts_ns),
            **order_fields(order),
            "selfTradePreventionMode": "NONE",
        }

    async def _cancel_order(self, req: BinanceRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        order_id, client_id = self._order_ref(req.params)
        order = self._exchange.cancel_order(
            req.account, symbol, req.ts_ns, order_id=order_id, client_order_id=client_id
        )
        self._told(req, order, created=False)
        return self._cancel_json(order, req.params.get("newClientOrderId"), req.ts_ns)

    async def _cancel_all(self, req: BinanceRequest) -> list[dict[str, Any]]:
        """Cancel every open order of the symbol; -2011 when there is none, as Binance."""
        symbol = self._resolve(req.params)
        assert symbol is not None
        open_orders = self._exchange.open_orders(req.account, symbol, req.ts_ns)
        if not open_orders:
            raise CancelRejected()
        return [
            self._cancel_json(
                self._told(
                    req,
                    self._exchange.cancel_order(
                        req.account, symbol, req.ts_ns, order_id=o.order_id
                    ),
                    created=False,
                ),
                None,
                req.ts_ns,
            )
            for o in open_orders
        ]

    async def _open_orders(self, req: BinanceRequest) -> list[dict[str, Any]]:
        symbol = self._resolve(req.params, required=False)
        return [order_json(o) for o in self._exchange.open_orders(req.account, symbol, req.ts_ns)]

    async def _all_orders(self, req: BinanceRequest) -> list[dict[str, Any]]:
        p = req.params
        symbol = self._resolve(p)
        assert symbol is not None
        orders = self._exchange.orders(req.account, symbol, req.ts_ns)
        if p.get("orderId"):
            from_id = int_param(p, "orderId")
            orders = [o for o in orders if o.order_id >= from_id]
        orders = _in_time(orders, p, lambda o: o.created_ns)
        limit = max(1, min(int_param(p, "limit", 500), 1_000))
        oldest_first = bool(p.get("orderId") or p.get("startTime"))
        orders = orders[:limit] if oldest_first else orders[-limit:]
        return [order_json(o) for o in orders]

    async def _my_trades(self, req: BinanceRequest) -> list[dict[str, Any]]:
        p = req.params
        symbol = self._resolve(p)
        assert symbol is not None
        trades = self._exchange.trades(req.account, symbol, req.ts_ns)
        if p.get("orderId"):
            order_id = int_param(p, "orderId")
            trades = [t for t in trades if t.order_id == order_id]
        trades = _in_time(trades, p, lambda t: t.ts_ns)
        if p.get("fromId"):
            from_id = int_param(p, "fromId")
            trades = [t for t in trades if t.trade_id >= from_id]
        limit = max(1, min(int_param(p, "limit", 500), 1_000))
        oldest_first = bool(p.get("fromId") or p.get("startTime"))
        trades = trades[:limit] if oldest_first else trades[-limit:]
        return [trade_json(t) for t in trades]

    # --- account ------------------------------------------------------------------------

    def _rates(self) -> dict[str, str]:
        return {
            "maker": wire_decimal(self._exchange.maker_fee),
            "taker": wire_decimal(self._exchange.taker_fee),
            "buyer": wire_decimal(Decimal(0)),
            "seller": wire_decimal(Decimal(0)),
        }

    async def _commission(self, req: BinanceRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        zero = wire_decimal(Decimal(0))
        return {
            "symbol": market_id(symbol),
            "standardCommission": self._rates(),
            "taxCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
            "discount": _NO_DISCOUNT,
        }

    async def _order_limits(self, req: BinanceRequest) -> list[dict[str, Any]]:
        return self._limits.order_counts(req.account, req.ts_ns)


# No BNB discount on the simulated venue: the account pays its standard rates.
_NO_DISCOUNT = {
    "enabledForAccount": False,
    "enabledForSymbol": False,
    "discountAsset": "BNB",
    "discount": "0.00000000",
}


def _test_weight(params: dict[str, str]) -> int:
    return 20 if params.get("computeCommissionRates", "").lower() == "true" else 1


def _legs(
    cancel_result: str, new_result: str, cancel: dict[str, Any] | None, new: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "cancelResult": cancel_result,
        "newOrderResult": new_result,
        "cancelResponse": cancel,
        "newOrderResponse": new,
    }


def _in_time(items: list[Any], p: dict[str, str], ts_ns: Callable[[Any], int]) -> list[Any]:
    if p.get("startTime"):
        start_ms = int_param(p, "startTime")
        items = [i for i in items if ms(ts_ns(i)) >= start_ms]
    if p.get("endTime"):
        end_ms = int_param(p, "endTime")
        items = [i for i in items if ms(ts_ns(i)) <= end_ms]
    return items
