from decimal import Decimal

import pytest

from engine.sim.exchange import InsufficientBalance, InvalidRequest
from engine.sim.transfers import (
    DuplicateWithdrawal,
    TransferDesk,
    TransferStatus,
    UnknownAddress,
)

T0 = 1_700_000_000 * 10**9
S = 10**9


class Purse:
    """A wallet with exact balances per (account, asset)."""

    def __init__(self, **balances: str) -> None:
        self.free: dict[tuple[str, str], Decimal] = {
            ("acct", a): Decimal(v) for a, v in balances.items()
        }

    def credit(self, account: str, asset: str, amount: Decimal) -> None:
        key = (account, asset)
        self.free[key] = self.free.get(key, Decimal(0)) + amount

    def debit(self, account: str, asset: str, amount: Decimal) -> None:
        key = (account, asset)
        have = self.free.get(key, Decimal(0))
        if amount > have:
            raise InsufficientBalance(asset, amount, have)
        self.free[key] = have - amount

    def get(self, asset: str, account: str = "acct") -> Decimal:
        return self.free.get((account, asset), Decimal(0))


def desk(delay_a: float = 30.0, delay_b: float = 5.0) -> tuple[TransferDesk, Purse, Purse]:
    a, b = Purse(BTC="2", USDT="1000"), Purse(BTC="1")
    return TransferDesk({"a": a, "b": b}, {"a": delay_a, "b": delay_b}), a, b


def test_a_withdrawal_leaves_at_once_travels_and_arrives_exactly_once():
    d, a, b = desk()
    address = d.deposit_address("b", "acct", "btc")
    t = d.withdraw("a", "acct", "BTC", Decimal("0.12345678"), address, T0)
    assert a.get("BTC") == Decimal("1.87654322") and b.get("BTC") == Decimal(1)
    assert t.status is TransferStatus.IN_TRANSIT and t.arrive_ns == T0 + 30 * S
    assert d.in_transit() == {"BTC": Decimal("0.12345678")}
    assert d.in_transit("b") == {"BTC": Decimal("0.12345678")} and d.in_transit("a") == {}
    assert d.settle(T0 + 30 * S - 1) == []
    assert d.settle(T0 + 30 * S) == [t] and d.settle(T0 + 60 * S) == []
    assert b.get("BTC") == Decimal("1.12345678") and d.in_transit() == {}
    assert t.status is TransferStatus.COMPLETED and t.completed_ns == T0 + 30 * S
    assert a.get("BTC") + b.get("BTC") == Decimal(3)  # nothing created, nothing lost


def test_each_source_venue_has_its_own_delay_and_history_views():
    d, a, b = desk(delay_a=30, delay_b=5)
    to_a = d.deposit_address("a", "acct", "BTC")
    to_b = d.deposit_address("b", "acct", "BTC")
    ab = d.withdraw("a", "acct", "BTC", Decimal("0.5"), to_b, T0, withdraw_order_id="w1")
    ba = d.withdraw("b", "acct", "BTC", Decimal("0.25"), to_a, T0)
    assert ba.arrive_ns == T0 + 5 * S < ab.arrive_ns
    d.settle(T0 + 10 * S)
    assert a.get("BTC") == Decimal("1.75") and b.get("BTC") == Decimal("0.75")
    assert d.withdrawals("a", "acct") == [ab] and d.deposits("a", "acct") == [ba]
    assert d.deposits("b", "acct") == [ab] and ab.status is TransferStatus.IN_TRANSIT


def test_addresses_carry_no_key_and_route_to_their_own_account():
    d, _, b = desk()
    secretish = "api-key-0123456789"
    address = d.deposit_address("b", secretish, "BTC")
    assert secretish not in address and address == "sim:b:1:BTC"
    assert d.deposit_address("b", "other", "BTC") == "sim:b:2:BTC"
    assert d.deposit_address("b", secretish, "BTC") == address
    d.withdraw("a", "acct", "BTC", Decimal("1"), address, T0)
    d.settle(T0 + 30 * S)
    assert b.get("BTC", secretish) == Decimal(1) and b.get("BTC") == Decimal(1)
    assert secretish not in repr(d) and secretish not in repr(d.deposits("b", secretish))


def test_zero_delay_arrives_at_once():
    d, _, b = desk(delay_a=0)
    d.withdraw("a", "acct", "BTC", Decimal("1"), d.deposit_address("b", "acct", "BTC"), T0)
    assert b.get("BTC") == Decimal(2) and d.in_transit() == {}


def test_bad_withdrawals_are_refused_and_move_nothing():
    d, a, _ = desk()
    to_b = d.deposit_address("b", "acct", "BTC")
    with pytest.raises(InsufficientBalance):
        d.withdraw("a", "acct", "BTC", Decimal("2.00000001"), to_b, T0)
    with pytest.raises(UnknownAddress):
        d.withdraw("a", "acct", "BTC", Decimal("1"), "bc1qsomewhereelse", T0)
    with pytest.raises(UnknownAddress):  # a BTC address does not take USDT
        d.withdraw("a", "acct", "USDT", Decimal("1"), to_b, T0)
    with pytest.raises(InvalidRequest):
        d.withdraw("a", "acct", "BTC", Decimal("0"), to_b, T0)
    with pytest.raises(InvalidRequest, match="no wallet"):
        d.withdraw("zz", "acct", "BTC", Decimal("1"), to_b, T0)
    d.withdraw("a", "acct", "BTC", Decimal("1"), to_b, T0, withdraw_order_id="once")
    with pytest.raises(DuplicateWithdrawal):
        d.withdraw("a", "acct", "BTC", Decimal("0.5"), to_b, T0, withdraw_order_id="once")
    assert a.get("BTC") == Decimal(1) and d.in_transit() == {"BTC": Decimal(1)}


def test_every_venue_needs_a_delay():
    with pytest.raises(ValueError, match="no transfer delay for venues b"):
        TransferDesk({"a": Purse(), "b": Purse()}, {"a": 1.0})
