"""Reconciliation to the unit the venue reports: a sub-satoshi residue is not a break."""

from __future__ import annotations

from marketmesh.graph.reconcile import agrees


def test_exact_equality_agrees():
    assert agrees("600000", "600000") and agrees("0.0123", "0.0123")


def test_a_residue_under_a_satoshi_the_venue_truncates_agrees():
    # binance-sim after an ETH/BTC trade: the ledger holds 10 decimals, the venue shows 8
    assert agrees("5.7976269598", "5.79762695")


def test_a_satoshi_or_more_is_a_break():
    assert not agrees("5.79762696", "5.79762695")
    assert not agrees("5.7976269698", "5.79762695")  # truncated: 5.79762696
    assert not agrees("5.79762694", "5.79762695")  # the ledger below the venue


def test_a_venue_showing_more_than_8_decimals_is_compared_exactly():
    assert not agrees("1.0000000001", "1.0000000002")
