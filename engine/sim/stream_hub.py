"""What a simulated venue's streams publish, as state: books with update ids, listen keys.

Pure (every method takes `ts_ns`; nothing here reads a clock or does I/O), so
the Binance and HollaEx websocket edges and the REST snapshot read one truth:

* `DepthFeed`: one symbol's book as last published and the id of its last
  update. Prices and amounts are any exact numbers: `Decimal`s, or the integer
  ticks and lots of the symbol's grid the Binance streams keep (`engine.sim.ladder`:
  an int diff and print cost a fraction of a `Decimal` one). Every change of one
  price level is one update id, so an event
  carries `U` (first id) .. `u` (last id) and a REST snapshot taken between
  two events has the `lastUpdateId` the next event continues from. That is
  exactly what Binance's "How to manage a local order book correctly" needs
  (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
  #how-to-manage-a-local-order-book-correctly): drop events with
  `u <= lastUpdateId`, the first kept has `U <= lastUpdateId + 1 <= u`, and
  each next `U` is the previous `u + 1`.
* `ListenKeys`: Binance's user-data listen keys: created per account, valid
  `ttl_s` (60 minutes) after the last keep-alive, then expired.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

Num = int | Decimal  # exact: a Decimal, or a count of grid steps
Level = tuple[Num, Num]  # (price, amount); amount 0 removes the level

LISTEN_KEY_TTL_S = 3_600.0  # Binance: a listen key expires 60 minutes after its keep-alive


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """One diff-depth event: levels whose amount changed, absolute amounts, 0 = gone."""

    symbol: str
    first_id: int
    last_id: int
    ts_ns: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class DepthFeed:
    """One symbol's published book and the id of its last update."""

    def __init__(self, symbol: str, first_id: int = 1) -> None:
        self.symbol = symbol
        self.last_id = first_id - 1
        self._bids: dict[Num, Num] = {}
        self._asks: dict[Num, Num] = {}

    def advance(
        self, bids: Iterable[Level], asks: Iterable[Level], ts_ns: int
    ) -> DepthUpdate | None:
        """Publish the book of now; the update taking the old one to it, None if unchanged."""
        bid_changes = _diff(self._bids, dict(bids))
        ask_changes = _diff(self._asks, dict(asks))
        changes = len(bid_changes) + len(ask_changes)
        if changes == 0:
            return None
        first = self.last_id + 1
        self.last_id += changes
        _apply(self._bids, bid_changes)
        _apply(self._asks, ask_changes)
        return DepthUpdate(
            self.symbol, first, self.last_id, ts_ns, tuple(bid_changes), tuple(ask_changes)
        )

    def levels(self, limit: int) -> tuple[list[Level], list[Level]]:
        """(bids best first, asks best first), at most `limit` a side."""
        bids = sorted(self._bids.items(), key=lambda lv: -lv[0])[:limit]
        asks = sorted(self._asks.items())[:limit]
        return bids, asks

    def top(self) -> tuple[Level | None, Level | None]:
        bids, asks = self.levels(1)
        return (bids[0] if bids else None), (asks[0] if asks else None)


def _diff(old: dict[Num, Num], new: dict[Num, Num]) -> list[Level]:
    out: list[Level] = [(p, a) for p, a in new.items() if old.get(p) != a]
    out += [(p, 0) for p in old if p not in new]
    return sorted(out)


def _apply(book: dict[Num, Num], changes: list[Level]) -> None:
    for price, amount in changes:
        if amount == 0:
            book.pop(price, None)
        else:
            book[price] = amount


@dataclass(slots=True)
class ListenKey:
    key: str
    account: str
    expires_ns: int


class ListenKeys:
    """Binance user-data listen keys: one per account, kept alive by PUT, else expired."""

    def __init__(self, ttl_s: float = LISTEN_KEY_TTL_S) -> None:
        self.ttl_ns = int(ttl_s * 1e9)
        self._keys: dict[str, ListenKey] = {}

    def __repr__(self) -> str:  # the keys are credentials of a kind: never shown
        return f"ListenKeys(active={len(self._keys)})"

    def create(self, account: str, ts_ns: int) -> str:
        """The account's active key (Binance returns the same one while it lives), renewed."""
        for lk in self._keys.values():
            if lk.account == account:
                lk.expires_ns = ts_ns + self.ttl_ns
                return lk.key
        key = secrets.token_urlsafe(48)[:60]
        self._keys[key] = ListenKey(key, account, ts_ns + self.ttl_ns)
        return key

    def keep_alive(self, key: str, account: str, ts_ns: int) -> bool:
        lk = self._keys.get(key)
        if lk is None or lk.account != account:
            return False
        lk.expires_ns = ts_ns + self.ttl_ns
        return True

    def close(self, key: str, account: str) -> bool:
        lk = self._keys.get(key)
        if lk is None or lk.account != account:
            return False
        del self._keys[key]
        return True

    def account_of(self, key: str) -> str | None:
        lk = self._keys.get(key)
        return lk.account if lk is not None else None

    def expire(self, key: str) -> None:
        """Expire `key` now (a fault: the venue drops it before its time)."""
        self._keys.pop(key, None)

    def expired(self, ts_ns: int) -> list[str]:
        """Remove and return every key past its time at `ts_ns`."""
        gone = [k for k, lk in self._keys.items() if lk.expires_ns <= ts_ns]
        for key in gone:
            del self._keys[key]
        return gone

    def active(self) -> list[str]:
        return list(self._keys)
