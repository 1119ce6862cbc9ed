"""Transfer planning keeps balances in their bands; the ledger carries funds in transit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ledger import Ledger
from engine.transfers import BalanceBand, TransferPlan, plan_transfers

D = Decimal
BAND = BalanceBand(low=D(2), target=D(5), high=D(10))


def test_a_venue_below_low_is_topped_up_to_target_from_the_largest_surplus():
    balances = {("a", "BTC"): D(1), ("b", "BTC"): D(7), ("c", "BTC"): D(9)}
    bands = {v: {"BTC": BAND} for v in "abc"}
    plans = plan_transfers(balances, bands, plan_id="p1")
    assert plans == [TransferPlan("p1-1", "BTC", "c", "a", D(4))]


def test_the_need_is_split_over_donors_and_never_takes_a_donor_below_target():
    balances = {("a", "BTC"): D(0), ("b", "BTC"): D(7), ("c", "BTC"): D(8)}
    bands = {v: {"BTC": BAND} for v in "abc"}
    plans = plan_transfers(balances, bands, plan_id="p")
    assert [(p.from_venue, p.amount) for p in plans] == [("c", D(3)), ("b", D(2))]


def test_in_transit_counts_as_arrived_so_nothing_is_planned_twice():
    balances = {("a", "BTC"): D(1), ("b", "BTC"): D(9)}
    bands = {v: {"BTC": BAND} for v in "ab"}
    assert plan_transfers(balances, bands, incoming={("a", "BTC"): D(4)}, plan_id="p") == []


def test_excess_above_high_goes_to_venues_below_target():
    balances = {("a", "USDT"): D(3), ("b", "USDT"): D(14)}
    bands = {v: {"USDT": BAND} for v in "ab"}
    (plan,) = plan_transfers(balances, bands, plan_id="p")
    assert (plan.from_venue, plan.to_venue, plan.amount) == ("b", "a", D(2))


def test_transfers_below_the_minimum_wait():
    balances = {("a", "BTC"): D("1.99"), ("b", "BTC"): D("5.01")}
    bands = {v: {"BTC": BAND} for v in "ab"}
    assert plan_transfers(balances, bands, min_amounts={"BTC": D("0.1")}, plan_id="p") == []


def test_a_bad_band_is_refused():
    with pytest.raises(ValueError, match="low <= target <= high"):
        BalanceBand(D(5), D(2), D(10))


amounts = st.decimals(min_value=0, max_value=100, places=4)


@settings(max_examples=200, deadline=None)
@given(held=st.lists(amounts, min_size=2, max_size=5))
def test_plans_conserve_funds_and_respect_donor_targets(held):
    venues = [f"v{i}" for i in range(len(held))]
    balances = {(v, "BTC"): h for v, h in zip(venues, held, strict=True)}
    bands = {v: {"BTC": BAND} for v in venues}
    plans = plan_transfers(balances, bands, plan_id="p")
    after = dict(balances)
    for p in plans:
        assert p.amount > 0 and p.from_venue != p.to_venue
        after[(p.from_venue, "BTC")] -= p.amount
        after[(p.to_venue, "BTC")] += p.amount
    assert sum(after.values()) == sum(balances.values())
    senders = {p.from_venue for p in plans}
    for v in senders:
        assert after[(v, "BTC")] >= BAND.target
    receivers = {p.to_venue for p in plans}
    for v in receivers:
        assert after[(v, "BTC")] <= BAND.target
    total_spare = sum(max(h - BAND.target, D(0)) for h in held)
    for v in venues:  # whoever is below low gets lifted when the others can afford it
        if balances[(v, "BTC")] < BAND.low and total_spare >= len(venues) * BAND.target:
            assert after[(v, "BTC")] == BAND.target


def test_ledger_keeps_transfers_in_transit_without_changing_positions():
    ledger = Ledger("USDT")
    ledger.open_balances("a", {"BTC": D(3)}, 1)
    ledger.open_balances("b", {"BTC": D(1)}, 1)
    out = ledger.post_transfer_out("t1", "a", "BTC", D("1.5"), D("0.0005"), 2)
    assert sum(p.amount for p in out) == 0
    assert ledger.balance("a", "BTC") == D("1.4995")
    assert ledger.in_transit() == {"BTC": D("1.5")}
    assert ledger.position("BTC") == D("-0.0005")  # only the fee changed what we own
    assert ledger.post_transfer_out("t1", "a", "BTC", D("1.5"), D("0.0005"), 3) == []
    ledger.post_transfer_in("t1", "b", "BTC", D("1.5"), 4)
    assert ledger.in_transit() == {}
    assert ledger.balance("b", "BTC") == D("2.5")
    replayed = Ledger.replay("USDT", ledger.postings)
    assert replayed.balances() == ledger.balances()
    assert replayed.position("BTC") == D("-0.0005")
