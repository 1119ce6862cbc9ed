"""The in-flight look-up: what a crashed router's child orders did, folded per hedge.

After a restart only the journal's client order ids survive. Each child is
asked for at its venue (`ChildLookup`); a hedge is concluded once every
child is found or known never to have reached the venue, and stays in flight
while any venue cannot say (it is never resent: at most one order per child).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.types import ChildLookup, ChildOrderResult, InflightState


@dataclass(frozen=True, slots=True)
class InflightLookup:
    """One hedge's children as the venues report them."""

    state: InflightState
    results: tuple[ChildOrderResult, ...]  # the children found, with what they executed
    undetermined: tuple[str, ...]  # client order ids no venue could say anything about


def fold_lookups(
    answers: Sequence[tuple[str, ChildLookup, ChildOrderResult | None]],
) -> InflightLookup:
    """(client order id, what the venue said, its result if found) per child -> the hedge."""
    results: list[ChildOrderResult] = []
    undetermined: list[str] = []
    for client_order_id, lookup, result in answers:
        if lookup is ChildLookup.FOUND and result is not None:
            results.append(result)
        elif lookup is ChildLookup.UNDETERMINED:
            undetermined.append(client_order_id)
    state = InflightState.UNDETERMINED if undetermined else InflightState.CONCLUDED
    return InflightLookup(state, tuple(results), tuple(undetermined))
