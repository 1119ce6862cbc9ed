"""What the broker writes and answers about a trade: JSON for the client, Parquet rows.

Rows hold only text that encodes to UTF-8 (`parquet_safe`): a lone surrogate
that reached a row made the broker's Parquet flush raise on every later try
and killed its refresh loop (issue 11, case 3). Requests are refused before
such text gets this far (engine/broker/requests.py); this is the second line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine import quote_records
from engine.broker.errors import RfqError
from engine.broker.quotes import FirmQuote
from engine.types import Fill

MAX_ROW_TEXT_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class DeskError:
    """Something that failed inside the broker (not a refused request)."""

    ts_ns: int
    where: str  # refresh | balances | flush <table> | append <table> | delivery | loop | restart
    kind: str  # the exception's type (or "crashed")
    message: str  # for the operator (status over Ray), never sent over HTTP

    def public(self) -> str:
        """What `/rfq/health` shows anyone: when, where and what kind, no message."""
        at = datetime.fromtimestamp(self.ts_ns / 1e9, UTC).isoformat(timespec="seconds")
        return f"{at} {self.where}: {self.kind}"


def safe_text(text: str) -> str:
    """`text` with anything UTF-8 cannot encode escaped (`\\ud800`), cut to a bounded length."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:MAX_ROW_TEXT_CHARS]


def parquet_safe(row: dict[str, Any]) -> dict[str, Any]:
    """The row with every string made safe to encode (in place; returned for chaining)."""
    for key, value in row.items():
        if isinstance(value, str):
            row[key] = safe_text(value)
    return row


def fill_json(fill: Fill) -> dict[str, Any]:
    """The fill as the accepting client sees it."""
    return {
        "fill_id": fill.fill_id,
        "quote_id": fill.order_id,
        "ts_ns": fill.ts_ns,
        "account": fill.venue,
        "symbol": fill.market,
        "broker_side": fill.side.value,
        "price": str(fill.price),
        "size": str(fill.amount),
        "notional": str(fill.quote_amount),
    }


def fill_row(fill: Fill, quote: FirmQuote, seen_ns: int) -> dict[str, Any]:
    """The same `fills` row a MarketActor writes, priced against the quote's mid."""
    return parquet_safe(quote_records.fill_row(fill, quote.mid_price, seen_ns))


def rfq_row(
    now: int,
    *,
    broker: str,
    symbol: str,
    event: str,
    quote: FirmQuote | None,
    error: RfqError | None,
    quote_id: str | None,
    client: str | None,
) -> dict[str, Any]:
    """One `rfq_quotes` row: what the desk was asked, answered and executed."""
    row: dict[str, Any] = {
        "ts": now,
        "market": symbol,
        "broker": broker,
        "event": event,
        "quote_id": quote_id,
        "client": client,
        "reason": None if error is None else f"{error.code}: {error.message}",
    }
    if quote is not None:
        row.update(
            quote_id=quote.quote_id,
            client=quote.client,
            side=quote.side.value,
            size=float(quote.size),
            price=float(quote.price),
            mid_price=quote.mid_price,
            walked_price=quote.walked_price,
            deviation_bps=quote.deviation_bps,
            expires_ts=quote.expires_ns,
        )
    return parquet_safe(row)
