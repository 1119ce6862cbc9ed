"""Inventory reserved by accepted quotes until the ledger's balances include them.

An accept reads the inventory account's balance from the ledger (an awaited
call), checks that the trade fits, and sends the fill to the ledger (another
awaited call). While it waits, other accepts run: each read the same balance
and all passed (issue 11: seven concurrent accepts of 2 BTC against 10 BTC all
executed and the wallet went negative). So the check subtracts what other
accepts have reserved, and check-and-reserve is one step with no await in it
(atomic on the actor's event loop).

A reservation counts until a balance read that *started after* the ledger
booked the fill, since such a read includes it. Each read takes a ticket from
a counter (`begin_read`); `settle` stamps the counter's value when the ledger
has booked the fill, and a read with a higher ticket no longer counts it. A
fill the ledger never confirmed stays reserved: refusing too much, never
overselling. Pure state, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.broker.errors import InsufficientInventory


@dataclass(slots=True)
class _Reservation:
    asset: str
    amount: Decimal
    settled_at: int | None = None  # the ticket counter when the ledger booked it


class InventoryReservations:
    def __init__(self) -> None:
        self._ticket = 0
        self._open_reads: set[int] = set()
        self._held: dict[str, _Reservation] = {}

    def __len__(self) -> int:
        return len(self._held)

    def begin_read(self) -> int:
        """A ticket for a balance read about to be sent; `reserve` or `end_read` closes it."""
        self._ticket += 1
        self._open_reads.add(self._ticket)
        return self._ticket

    def end_read(self, ticket: int) -> None:
        self._open_reads.discard(ticket)
        self._prune()

    def reserved(self, asset: str, ticket: int) -> Decimal:
        """What a balance read with `ticket` does not yet show as gone."""
        return sum(
            (
                r.amount
                for r in self._held.values()
                if r.asset == asset and (r.settled_at is None or r.settled_at >= ticket)
            ),
            Decimal(0),
        )

    def reserve(self, key: str, asset: str, amount: Decimal, held: Decimal, ticket: int) -> None:
        """Reserve `amount` of `asset` for `key` against `held` (read with `ticket`), or
        raise `InsufficientInventory`. Closes the read either way."""
        try:
            if key in self._held:
                raise ValueError(f"{key} is already reserved")
            available = held - self.reserved(asset, ticket)
            if available < amount:
                exc = InsufficientInventory(
                    f"the inventory account cannot deliver {amount} {asset} now; "
                    "request a smaller size or try later",
                    asset=asset,
                    needed=str(amount),
                )
                exc.detail = f"held {held}, reserved by other accepts {held - available}"
                raise exc
            self._held[key] = _Reservation(asset, amount)
        finally:
            self.end_read(ticket)

    def release(self, key: str) -> None:
        """The trade did not happen: give the amount back."""
        self._held.pop(key, None)

    def settle(self, key: str) -> None:
        """The ledger has booked the trade: reads from now on include it."""
        reservation = self._held.get(key)
        if reservation is not None:
            reservation.settled_at = self._ticket
        self._prune()

    def _prune(self) -> None:
        oldest_open = min(self._open_reads, default=self._ticket + 1)
        done = [
            k
            for k, r in self._held.items()
            if r.settled_at is not None and r.settled_at < oldest_open
        ]
        for key in done:
            del self._held[key]
