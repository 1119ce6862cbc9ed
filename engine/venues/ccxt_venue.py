"""`CcxtVenue`: any ccxt exchange as a hedge venue.

Idempotency comes from the client order id: a child order always carries the
same id, so after an unknown outcome we look the order up by that id before
anything is resent, and a duplicate-id reject means "it is already there".
Where the venue cannot be asked by client id, an unknown outcome is reported
as `unknown` and never resent: one child, at most one order on the venue.

Every request of one venue (markets, books, balances, orders, look-ups) draws
on one `WeightBudget` (engine/venues/rate_limit.py): a 429/418 pauses all of
them for the venue's `Retry-After`; other retryable failures back off
exponentially with jitter ("Exponential Backoff And Jitter", AWS Architecture
Blog, 2015: equal jitter).

Exact amounts are taken from the venue's raw strings (`info`), never from
ccxt's floats, so the ledger reconciles with the venue to the unit
(`ccxt_results.py`). The client is built in `ccxt_client.py`, call weights are in
`ccxt_weights.py`.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TypeVar

from engine.types import BookSnapshot, ChildOrder, ChildOrderResult, MarketSpec, Side
from engine.venues.ccxt_client import (
    backoff_s,
    ccxt_client,
    market_spec,
    point_api_urls,
    quantize,
)
from engine.venues.ccxt_results import fills_result, finish, order_result, trade_execution
from engine.venues.ccxt_weights import WEIGHT_HEADER, capabilities_of
from engine.venues.errors import (
    DuplicateClientOrderId,
    OrderNotFound,
    RateLimited,
    UnknownOutcome,
    VenueError,
    VenueRejected,
    VenueRetryable,
    classify,
    header,
    parse_retry_after,
)
from engine.venues.rate_limit import BudgetExhausted, WeightBudget

__all__ = [  # the client helpers live in ccxt_client; re-exported for existing importers
    "CcxtVenue",
    "Lookup",
    "backoff_s",
    "market_spec",
    "point_api_urls",
    "quantize",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class Lookup(enum.Enum):
    """What asking the venue for a child order by its client id established."""

    NOT_FOUND = "not found"  # the venue never saw it: safe to send (again)
    UNDETERMINED = "undetermined"  # the venue did not answer: never resend
    UNSUPPORTED = "unsupported"  # the venue cannot be asked by client id


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
        lookup_attempts: int = 8,
        max_wait_s: float = 10.0,
        weight_limit_1m: float | None = None,
        budget: WeightBudget | None = None,
        rng: random.Random | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        """`max_wait_s`: the longest a child order waits out a venue pause (429/418)
        before it is reported rejected (nothing sent), so the router can hedge
        elsewhere. `budget` (shared, clock-injected) replaces the default
        `WeightBudget` of `weight_limit_1m`.

        The budget is the client's one rate limiter: ccxt's own throttle
        (`enableRateLimit`) is off. Its leaky bucket refills only while requests
        queue, never while idle, so every order after a quiet spell waited its
        cost in `rateLimit` (10 ms for a Binance order) and the one after a
        balance read 200 ms (BENCHMARKS.md, "ccxt's throttle on the hedge path").
        """
        self.venue_id = venue_id
        self.exchange_id = exchange_id
        self.symbols = list(symbols)
        self._max_attempts = max_attempts
        self._lookup_attempts = lookup_attempts
        self._max_wait_s = max_wait_s
        self._rng = rng or random.Random()
        self.capabilities = capabilities_of(exchange_id)
        self._weights = self.capabilities.weights
        limit = weight_limit_1m or self.capabilities.weight_limit_1m
        self.budget = budget or WeightBudget(limit_per_minute=limit)
        opts: dict[str, Any] = {"fetchCurrencies": False, **self.capabilities.client_options}
        opts.update(options or {})
        self.client = ccxt_client(
            venue_id,
            exchange_id,
            timeout_s=timeout_s,
            api_key=api_key,
            api_secret=api_secret,
            base_url=base_url,
            enable_rate_limit=False,  # the budget limits (docstring)
            options=opts,
        )
        self.specs: dict[str, MarketSpec] = {}

    def __repr__(self) -> str:
        return f"CcxtVenue(venue_id={self.venue_id!r}, exchange={self.exchange_id!r})"

    @property
    def finds_orders_by_client_id(self) -> bool:
        """Capability: the venue answers "do you have client order id X?"."""
        return self.capabilities.client_id_lookup_param is not None

    # --- every request goes through here ----------------------------------------------------

    async def _request(
        self,
        operation: str,
        call: Callable[[], Awaitable[_T]],
        *,
        weight: float | None = None,
        sent: bool = False,
        max_wait_s: float | None = None,
    ) -> _T:
        """Draw on the budget, call ccxt, feed the venue's weight header back, classify errors.

        Headers are read right where ccxt set them, with no await in between,
        so concurrent calls on the same client cannot swap them.
        """
        cost = weight if weight is not None else self._weights.get(operation, 1)
        try:
            await self.budget.acquire(cost, max_wait_s=max_wait_s)
        except BudgetExhausted as exc:
            raise RateLimited(
                self.venue_id,
                operation,
                f"weight budget paused for {exc.wait_s:.1f}s; not sent",
                retry_after_s=exc.wait_s,
            ) from None
        spent = self.budget.stats.by_operation
        spent[operation] = spent.get(operation, 0.0) + cost
        try:
            result = await call()
        except Exception as exc:
            headers = getattr(self.client, "last_response_headers", None)
            err = classify(exc, self.venue_id, operation, sent=sent)
            if isinstance(err, RateLimited):
                err.retry_after_s = parse_retry_after(headers)
                self.budget.pause(err.retry_after_s or 1.0, self.budget.now())
            raise err from None
        self._observe_weight(getattr(self.client, "last_response_headers", None))
        return result

    def _observe_weight(self, headers: dict[str, str] | None) -> None:
        used = header(headers, WEIGHT_HEADER)
        if used is None:
            return
        try:
            self.budget.observe_used(float(used), self.budget.now())
        except ValueError:
            log.debug("%s: unreadable %s header", self.venue_id, WEIGHT_HEADER)

    async def _backoff(self, attempt: int) -> None:
        await self.budget.sleep(backoff_s(attempt, self._rng))

    # --- markets, books, balances -----------------------------------------------------------

    async def start(self) -> dict[str, MarketSpec]:
        markets = await self._request("load_markets", self.client.load_markets)
        missing = [s for s in self.symbols if s not in markets]
        if missing:
            raise VenueError(
                self.venue_id, "load_markets", f"unknown symbols: {', '.join(missing)}"
            )
        self.specs = {s: market_spec(markets[s], self.client.precisionMode) for s in self.symbols}
        return self.specs

    async def set_symbols(self, symbols: list[str]) -> dict[str, MarketSpec]:
        """The symbols this venue trades from now on (`marketmesh scale`): a new one must be
        listed (markets are reloaded once to see it); a dropped one keeps no spec."""
        markets = self.client.markets or {}
        if any(s not in markets for s in symbols):
            markets = await self._request(
                "load_markets", lambda: self.client.load_markets(reload=True)
            )
        missing = [s for s in symbols if s not in markets]
        if missing:
            raise VenueError(
                self.venue_id, "load_markets", f"unknown symbols: {', '.join(missing)}"
            )
        self.symbols = list(symbols)
        self.specs = {s: market_spec(markets[s], self.client.precisionMode) for s in self.symbols}
        return self.specs

    def book_weight(self, depth: int) -> float:
        """What one `fetch_book` of `depth` levels costs this venue's budget."""
        return self.capabilities.depth_weight(depth)

    async def fetch_book(self, symbol: str, depth: int, now_ns: int) -> BookSnapshot:
        book = await self._request(
            f"fetch_order_book {symbol}",
            lambda: self.client.fetch_order_book(symbol, depth),
            weight=self.capabilities.depth_weight(depth),
            max_wait_s=self._max_wait_s,
        )
        return BookSnapshot(
            venue=self.venue_id,
            symbol=symbol,
            ts_ns=now_ns,
            bids=tuple((float(p), float(a)) for p, a, *_ in book["bids"]),
            asks=tuple((float(p), float(a)) for p, a, *_ in book["asks"]),
        )

    async def fetch_balances(self) -> dict[str, Decimal]:
        resp = await self._request(
            "fetch_balance", self.client.fetch_balance, max_wait_s=self._max_wait_s
        )
        raw = (resp.get("info") or {}).get("balances")
        if isinstance(raw, list):  # Binance dialect: exact strings
            return {b["asset"]: Decimal(str(b["free"])) + Decimal(str(b["locked"])) for b in raw}
        return {a: Decimal(str(v)) for a, v in (resp.get("total") or {}).items() if v is not None}

    # --- orders -----------------------------------------------------------------------------

    def prepare(self, order: ChildOrder) -> tuple[Decimal, Decimal] | str:
        """Round a child order onto the venue grid; return a reason string if it cannot trade.

        Checked before anything is sent: a child below the venue's minimum
        amount or notional comes back `rejected` with this reason, and what it
        did not trade stays in the exposure for the next hedge (cf.
        hummingbot/hummingbot#5688, hedges below the minimum silently dropped).
        """
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
        """Send one child order, at most once on the venue; never raises for a venue answer.

        * rejected on purpose: `rejected` with the venue's reason;
        * rate limited: wait the venue's Retry-After (shared pause) and resend,
          unless that is longer than `max_wait_s`: `rejected`, nothing sent;
        * other retryable failures: backoff with jitter, resend the same id;
        * unknown outcome or duplicate id: ask the venue by client id; found ->
          its executions; not found -> resend; no answer -> `unknown`.
        """
        prepared = self.prepare(order)
        if isinstance(prepared, str):
            return ChildOrderResult(order, "rejected", reason=prepared)
        amount, price = prepared
        order = replace(order, amount=float(amount), limit_price=float(price))  # what is sent
        params: dict[str, Any] = {"timeInForce": order.time_in_force}
        send_param = self.capabilities.client_id_send_param
        if send_param:
            params[send_param] = order.client_order_id
        last_error: VenueError | None = None
        for attempt in range(self._max_attempts):
            try:
                resp = await self._request(
                    "create_order",
                    lambda: self.client.create_order(
                        order.symbol,
                        order.order_type,
                        order.side.value,
                        float(amount),
                        float(price),
                        params,
                    ),
                    sent=True,
                    max_wait_s=self._max_wait_s,
                )
            except (UnknownOutcome, DuplicateClientOrderId) as err:
                last_error = err
                if settled := await self._settle_by_lookup(order, err):
                    return settled
                await self._backoff(attempt)  # the venue says it never saw it: resend
            except RateLimited as err:
                last_error = err
                if (err.retry_after_s or 0) > self._max_wait_s:
                    return ChildOrderResult(order, "rejected", reason=f"not sent: {err}")
                # the budget is paused for the Retry-After: the next attempt waits it out
            except VenueRetryable as err:
                last_error = err
                await self._backoff(attempt)
            except VenueRejected as err:
                return ChildOrderResult(order, "rejected", reason=str(err))
            except VenueError as err:  # unclassified after send: it may have landed
                last_error = err
                if settled := await self._settle_by_lookup(order, err):
                    return settled
                await self._backoff(attempt)
            else:  # answered: whatever follows is never a reason to resend
                return await self._completed(order, resp)
        return ChildOrderResult(
            order,
            "rejected",
            reason=f"not executed after {self._max_attempts} attempts: {last_error}",
        )

    async def _settle_by_lookup(
        self, order: ChildOrder, err: VenueError
    ) -> ChildOrderResult | None:
        """A create that may have landed: what the venue says by client id, or None when it
        never saw the order (resending the same id is then safe)."""
        found = await self._lookup(order)
        if isinstance(found, ChildOrderResult):
            return found
        if found is not Lookup.NOT_FOUND:
            return ChildOrderResult(order, "unknown", reason=f"{err}; look-up {found.value}")
        if isinstance(err, DuplicateClientOrderId):  # there, yet not found: do not resend
            return ChildOrderResult(order, "unknown", reason=str(err))
        return None

    async def _completed(
        self, order: ChildOrder, resp: dict[str, Any], reason: str = ""
    ) -> ChildOrderResult:
        """The result of an answered create: exact fills, IOC emulated where the venue has none.

        A venue whose ccxt client drops `timeInForce` (HollaEx) leaves the rest of a
        limit order on the book: it is cancelled at once and re-read, so a child
        never stays live. Venues whose create answer carries no fills are asked
        for the order's trades, so amounts come from the venue's strings.
        """
        order_id = str(resp.get("id") or "")
        if resp.get("status") == "open" and order.time_in_force == "IOC" and order_id:
            try:
                await self._request(
                    "cancel_order", lambda: self.client.cancel_order(order_id, order.symbol)
                )
            except VenueRejected as err:  # filled meanwhile: nothing left to cancel
                log.info("%s", err)
            except VenueError as err:
                return ChildOrderResult(
                    order, "unknown", reason=f"IOC emulation: the rest may be live: {err}"
                )
            try:
                resp = await self._request(
                    "fetch_order", lambda: self.client.fetch_order(order_id, order.symbol)
                )
            except VenueError as err:
                return ChildOrderResult(order, "unknown", reason=f"IOC emulation: {err}")
            reason = reason or "IOC emulated: rest cancelled"
        info = resp.get("info") or {}
        if isinstance(info.get("fills"), list) or not resp.get("filled"):
            return order_result(self.venue_id, order, resp, reason)
        try:
            trades = await self._request(
                "fetch_my_trades", lambda: self.client.fetch_my_trades(order.symbol)
            )
        except VenueError as err:
            log.info("%s", err)
            return order_result(self.venue_id, order, resp, reason)
        own = [t for t in trades if str(t.get("order") or "") == order_id]
        if not own:
            return order_result(self.venue_id, order, resp, reason)
        executions = tuple(trade_execution(self.venue_id, order, order_id, t) for t in own)
        return finish(order, executions, reason)

    async def recover(
        self, hedge_id: str, symbol: str, client_order_id: str
    ) -> ChildOrderResult | Lookup:
        """After a router restart: what a child order the journal says was sent did.

        Only the client id survived the crash; the side and size come from the
        venue's own record of the order, then it is read like any look-up.
        """
        param = self.capabilities.client_id_lookup_param
        if param is None:
            return Lookup.UNSUPPORTED
        try:
            resp = await self._request(
                "fetch_order",
                lambda: self.client.fetch_order("", symbol, {param: client_order_id}),
                max_wait_s=self._max_wait_s,
            )
        except VenueRejected as err:
            return Lookup.NOT_FOUND if _is_not_found(err) else Lookup.UNDETERMINED
        except VenueError:
            return Lookup.UNDETERMINED
        order = ChildOrder(
            hedge_id=hedge_id,
            client_order_id=client_order_id,
            venue=self.venue_id,
            symbol=symbol,
            side=Side(str(resp.get("side") or "buy")),
            amount=float(resp.get("amount") or 0),
            limit_price=float(resp.get("price") or 0),
        )
        return await self._lookup(order)

    async def _lookup(self, order: ChildOrder) -> ChildOrderResult | Lookup:
        """Ask the venue for a child order by its client id, retrying until it answers.

        An order found open is cancelled first (an IOC never rests, so it is
        not ours to leave live), then reported by what it executed.
        """
        param = self.capabilities.client_id_lookup_param
        if param is None:
            return Lookup.UNSUPPORTED
        for attempt in range(self._lookup_attempts):
            try:
                resp = await self._request(
                    "fetch_order",
                    lambda: self.client.fetch_order(
                        "", order.symbol, {param: order.client_order_id}
                    ),
                    max_wait_s=self._max_wait_s,
                )
                if resp.get("status") == "open":
                    live_id = str(resp["id"])
                    await self._request(
                        "cancel_order",
                        lambda: self.client.cancel_order(live_id, order.symbol),  # noqa: B023
                    )
                    continue  # read it again: what it executed before the cancel
                return await self._looked_up(order, resp)
            except VenueRejected as err:
                if _is_not_found(err):
                    return Lookup.NOT_FOUND
                log.warning("%s", err)
                return Lookup.UNDETERMINED
            except VenueError as err:
                log.info("%s (look-up attempt %d)", err, attempt + 1)
                if not isinstance(err, RateLimited):  # a rate limit waits in the budget
                    await self._backoff(attempt)
        return Lookup.UNDETERMINED

    async def _looked_up(self, order: ChildOrder, resp: dict[str, Any]) -> ChildOrderResult:
        if not resp.get("filled"):
            return ChildOrderResult(order, "expired", reason="looked up: nothing executed")
        order_id = str(resp["id"])
        ts_ms = int(resp.get("timestamp") or 0)
        if self.exchange_id != "binance":
            return order_result(
                self.venue_id, order, resp, reason="looked up after unknown outcome"
            )
        for attempt in range(self._lookup_attempts):
            try:
                trades = await self._request(
                    "fetch_my_trades",
                    lambda: self.client.fetch_my_trades(order.symbol, params={"orderId": order_id}),
                    max_wait_s=self._max_wait_s,
                )
                fills = [t["info"] for t in trades]
                return fills_result(
                    self.venue_id, order, order_id, fills, "looked up after unknown outcome", ts_ms
                )
            except VenueError as err:
                log.info("%s (trades look-up attempt %d)", err, attempt + 1)
                if not isinstance(err, RateLimited):
                    await self._backoff(attempt)
        # the order's own totals are exact too; only the per-trade split is missing
        return order_result(self.venue_id, order, resp, reason="looked up; trades unavailable")

    async def close(self) -> None:
        await self.client.close()


def _is_not_found(err: VenueError) -> bool:
    return isinstance(err, OrderNotFound)
