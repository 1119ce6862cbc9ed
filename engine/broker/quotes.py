"""Firm quotes with a time to live, accepted at most once, within per-client limits.

The book is pure state driven by `now` (UTC ns). Accepting is idempotent: the
first accept within the TTL asks the caller to execute (and then to
`record_fill`); every later accept of the same quote returns that same fill,
even after the TTL, so a retried accept never trades twice. A quote id is 128
random bits (`new_quote_id`), and a quote given to another client is refused
exactly as an unknown id is, so ids can be neither guessed nor probed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.broker.errors import (
    DailyLimitExceeded,
    QuoteExpired,
    RequestLimitExceeded,
    SizeRejected,
    UnknownQuote,
)
from engine.types import Fill, Liquidity, Side, split_symbol

NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True, slots=True)
class ClientLimits:
    max_notional_per_request_quote: float
    max_notional_per_day_quote: float


@dataclass(frozen=True, slots=True)
class FirmQuote:
    """A price the broker will trade at until `expires_ns`; `side` is the client's side."""

    quote_id: str
    broker: str
    client: str
    symbol: str
    side: Side
    size: Decimal
    price: Decimal
    created_ns: int
    expires_ns: int
    mid_price: float
    walked_price: float
    deviation_bps: float

    @property
    def notional(self) -> Decimal:
        return self.size * self.price

    def as_json(self) -> dict[str, Any]:
        return {
            "quote_id": self.quote_id,
            "broker": self.broker,
            "client": self.client,
            "symbol": self.symbol,
            "side": self.side.value,
            "size": str(self.size),
            "price": str(self.price),
            "notional": str(self.notional),
            "expiry": _iso(self.expires_ns),
            "expires_ns": self.expires_ns,
            "ttl_s": (self.expires_ns - self.created_ns) / 1e9,
            "mid_price": self.mid_price,
            "walked_price": self.walked_price,
            "deviation_bps": round(self.deviation_bps, 3),
        }


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).isoformat(timespec="milliseconds")


def new_quote_id(broker_id: str) -> str:
    """`<broker>-<22 url-safe chars>`: 128 random bits, never sequential."""
    return f"{broker_id}-{secrets.token_urlsafe(16)}"


def check_size(size: Decimal, *, min_size: Decimal, max_size: Decimal, increment: Decimal) -> None:
    """Raise `SizeRejected` naming the rule `size` breaks."""
    limits = {
        "min_size": str(min_size),
        "max_size": str(max_size),
        "increment_size": str(increment),
    }
    if size < min_size:
        raise SizeRejected(
            f"size {size} is below min_size {min_size}", code="undersized", size=str(size), **limits
        )
    if size > max_size:
        raise SizeRejected(
            f"size {size} is above max_size {max_size}", code="oversized", size=str(size), **limits
        )
    if size % increment != 0:
        raise SizeRejected(
            f"size {size} is not a multiple of increment_size {increment}",
            code="bad_increment",
            size=str(size),
            **limits,
        )


def inventory_needed(quote: FirmQuote) -> tuple[str, Decimal]:
    """(asset, amount) the inventory account delivers if `quote` is accepted: the base
    for a client buy, the quote asset (the notional) for a client sell."""
    base, quote_asset = split_symbol(quote.symbol)
    return (base, quote.size) if quote.side is Side.BUY else (quote_asset, quote.notional)


def broker_fill(quote: FirmQuote, *, account: str, fill_id: str, now: int) -> Fill:
    """The broker's side of an accepted quote, booked on the inventory account.

    `Fill.side` is the bot's side (the opposite of the client's); no fee: the
    spread is the broker's charge.
    """
    _, quote_asset = split_symbol(quote.symbol)
    return Fill(
        ts_ns=now,
        venue=account,
        market=quote.symbol,
        fill_id=fill_id,
        order_id=quote.quote_id,
        side=quote.side.opposite,
        price=quote.price,
        amount=quote.size,
        fee=Decimal(0),
        fee_currency=quote_asset,
        liquidity=Liquidity.MAKER,
    )


