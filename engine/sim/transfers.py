"""Deposits and withdrawals between simulated venues, arriving after a configurable delay.

A withdrawal leaves the source account at once (free balance, exact
`Decimal`), travels for the source venue's `transfer_delay_s`, and is credited
to the account that owns the destination address when `settle` runs at or
after its arrival time. While it travels it is visible both as the source's
withdrawal (status PROCESSING) and the destination's deposit (status PENDING),
and in `in_transit`; nothing is ever credited twice or lost: at any moment,
balances plus in-transit amounts equal what the accounts started with.

Deposit addresses are `sim:<venue>:<account number>:<coin>`; the account
number counts the accounts of a venue in the order they asked for an address,
so no address carries anything derived from an API key.

Pure: every call takes the time `ts_ns`; no clock, no I/O. The HTTP dialects
serve it (Binance: `/sapi/v1/capital/...`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from engine.sim.exchange import InvalidRequest, MissingParameter

_ZERO = Decimal(0)


class Wallet(Protocol):
    """What a venue must offer to send and receive transfers."""

    def credit(self, account: str, asset: str, amount: Decimal) -> None: ...

    def debit(self, account: str, asset: str, amount: Decimal) -> None: ...


class TransferStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    COMPLETED = "completed"


class UnknownAddress(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("Withdrawal address is not a venue-sim deposit address.")


class DuplicateWithdrawal(InvalidRequest):
    def __init__(self, withdraw_order_id: str) -> None:
        self.withdraw_order_id = withdraw_order_id
        super().__init__("Duplicate withdrawOrderId.")


@dataclass(slots=True)
class Transfer:
    """One withdrawal from a source account that is also a deposit into a destination."""

    transfer_id: str
    coin: str
    amount: Decimal
    source_venue: str
    source_account: str = field(repr=False)
    dest_venue: str
    dest_account: str = field(repr=False)
    address: str
    created_ns: int
    arrive_ns: int
    withdraw_order_id: str | None = None
    completed_ns: int | None = None

    @property
    def status(self) -> TransferStatus:
        return TransferStatus.IN_TRANSIT if self.completed_ns is None else TransferStatus.COMPLETED

    @property
    def tx_id(self) -> str:
        return f"simtx-{self.transfer_id}"


class TransferDesk:
    """Moves coins between the wallets of simulated venues with each source venue's delay."""

    def __init__(self, wallets: Mapping[str, Wallet], delays_s: Mapping[str, float]) -> None:
        missing = sorted(set(wallets) - set(delays_s))
        if missing:
            raise ValueError(f"transfer desk: no transfer delay for venues {', '.join(missing)}")
        self._wallets = dict(wallets)
        self._delay_ns = {v: round(s * 1e9) for v, s in delays_s.items()}
        self._account_numbers: dict[str, dict[str, int]] = {v: {} for v in wallets}
        self._owners: dict[str, tuple[str, str]] = {}  # address -> (venue, account)
        self._transfers: list[Transfer] = []
        self._by_client_id: dict[tuple[str, str, str], Transfer] = {}
        self._due: list[tuple[int, int]] = []  # (arrive_ns, index) heap of transfers in transit

    def __repr__(self) -> str:
        return f"TransferDesk(venues={sorted(self._wallets)}, transfers={len(self._transfers)})"

    @property
    def venues(self) -> list[str]:
        return list(self._wallets)

    def deposit_address(self, venue_id: str, account: str, coin: str) -> str:
        """The address that credits `coin` sent to it into `account` on `venue_id`."""
        numbers = self._numbers(venue_id)
        if not coin:
            raise MissingParameter("coin")
        number = numbers.setdefault(account, len(numbers) + 1)
        address = f"sim:{venue_id}:{number}:{coin.upper()}"
        self._owners[address] = (venue_id, account)
        return address

    def withdraw(
        self,
        venue_id: str,
        account: str,
        coin: str,
        amount: Decimal,
        address: str,
        ts_ns: int,
        *,
        withdraw_order_id: str | None = None,
    ) -> Transfer:
        """Debit the source now; the destination is credited `transfer_delay_s` later."""
        self._numbers(venue_id)
        self.settle(ts_ns)
        if amount <= 0:
            raise InvalidRequest(f"withdrawal amount {amount} must be positive")
        owner = self._owners.get(address)
        if owner is None or not address.endswith(f":{coin.upper()}"):
            raise UnknownAddress()
        key = (venue_id, account, withdraw_order_id or "")
        if withdraw_order_id and key in self._by_client_id:
            raise DuplicateWithdrawal(withdraw_order_id)
        self._wallets[venue_id].debit(account, coin.upper(), amount)
        transfer = Transfer(
            transfer_id=f"{len(self._transfers) + 1:08d}",
            coin=coin.upper(),
            amount=amount,
            source_venue=venue_id,
            source_account=account,
            dest_venue=owner[0],
            dest_account=owner[1],
            address=address,
            created_ns=ts_ns,
            arrive_ns=ts_ns + self._delay_ns[venue_id],
            withdraw_order_id=withdraw_order_id,
        )
        self._transfers.append(transfer)
        if withdraw_order_id:
            self._by_client_id[key] = transfer
        heapq.heappush(self._due, (transfer.arrive_ns, len(self._transfers) - 1))
        self.settle(ts_ns)  # a zero delay arrives at once
        return transfer

    def settle(self, ts_ns: int) -> list[Transfer]:
        """Credit every transfer that has arrived by `ts_ns`; return those just credited."""
        done = []
        while self._due and self._due[0][0] <= ts_ns:
            _, index = heapq.heappop(self._due)
            transfer = self._transfers[index]
            self._wallets[transfer.dest_venue].credit(
                transfer.dest_account, transfer.coin, transfer.amount
            )
            transfer.completed_ns = transfer.arrive_ns
            done.append(transfer)
        return done

    def withdrawals(self, venue_id: str, account: str) -> list[Transfer]:
        """Withdrawals of `account` from `venue_id`, oldest first."""
        return [
            t for t in self._transfers if t.source_venue == venue_id and t.source_account == account
        ]

    def deposits(self, venue_id: str, account: str) -> list[Transfer]:
        """Deposits into `account` on `venue_id` (in transit ones too), oldest first."""
        return [
            t for t in self._transfers if t.dest_venue == venue_id and t.dest_account == account
        ]

    def in_transit(self, venue_id: str | None = None) -> dict[str, Decimal]:
        """Amount per coin travelling (towards `venue_id` if given)."""
        out: dict[str, Decimal] = {}
        for t in self._pending(venue_id):
            out[t.coin] = out.get(t.coin, _ZERO) + t.amount
        return out

    def _pending(self, venue_id: str | None) -> Iterable[Transfer]:
        return (
            t
            for t in self._transfers
            if t.completed_ns is None and (venue_id is None or t.dest_venue == venue_id)
        )

    def _numbers(self, venue_id: str) -> dict[str, int]:
        numbers = self._account_numbers.get(venue_id)
        if numbers is None:
            raise InvalidRequest(f"venue-sim has no wallet for venue {venue_id!r}")
        return numbers
