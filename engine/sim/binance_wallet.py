"""Binance's wallet endpoints (`/sapi/v1/capital/...`): transfers between simulated venues.

Split out of `engine/sim/binance_http.py` (issue 12). A `TransferDesk` moves the funds;
this module speaks Binance's shapes and status codes for it.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from engine.sim.binance_wire import (
    BinanceRequest,
    Handler,
    WeightRule,
    decimal_param,
    fixed,
    int_param,
    ms,
    wire_decimal,
)
from engine.sim.exchange import MissingParameter
from engine.sim.transfers import Transfer, TransferDesk

Route = tuple[str, str, Handler, WeightRule, bool]


class BinanceWallet:
    """Deposit address, withdraw, withdrawal and deposit history of one venue's accounts."""

    def __init__(self, venue_id: str, desk: TransferDesk) -> None:
        self._venue_id = venue_id
        self._desk = desk

    def routes(self) -> list[Route]:
        """(method, path, handler, weight, signed), weights as Binance documents them."""
        return [
            ("GET", "/sapi/v1/capital/deposit/address", self._deposit_address, fixed(10), True),
            ("POST", "/sapi/v1/capital/withdraw/apply", self._withdraw, fixed(10), True),
            ("GET", "/sapi/v1/capital/withdraw/history", self._withdrawals, fixed(10), True),
            ("GET", "/sapi/v1/capital/deposit/hisrec", self._deposits, fixed(10), True),
        ]

    async def _deposit_address(self, req: BinanceRequest) -> dict[str, Any]:
        coin = req.params.get("coin") or ""
        if not coin:
            raise MissingParameter("coin")
        address = self._desk.deposit_address(self._venue_id, req.account, coin)
        return {"address": address, "coin": coin.upper(), "tag": "", "url": ""}

    async def _withdraw(self, req: BinanceRequest) -> dict[str, Any]:
        p = req.params
        for name in ("coin", "address", "amount"):
            if not p.get(name):
                raise MissingParameter(name)
        amount = decimal_param(p, "amount")
        assert amount is not None
        transfer = self._desk.withdraw(
            self._venue_id,
            req.account,
            p["coin"],
            amount,
            p["address"],
            req.ts_ns,
            withdraw_order_id=p.get("withdrawOrderId") or None,
        )
        return {"id": transfer.transfer_id}

    async def _withdrawals(self, req: BinanceRequest) -> list[dict[str, Any]]:
        p = req.params
        transfers = _in_window(self._desk.withdrawals(self._venue_id, req.account), p, req.ts_ns)
        if p.get("withdrawOrderId"):
            transfers = [t for t in transfers if t.withdraw_order_id == p["withdrawOrderId"]]
        return [_withdrawal_json(t, req.ts_ns) for t in transfers]

    async def _deposits(self, req: BinanceRequest) -> list[dict[str, Any]]:
        transfers = _in_window(
            self._desk.deposits(self._venue_id, req.account), req.params, req.ts_ns
        )
        return [_deposit_json(t, req.ts_ns) for t in transfers]


# Binance's wallet status codes: withdrawals 4 PROCESSING / 6 COMPLETED, deposits 0 PENDING /
# 1 SUCCESS (https://developers.binance.com/docs/wallet/capital/withdraw-history).
_WITHDRAW_PROCESSING, _WITHDRAW_COMPLETED = 4, 6
_DEPOSIT_PENDING, _DEPOSIT_SUCCESS = 0, 1


def _in_window(transfers: list[Transfer], p: dict[str, str], now_ns: int) -> list[Transfer]:
    """Binance's history filters: coin, startTime/endTime (ms), status, limit."""
    if p.get("coin"):
        transfers = [t for t in transfers if t.coin == p["coin"].upper()]
    start_ms = int_param(p, "startTime", 0)
    end_ms = int_param(p, "endTime", ms(now_ns))
    transfers = [t for t in transfers if start_ms <= ms(t.created_ns) <= end_ms]
    return transfers[-max(1, min(int_param(p, "limit", 1_000), 1_000)) :]


def _utc(ts_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts_ns // 1_000_000_000))


def _withdrawal_json(t: Transfer, now_ns: int) -> dict[str, Any]:
    done = t.completed_ns is not None and t.completed_ns <= now_ns
    out: dict[str, Any] = {
        "id": t.transfer_id,
        "amount": wire_decimal(t.amount),
        "transactionFee": wire_decimal(Decimal(0)),
        "coin": t.coin,
        "status": _WITHDRAW_COMPLETED if done else _WITHDRAW_PROCESSING,
        "address": t.address,
        "txId": t.tx_id,
        "applyTime": _utc(t.created_ns),
        "network": t.coin,
        "transferType": 0,
        "info": "",
        "confirmNo": 1 if done else 0,
        "walletType": 0,
        "txKey": "",
    }
    if t.withdraw_order_id:
        out["withdrawOrderId"] = t.withdraw_order_id
    if done and t.completed_ns is not None:
        out["completeTime"] = _utc(t.completed_ns)
    return out


def _deposit_json(t: Transfer, now_ns: int) -> dict[str, Any]:
    done = t.completed_ns is not None and t.completed_ns <= now_ns
    return {
        "id": t.transfer_id,
        "amount": wire_decimal(t.amount),
        "coin": t.coin,
        "network": t.coin,
        "status": _DEPOSIT_SUCCESS if done else _DEPOSIT_PENDING,
        "address": t.address,
        "addressTag": "",
        "txId": t.tx_id,
        "insertTime": ms(t.created_ns),
        "completeTime": ms(t.completed_ns) if done and t.completed_ns is not None else None,
        "transferType": 0,
        "confirmTimes": "1/1" if done else "0/1",
        "unlockConfirm": 0,
        "walletType": 0,
    }