class QuoteBook:
    """Live quotes, their fills, and each client's accepted notional per UTC day."""

    def __init__(self, *, keep_expired_s: float = 3_600.0) -> None:
        self._quotes: dict[str, FirmQuote] = {}
        self._fills: dict[str, Fill] = {}
        self._used: dict[tuple[str, int], Decimal] = {}
        self._keep_ns = int(keep_expired_s * 1e9)

    def __len__(self) -> int:
        return len(self._quotes)

    def used_today(self, client: str, now: int) -> Decimal:
        return self._used.get((client, now // NS_PER_DAY), Decimal(0))

    def check_limits(self, client: str, notional: Decimal, limits: ClientLimits, now: int) -> None:
        """Raise when `notional` breaks the client's per-request or per-day limit."""
        if notional > Decimal(repr(limits.max_notional_per_request_quote)):
            raise RequestLimitExceeded(
                f"client {client!r}: notional {notional} is above the per-request limit "
                f"{limits.max_notional_per_request_quote:g}",
                client=client,
                notional=str(notional),
                limit=limits.max_notional_per_request_quote,
            )
        used = self.used_today(client, now)
        if used + notional > Decimal(repr(limits.max_notional_per_day_quote)):
            raise DailyLimitExceeded(
                f"client {client!r}: {used} accepted today plus {notional} is above the daily "
                f"limit {limits.max_notional_per_day_quote:g}",
                client=client,
                used_today=str(used),
                notional=str(notional),
                limit=limits.max_notional_per_day_quote,
            )

    def add(self, quote: FirmQuote) -> None:
        if quote.quote_id in self._quotes:
            raise ValueError(f"quote id {quote.quote_id} already issued")
        self._quotes[quote.quote_id] = quote

    def get(self, quote_id: str, client: str) -> FirmQuote:
        """`client`'s quote `quote_id`; another client's quote is as unknown as a made-up id."""
        quote = self._quotes.get(quote_id)
        if quote is None or quote.client != client:
            raise UnknownQuote("no such quote (or it was pruned); request a new quote")
        return quote

    def accept(
        self, quote_id: str, client: str, now: int, limits: ClientLimits
    ) -> tuple[FirmQuote, Fill | None]:
        """(quote, its fill) if already executed; (quote, None) if the caller must execute it."""
        quote = self.get(quote_id, client)
        fill = self._fills.get(quote_id)
        if fill is not None:
            return quote, fill
        if now > quote.expires_ns:
            raise QuoteExpired(
                f"quote {quote_id} expired at {_iso(quote.expires_ns)} "
                f"({(now - quote.expires_ns) / 1e9:.3f}s ago); request a new quote",
                quote_id=quote_id,
                expiry=_iso(quote.expires_ns),
            )
        self.check_limits(client, quote.notional, limits, now)
        return quote, None

    def record_fill(self, quote_id: str, fill: Fill) -> None:
        """Mark the quote executed (once) and count its notional toward the client's day."""
        if quote_id in self._fills:
            raise ValueError(f"quote {quote_id} already executed")
        quote = self._quotes[quote_id]
        self._fills[quote_id] = fill
        key = (quote.client, fill.ts_ns // NS_PER_DAY)
        self._used[key] = self._used.get(key, Decimal(0)) + quote.notional

    def prune(self, now: int) -> int:
        """Forget quotes (and fills) expired more than `keep_expired_s` ago; returns how many."""
        old = [q for q, quote in self._quotes.items() if now - quote.expires_ns > self._keep_ns]
        for quote_id in old:
            del self._quotes[quote_id]
            self._fills.pop(quote_id, None)
        today = now // NS_PER_DAY
        for key in [k for k in self._used if k[1] < today]:
            del self._used[key]
        return len(old)
