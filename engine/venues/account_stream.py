"""A hedge venue's balances pushed over its user data stream (ccxt.pro, unmodified).

Polling `fetch_balance` every couple of seconds cost a Binance key weight 20
each time, about a tenth of its budget on its own, and still left the router
seconds behind the account. Binance pushes `outboundAccountPosition` (free and
locked of every asset an order event moved) on the user data stream, which
`watch_balance` reads; `AccountStream` feeds each push to the venue's
`AccountBook` (`engine.venues.balance_cache`).

`epoch` counts the connections the stream subscribed on; the venue actor reads
the balances over REST once whenever it moves (the first subscription, every
reconnect), so nothing pushed while the stream was down is missed, and
otherwise only every `balance_reconcile_s`. Any error: down, back off with
equal jitter, a fresh client subscribes again. `status()` says whether it is
up, why not and since when.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from engine.venues.ccxt_client import backoff_s
from engine.venues.errors import describe
from engine.venues.stream_health import StreamHealth
from engine.venues.streams import new_connections, watch_registered

log = logging.getLogger(__name__)

CHECK_S = 0.25  # how often a quiet stream's connection is looked at


class AccountStream(StreamHealth):
    """Pushed balances of one venue account, from one ccxt.pro client."""

    def __init__(
        self,
        venue_id: str,
        make_client: Callable[[], Any],
        on_push: Callable[[Mapping[str, Decimal], int], None],
        *,
        clock_ns: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
    ) -> None:
        """`on_push(totals, event_ns)` gets every push: totals of the assets it moved."""
        super().__init__(venue_id, "account stream", clock_ns)
        self._make_client = make_client
        self._on_push = on_push
        self._rng = rng or random.Random()
        self.pushes = 0
        self._client: Any = None
        self._markets: tuple[Any, Any] | None = None

    def __repr__(self) -> str:
        return f"AccountStream(venue={self.venue_id!r}, state={self.state.value})"

    def use_markets(self, markets: Any, currencies: Any) -> None:
        """Markets the venue's REST client loaded: a new connection need not load them."""
        self._markets = (markets, currencies)

    def status(self) -> dict[str, Any]:
        return {**super().status(), "pushes": self.pushes}

    async def run(self) -> None:
        """Stream until cancelled."""
        attempt = 0
        while True:
            try:
                await self._connection()
            except asyncio.CancelledError:
                await self.close()
                raise
            except Exception as exc:  # disconnect, expired key, venue error: reconnect
                if self.up:  # a connection that worked: the backoff starts over
                    attempt = 0
                self.mark_down(describe(exc))
                await self.close()
                await asyncio.sleep(backoff_s(attempt, self._rng, base_s=0.05, cap_s=5.0))
                attempt += 1
                self.reconnects += 1

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()

    async def _connection(self) -> None:
        client = self._client = self._make_client()
        if self._markets is not None:
            client.set_markets(*self._markets)
        watch = asyncio.ensure_future(client.watch_balance())
        slot: tuple[dict[str, Any], str | None] | None = None  # where ccxt keeps it
        taken: Any = None
        try:
            while True:
                done, _ = await asyncio.wait({watch}, timeout=CHECK_S)
                if done:
                    answered = watch.result()
                    watch = await watch_registered(client.watch_balance)
                    slot = _cached_slot(client, answered) or slot
                    taken = answered
                    self._take(answered)
                # a push ccxt handled before that watch is in its cache, not in an answer
                newest = _newest(slot)
                if newest is not None and newest is not taken:
                    taken = newest
                    self._take(newest)
                if new_connections(client):  # subscribed on a new connection: a new epoch
                    self.epoch += 1
                    self.mark_up()
        finally:
            watch.cancel()
            with contextlib.suppress(BaseException):
                await watch

    def _take(self, balance: Mapping[str, Any]) -> None:
        """The assets whose figures moved since the last look (ccxt keeps every asset it
        was ever pushed, each with the event time that set it)."""
        event_ms = balance.get("timestamp")
        if not event_ms:
            return
        event_ns = int(event_ms) * 1_000_000
        totals: dict[str, Decimal] = {}
        for asset, account in balance.items():
            if not isinstance(account, dict) or asset in ("info", "free", "used", "total"):
                continue
            free, used = account.get("free"), account.get("used")
            if free is None:
                continue
            total = Decimal(str(free)) + Decimal(str(used or 0))
            totals[asset] = total
        self.pushes += 1
        self.mark_up()
        self._on_push(totals, event_ns)


def _cached_slot(
    client: Any, answered: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None] | None:
    """Where ccxt.pro keeps the balance `answered` came from: one balance per account
    type (`client.balance[type]`, replaced by each push; the type is returned) or the
    balance itself (None). None when that cannot be told."""
    cache = getattr(client, "balance", None)
    if not isinstance(cache, dict):
        return None
    if cache is answered:
        return cache, None
    key = next((k for k, b in cache.items() if b is answered), None)
    if key is None:  # replaced already: the one account type ccxt holds a balance of
        held = [k for k, b in cache.items() if isinstance(b, dict) and b.get("timestamp")]
        key = held[0] if len(held) == 1 else None
    return (cache, key) if key is not None else None


def _newest(slot: tuple[dict[str, Any], str | None] | None) -> Mapping[str, Any] | None:
    if slot is None:
        return None
    cache, key = slot
    return cache if key is None else cache.get(key)
