"""HollaEx Kit v2 user endpoints beyond balance and trades (https://apidocs.hollaex.com/
#get-user, #get-deposits, #get-withdrawals): `/v2/user`, `/v2/user/deposits`,
`/v2/user/withdrawals`.

Deposits and withdrawals are the transfers between simulated venues the
`TransferDesk` carries; without a desk both lists are empty. A transfer still
travelling is `processing`, an arrived one `status: true`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.sim.hollaex_wire import HollaExRequest, Route, iso, num, page, since
from engine.sim.home_exchange import HomeExchange
from engine.sim.transfers import Transfer, TransferDesk

BalanceJson = Callable[[str, int], dict[str, Any]]


class HollaExUser:
    """The account endpoints of the home venue."""

    def __init__(
        self, exchange: HomeExchange, transfers: TransferDesk | None, balance: BalanceJson
    ) -> None:
        """`balance(account, ts_ns)` is `/v2/user/balance`'s answer, embedded in `/v2/user`."""
        self._exchange = exchange
        self._transfers = transfers
        self._balance = balance

    def routes(self) -> list[Route]:
        return [
            ("GET", "/v2/user", self._user, True),
            ("GET", "/v2/user/deposits", self._deposits, True),
            ("GET", "/v2/user/withdrawals", self._withdrawals, True),
        ]

    async def _user(self, req: HollaExRequest) -> dict[str, Any]:
        number = self._exchange.account_number(req.account)
        return {
            "id": number,
            "email": f"user{number}@{self._exchange.venue_id}.sim",
            "username": f"user{number}",
            "full_name": "",
            "verification_level": 1,
            "email_verified": True,
            "otp_enabled": False,
            "activated": True,
            "crypto_wallet": {},
            "bank_account": [],
            "settings": {},
            "network_id": number,
            "created_at": iso(0),
            "updated_at": iso(req.ts_ns),
            "balance": self._balance(req.account, req.ts_ns),
        }

    def _listing(self, req: HollaExRequest, transfers: list[Transfer], kind: str) -> dict:
        p = req.params
        if p.get("currency"):
            transfers = [t for t in transfers if t.coin.lower() == str(p["currency"]).lower()]
        transfers = since(transfers, p.get("start_date"), lambda t: t.created_ns)
        number = self._exchange.account_number(req.account)
        return {
            "count": len(transfers),
            "data": [_transfer_json(t, kind, number, req.ts_ns) for t in page(transfers, p)],
        }

    async def _deposits(self, req: HollaExRequest) -> dict[str, Any]:
        desk = self._transfers
        found = desk.deposits(self._exchange.venue_id, req.account) if desk else []
        return self._listing(req, found, "deposit")

    async def _withdrawals(self, req: HollaExRequest) -> dict[str, Any]:
        desk = self._transfers
        found = desk.withdrawals(self._exchange.venue_id, req.account) if desk else []
        return self._listing(req, found, "withdrawal")


def _transfer_json(t: Transfer, kind: str, user_id: int, now_ns: int) -> dict[str, Any]:
    done = t.completed_ns is not None and t.completed_ns <= now_ns
    return {
        "id": t.transfer_id,
        "amount": num(t.amount),
        "fee": num(Decimal(0)),
        "address": t.address,
        "transaction_id": t.tx_id,
        "status": done,
        "dismissed": False,
        "rejected": False,
        "processing": not done,
        "waiting": False,
        "description": "",
        "type": kind,
        "currency": t.coin.lower(),
        "created_at": iso(t.created_ns),
        "updated_at": iso(t.completed_ns if done and t.completed_ns is not None else t.created_ns),
        "user_id": user_id,
    }
