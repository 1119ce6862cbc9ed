"""engine/broker/reservations.py: concurrent accepts never deliver more than the account holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.broker import InsufficientInventory, InventoryReservations

TWO = Decimal(2)


def test_seven_concurrent_accepts_of_two_btc_against_ten_five_pass():
    """Issue 11, case 4: every accept read the ledger's 10 BTC before any fill was booked,
    so all seven passed. With reservations, the same interleaving lets five through."""
    book = InventoryReservations()
    tickets = [book.begin_read() for _ in range(7)]  # all seven reads sent first
    passed, refused = [], []
    for i, ticket in enumerate(tickets):  # every read answers 10 BTC (nothing booked yet)
        try:
            book.reserve(f"q{i}", "BTC", TWO, Decimal(10), ticket)
            passed.append(i)
        except InsufficientInventory as exc:
            refused.append(exc)
    assert len(passed) == 5 and len(refused) == 2
    assert refused[0].status == 409 and refused[0].fields == {"asset": "BTC", "needed": "2"}
    assert "cannot deliver 2 BTC" in refused[0].message
    assert "held" not in refused[0].as_json()  # the desk's holdings are not the client's business
    assert "held 10" in refused[0].detail  # but the operator's log says why


def test_a_settled_reservation_counts_for_reads_sent_before_the_ledger_booked_it():
    book = InventoryReservations()
    book.reserve("q1", "BTC", TWO, Decimal(10), book.begin_read())
    early = book.begin_read()  # sent before the ledger booked q1: shows 10
    book.settle("q1")
    late = book.begin_read()  # sent after: shows 8, q1 no longer counted
    assert book.reserved("BTC", early) == TWO
    assert book.reserved("BTC", late) == 0
    with pytest.raises(InsufficientInventory):
        book.reserve("q2", "BTC", Decimal(9), Decimal(10), early)  # 10 - 2 < 9
    book.reserve("q3", "BTC", Decimal(8), Decimal(8), late)
    assert len(book) == 1  # q1 forgotten once no read from before its booking is open


def test_release_gives_back_and_an_unconfirmed_fill_stays_reserved():
    book = InventoryReservations()
    book.reserve("q1", "BTC", TWO, Decimal(3), book.begin_read())
    book.release("q1")  # the trade did not happen
    book.reserve("q2", "BTC", Decimal(3), Decimal(3), book.begin_read())  # not settled: stays
    for _ in range(3):
        with pytest.raises(InsufficientInventory):
            book.reserve("q3", "BTC", Decimal("0.1"), Decimal(3), book.begin_read())
    assert book.reserved("USDT", book.begin_read()) == 0  # per asset


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=12),
    schedule=st.lists(st.integers(0, 11), max_size=200),
    holding=st.integers(0, 20),
)
def test_no_interleaving_oversells(sizes, schedule, holding):
    """Accepts step through: send the read, the ledger answers it (its balance now), the
    broker checks and reserves, the ledger books the fill, the broker settles. Any order of
    steps across accepts keeps the ledger's balance >= 0, and a serial run fills up to it."""
    book = InventoryReservations()
    ledger = Decimal(holding)
    phase = [0] * len(sizes)
    ticket: dict[int, int] = {}
    answer: dict[int, Decimal] = {}

    def step(i: int) -> None:
        nonlocal ledger
        amount = Decimal(sizes[i])
        if phase[i] == 0:
            ticket[i] = book.begin_read()
        elif phase[i] == 1:
            answer[i] = ledger
        elif phase[i] == 2:
            try:
                book.reserve(f"q{i}", "BTC", amount, answer[i], ticket[i])
            except InsufficientInventory:
                phase[i] = 5
                return
        elif phase[i] == 3:
            ledger -= amount
            assert ledger >= 0
        elif phase[i] == 4:
            book.settle(f"q{i}")
        phase[i] += 1

    for pick in schedule:
        live = [i for i in range(len(sizes)) if phase[i] < 5]
        if not live:
            break
        step(live[pick % len(live)])
    for i in range(len(sizes)):  # the rest, one accept after another
        while phase[i] < 5:
            step(i)
    assert ledger >= 0
    assert len(book) == 0  # every booked reservation is forgotten once settled
    if not schedule:  # serial: greedy in order, each sees every earlier fill
        expected = Decimal(holding)
        for size in sizes:
            if size <= expected:
                expected -= size
        assert ledger == expected
