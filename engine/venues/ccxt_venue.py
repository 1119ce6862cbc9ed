"""`CcxtVenue`: any ccxt exchange as a hedge venue.

Idempotency comes from the client order id: a child order always carries the
same id, so after an unknown outcome we look the order up by that id before
anything is resent, and a duplicate-id reject means "it is already there".
Exact amounts are taken from the venue's raw strings (`info`), never from
ccxt's floats, so the ledger reconciles with the venue to the unit.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any
from urllib.parse import urlparse

import ccxt
import ccxt.async_support as ccxt_async

from engine.types import BookSnapshot, ChildOrder, ChildOrderResult, Execution, MarketSpec, Side
from engine.venues.errors import (
    InvalidOrder,
    RateLimited,
    UnknownOutcome,
    VenueError,
    VenueRetryable,
    classify,
)

log = logging.getLogger(__name__)


def point_api_urls(urls: Any, base_url: str) -> Any:
    """Rewrite every API URL of a ccxt exchange onto `base_url`, keeping each path.

    Used for the loopback venue-sim and for operators who front a venue with a
    proxy; nothing is left pointing at the real host.
    """
    if isinstance(urls, dict):
        return {k: point_api_urls(v, base_url) for k, v in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        return base_url.rstrip("/") + urlparse(urls).path
    return urls


def quantize(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Round `value` onto the grid of `step` (a tick or a lot)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


class CcxtVenue:
    """A hedge venue reached through an unmodified ccxt async client."""

    def __init__(
        self,
        venue_id: str,
        exchange_id: str,
        symbols: list[str],
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        base_url: str | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 4,
        options: dict[str, Any] | None = None,
    ) -> None:
        if not hasattr(ccxt_async, exchange_id):
            raise ValueError(f"venue {venue_id}: ccxt has no exchange {exchange_id!r}")
        self.venue_id = venue_id
        self.symbols = list(symbols)
        self._max_attempts = max_attempts
        opts: dict[str, Any] = {"fetchCurrencies": False}
        if exchange_id == "binance":
            opts["fetchMarkets"] = {"types": ["spot"]}
        opts.update(options or {})
        params: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": int(timeout_s * 1000),
            "options": opts,
        }
        if api_key:
            params["apiKey"] = api_key
        if api_secret:
            params["secret"] = api_secret
        self.client = getattr(ccxt_async, exchange_id)(params)
        if base_url:
            self.client.urls["api"] = point_api_urls(self.client.urls["api"], base_url)
        self.specs: dict[str, MarketSpec] = {}

    async def start(self) -> dict[str, MarketSpec]:
        try:
            markets = await self.client.load_markets()
        except Exception as exc:
            raise classify(exc, self.venue_id, "load_markets") from None
        missing = [s for s in self.symbols if s not in markets]
        if missing:
            raise VenueError(
                self.venue_id, "load_markets", f"unknown symbols: {', '.join(missing)}"
            )
        self.specs = {s: self._spec(markets[s]) for s in self.symbols}
        return self.specs

    def _spec(self, market: dict[str, Any]) -> MarketSpec:
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}

        def step(p: Any) -> Decimal:
            if p is None:
                return Decimal(0)
            if self.client.precisionMode == ccxt.TICK_SIZE:
                return Decimal(str(p))
            return Decimal(1).scaleb(-int(p))

        return MarketSpec(
            symbol=market["symbol"],
            tick_size=step(precision.get("price")),
            lot_size=step(precision.get("amount")),
            min_amount=Decimal(str((limits.get("amount") or {}).get("min") or 0)),
            min_notional=Decimal(str((limits.get("cost") or {}).get("min") or 0)),
        )

    async def fetch_book(self, symbol: str, depth: int, now_ns: int) -> BookSnapshot:
        try:
            book = await self.client.fetch_order_book(symbol, depth)
        except Exception as exc:
            raise classify(exc, self.venue_id, f"fetch_order_book {symbol}") from None
        return BookSnapshot(
            venue=self.venue_id,
            symbol=symbol,
            ts_ns=now_ns,
            bids=tuple((float(p), float(a)) for p, a, *_ in book["bids"]),
            asks=tuple((float(p), float(a)) for p, a, *_ in book["asks"]),
        )

    async def fetch_balances(self) -> dict[str, Decimal]:
        try:
            resp = await self.client.fetch_balance()
        except Exception as exc:
            raise classify(exc, self.venue_id, "fetch_balance") from None
        raw = (resp.get("info") or {}).get("balances")
        if isinstance(raw, list):  # Binance dialect: exact strings
            return {b["asset"]: Decimal(str(b["free"])) + Decimal(str(b["locked"])) for b in raw}
        return {a: Decimal(str(v)) for a, v in (resp.get("total") or {}).items() if v is not None}

    def prepare(self, order: ChildOrder) -> tuple[Decimal, Decimal] | str:
        """Round a child order onto the venue grid; return a reason string if it cannot trade."""
        spec = self.specs.get(order.symbol)
        if spec is None:
            return f"unknown symbol {order.symbol} on {self.venue_id}"
        amount = quantize(Decimal(str(order.amount)), spec.lot_size, ROUND_FLOOR)
        price_rounding = ROUND_FLOOR if order.side is Side.BUY else ROUND_CEILING
        price = quantize(Decimal(str(order.limit_price)), spec.tick_size, price_rounding)
        if amount <= 0 or amount < spec.min_amount:
            return f"amount {amount} below venue minimum {spec.min_amount}"
        if amount * price < spec.min_notional:
            return f"notional {amount * price} below venue minimum {spec.min_notional}"
        return amount, price

    async def execute(self, order: ChildOrder) -> ChildOrderResult:
        prepared = self.prepare(order)
        if isinstance(prepared, str):
            return ChildOrderResult(order, "rejected", reason=prepared)
        amount, price = prepared
        order = replace(order, amount=float(amount), limit_price=float(price))  # what is sent
        params = {"timeInForce": order.time_in_force, "clientOrderId": order.client_order_id}
        last_error: VenueError | None = None
        for attempt in range(self._max_attempts):
            try:
                resp = await self.client.create_order(
                    order.symbol,
                    order.order_type,
                    order.side.value,
                    float(amount),
                    float(price),
                    params,
                )
                return self._result(order, resp)
            except Exception as exc:
                err = classify(exc, self.venue_id, "create_order", sent=True)
                last_error = err
                duplicate = isinstance(err, InvalidOrder) and "uplicate" in err.detail
                if isinstance(err, UnknownOutcome) or duplicate:
                    found = await self._lookup(order)
                    if found is not None:
                        return found
                    if duplicate:
                        return ChildOrderResult(order, "unknown", reason=str(err))
                elif isinstance(err, RateLimited | VenueRetryable):
                    retry_after = getattr(err, "retry_after_s", None)
                    await asyncio.sleep(retry_after or min(2.0, 0.1 * 2**attempt))
                else:
                    return ChildOrderResult(order, "rejected", reason=str(err))
        found = await self._lookup(order)
        if found is not None:
            return found
        return ChildOrderResult(order, "unknown", reason=f"gave up: {last_error}")

    async def _lookup(self, order: ChildOrder) -> ChildOrderResult | None:
        """Find a child order by its client id; None if the venue never saw it."""
        try:
            resp = await self.client.fetch_order(
                "", order.symbol, {"origClientOrderId": order.client_order_id}
            )
        except ccxt.OrderNotFound:
            return None
        except Exception as exc:
            log.warning("%s", classify(exc, self.venue_id, "fetch_order"))
            return None
        if resp.get("status") == "open":  # an IOC never rests; a live one is cancelled first
            try:
                await self.client.cancel_order(resp["id"], order.symbol)
            except Exception as exc:
                log.warning("%s", classify(exc, self.venue_id, "cancel_order"))
            return None
        if not resp.get("filled"):
            return ChildOrderResult(order, "expired", reason="looked up: nothing executed")
        trades = await self.client.fetch_my_trades(order.symbol, params={"orderId": resp["id"]})
        fills = [t["info"] for t in trades]
        return self._from_fills(
            order,
            str(resp["id"]),
            fills,
            "looked up after unknown outcome",
            int(resp.get("timestamp") or 0),
        )

    def _result(self, order: ChildOrder, resp: dict[str, Any]) -> ChildOrderResult:
        info = resp.get("info") or {}
        fills = info.get("fills")
        order_id = str(resp.get("id") or info.get("orderId") or "")
        if isinstance(fills, list):
            ts_ms = int(info.get("transactTime") or resp.get("timestamp") or 0)
            return self._from_fills(order, order_id, fills, "", ts_ms)
        filled = Decimal(str(resp.get("filled") or 0))
        if filled == 0:
            return ChildOrderResult(order, "expired", reason="nothing executed at the limit")
        fee = resp.get("fee") or {}
        execution = Execution(
            ts_ns=int(resp.get("timestamp") or 0) * 1_000_000,
            hedge_id=order.hedge_id,
            client_order_id=order.client_order_id,
            venue=self.venue_id,
            symbol=order.symbol,
            side=order.side,
            amount=filled,
            cost=Decimal(str(resp.get("cost") or 0)),
            fee=Decimal(str(fee.get("cost") or 0)),
            fee_currency=str(fee.get("currency") or ""),
            order_id=order_id,
        )
        return self._finish(order, (execution,), "")

    def _from_fills(
        self,
        order: ChildOrder,
        order_id: str,
        fills: list[dict[str, Any]],
        reason: str,
        ts_ms: int,
    ) -> ChildOrderResult:
        executions = []
        for f in fills:
            qty = Decimal(str(f["qty"]))
            executions.append(
                Execution(
                    ts_ns=int(f.get("time") or ts_ms) * 1_000_000,
                    hedge_id=order.hedge_id,
                    client_order_id=order.client_order_id,
                    venue=self.venue_id,
                    symbol=order.symbol,
                    side=order.side,
                    amount=qty,
                    cost=Decimal(str(f["price"])) * qty,
                    fee=Decimal(str(f.get("commission") or 0)),
                    fee_currency=str(f.get("commissionAsset") or ""),
                    order_id=order_id,
                    trade_id=str(f.get("tradeId") or f.get("id") or ""),
                )
            )
        return self._finish(order, tuple(executions), reason)

    @staticmethod
    def _finish(
        order: ChildOrder, executions: tuple[Execution, ...], reason: str
    ) -> ChildOrderResult:
        filled = sum((e.amount for e in executions), Decimal(0))
        wanted = Decimal(str(order.amount))
        if filled <= 0:
            return ChildOrderResult(order, "expired", executions, reason or "nothing executed")
        status = "filled" if filled >= wanted else "partial"
        return ChildOrderResult(order, status, executions, reason)

    async def close(self) -> None:
        await self.client.close()
