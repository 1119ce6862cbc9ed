"""Which transfers keep every venue's balances inside their bands.

Hedges fail when a venue runs out of the asset it must sell or the quote it
must spend; the rebalancer prevents that by moving funds before it happens.
A venue below its band's `low` is topped up to `target` from venues holding
more than their own target (largest surplus first); a venue above `high`
sends its excess over `target` to venues below target. What is already in
transit towards a venue counts as arrived, so a slow transfer is never
planned twice. Pure: balances in, plans out, deterministic path-safe ids
(`{plan_id}-{n}`, also the venue's client withdrawal id).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

_ZERO = Decimal(0)


class Band(Protocol):
    """What the planner reads of a band: `BalanceBand`, or the config's `BalanceBandConfig`."""

    @property
    def low(self) -> Decimal: ...
    @property
    def target(self) -> Decimal: ...
    @property
    def high(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class BalanceBand:
    low: Decimal
    target: Decimal
    high: Decimal

    def __post_init__(self) -> None:
        if not (0 <= self.low <= self.target <= self.high):
            raise ValueError(f"band needs 0 <= low <= target <= high, got {self}")


@dataclass(frozen=True, slots=True)
class TransferPlan:
    transfer_id: str
    asset: str
    from_venue: str
    to_venue: str
    amount: Decimal


def plan_transfers(
    balances: Mapping[tuple[str, str], Decimal],
    bands: Mapping[str, Mapping[str, Band]],
    *,
    incoming: Mapping[tuple[str, str], Decimal] | None = None,
    min_amounts: Mapping[str, Decimal] | None = None,
    plan_id: str,
) -> list[TransferPlan]:
    """Transfers for every asset with a band on at least two venues.

    `balances[(venue, asset)]` is the ledger's wallet balance; `incoming` what
    is in transit towards a venue; `min_amounts[asset]` the smallest transfer
    worth its fee (smaller needs are left for a later cycle).
    """
    incoming = incoming or {}
    min_amounts = min_amounts or {}
    assets = sorted({a for per_venue in bands.values() for a in per_venue})
    plans: list[TransferPlan] = []
    for asset in assets:
        banded = {v: b[asset] for v, b in sorted(bands.items()) if asset in b}
        if len(banded) < 2:
            continue
        held = {
            v: balances.get((v, asset), _ZERO) + incoming.get((v, asset), _ZERO) for v in banded
        }
        # who needs: below low -> up to target; who gives: above target (above high first)
        needs = {v: banded[v].target - held[v] for v in banded if held[v] < banded[v].low}
        spare = {v: held[v] - banded[v].target for v in banded if held[v] > banded[v].target}
        over_high = [v for v in banded if held[v] > banded[v].high]
        if not needs and over_high:
            needs = {v: banded[v].target - held[v] for v in banded if held[v] < banded[v].target}
            spare = {v: spare[v] for v in over_high}
        floor = min_amounts.get(asset, _ZERO)
        for to_venue, need in sorted(needs.items(), key=lambda kv: (-kv[1], kv[0])):
            for from_venue in sorted(spare, key=lambda v: (-spare[v], v)):
                if need <= 0:
                    break
                amount = min(need, spare[from_venue])
                # what a donor sends never comes from what it holds in transit
                amount = min(amount, balances.get((from_venue, asset), _ZERO))
                if amount <= 0 or amount < floor:
                    continue
                plans.append(
                    TransferPlan(
                        f"{plan_id}-{len(plans) + 1}",
                        asset,
                        from_venue,
                        to_venue,
                        amount,
                    )
                )
                spare[from_venue] -= amount
                need -= amount
    return plans
