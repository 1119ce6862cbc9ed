"""Moving funds between venues through a ccxt client: deposit address, withdraw, track.

Idempotent like orders: every withdrawal carries our transfer id as the
venue's client withdrawal id (`withdrawOrderId` on Binance), so after a
timeout or a crash the withdrawal is looked up by that id before anything
is resent, and a duplicate id means "already sent".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from engine.venues.errors import InvalidOrder, UnknownOutcome, VenueRetryable, classify

TRANSFER_STEP = Decimal("0.00000001")  # what every venue's wallet accepts


def transfer_amount(amount: Decimal) -> Decimal:
    """Round a planned amount down onto the wallet grid (never send more than planned)."""
    return (amount / TRANSFER_STEP).to_integral_value(rounding=ROUND_FLOOR) * TRANSFER_STEP


@dataclass(frozen=True, slots=True)
class WithdrawalState:
    status: str  # "sent", "rejected", "unknown", "not_found"
    amount: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    txid: str = ""
    reason: str = ""


async def deposit_address(client: Any, venue: str, asset: str) -> str:
    try:
        resp = await client.fetch_deposit_address(asset)
    except Exception as exc:
        raise classify(exc, venue, f"fetch_deposit_address {asset}") from None
    return str(resp["address"])


async def withdraw(
    client: Any, venue: str, asset: str, amount: Decimal, address: str, transfer_id: str
) -> WithdrawalState:
    """Send a withdrawal once; on an unknown outcome or duplicate id, look it up."""
    try:
        await client.withdraw(asset, float(amount), address, {"withdrawOrderId": transfer_id})
    except Exception as exc:
        err = classify(exc, venue, f"withdraw {asset}", sent=True)
        duplicate = isinstance(err, InvalidOrder) and "uplicate" in err.detail
        if not (duplicate or isinstance(err, UnknownOutcome | VenueRetryable)):
            return WithdrawalState("rejected", reason=str(err))
        found = await find_withdrawal(client, venue, asset, transfer_id)
        if found.status != "not_found":
            return found
        if isinstance(err, VenueRetryable) and not isinstance(err, UnknownOutcome):
            return WithdrawalState("rejected", reason=f"not sent: {err}")
        return WithdrawalState("unknown", reason=str(err))
    return await find_withdrawal(client, venue, asset, transfer_id)


async def find_withdrawal(client: Any, venue: str, asset: str, transfer_id: str) -> WithdrawalState:
    import ccxt  # loaded already where a client calls; the rebalancer only reads the types

    try:
        rows = await client.fetch_withdrawals(asset, params={"withdrawOrderId": transfer_id})
    except ccxt.BaseError as exc:
        return WithdrawalState("unknown", reason=str(classify(exc, venue, "fetch_withdrawals")))
    mine = [
        r for r in rows if (r.get("info") or {}).get("withdrawOrderId", transfer_id) == transfer_id
    ]
    if not mine:
        return WithdrawalState("not_found")
    row = mine[-1]
    info = row.get("info") or {}
    fee = (row.get("fee") or {}).get("cost")
    return WithdrawalState(
        "sent",
        amount=Decimal(str(info.get("amount", row.get("amount") or 0))),
        fee=Decimal(str(info.get("transactionFee", fee or 0))),
        txid=str(row.get("txid") or info.get("txId") or ""),
    )


async def deposit_credited(client: Any, venue: str, asset: str, txid: str) -> bool:
    """True once the deposit with `txid` is credited (ccxt status `ok`)."""
    import ccxt

    try:
        rows = await client.fetch_deposits(asset)
    except ccxt.BaseError as exc:
        raise classify(exc, venue, "fetch_deposits") from None
    return any(r.get("txid") == txid and r.get("status") == "ok" for r in rows)
