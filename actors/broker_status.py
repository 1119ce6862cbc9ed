"""What the broker desk reports about itself: `/rfq/health` for anyone, a client's own state.

Pure assembly from the actor's state, kept out of `actors.broker` so the
actor stays a thin shell and these rules (what a stranger may see) read alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.broker import QuoteBook
from engine.broker.records import DeskError
from engine.config import BrokerConfig
from engine.types import BookSnapshot

# the `rfq_quotes` events the status counts, and the counter each adds to
EVENT_COUNTERS = {"quoted": "quotes", "refused": "refused", "accept_rejected": "rejected_accepts"}


def public_health(
    broker: BrokerConfig,
    books: Mapping[str, Mapping[str, BookSnapshot]],
    errors: Iterable[DeskError],
    *,
    paused: bool,
    loop_running: bool,
    max_book_age_s: Callable[[], float],
    now: int,
) -> dict[str, Any]:
    """Whether the desk quotes now, and if not why: no counts, client names or inventory."""
    ts = [bk.ts_ns for venue_books in books.values() for bk in venue_books.values()]
    age_s = (now - max(ts)) / 1e9 if ts else None
    if paused:
        reason = "paused"
    elif not loop_running:
        reason = "refresh_stopped"
    elif age_s is None or age_s > max_book_age_s():
        reason = "stale_books"
    else:
        reason = ""
    return {
        "broker": broker.id,
        "symbol": broker.symbol,
        "quoting": not reason,
        "reason": reason,
        "newest_book_age_s": None if age_s is None else round(age_s, 3),
        "errors": [e.public() for e in list(errors)[-3:]],
    }


def client_state(broker: BrokerConfig, book: QuoteBook, client: str, now: int) -> dict[str, Any]:
    """The authenticated caller's own usage and limits."""
    limits = broker.limits_for(client)
    rate = broker.rate_limit_for(client)
    return {
        "client": client,
        "used_today_quote": str(book.used_today(client, now)),
        "max_notional_per_day_quote": limits.max_notional_per_day_quote,
        "max_notional_per_request_quote": limits.max_notional_per_request_quote,
        "rate_limit": {"per_s": rate.per_s, "burst": rate.burst},
    }
