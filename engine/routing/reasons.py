"""Why a hedge fell short: text for the rows and the log, and a kind for the desk's counts.

A hedge that executed nothing is a *failure* (the run's "failed" count, the
`hedge_failures` alert) only for a fault: a reject, a timeout, no venue healthy, a
limit. It is not one when nothing was left to trade: the ledger's gap or the hedges in
flight already covered it (`NOT_NEEDED`), or what was left is below every venue's lot
or minimum (`DUST`, which the rebalancer nets). A venue left out on a stale book
(`STALE_BOOK`: a streamed one past `max_book_age_ms`, any past `max_book_age_s`) is a
fault, unless what the young books could not place was dust anyway. The kind is set
where each reason is made: the count had read it back from the wording of the
messages, so rewording one changed what counted as a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ReasonKind(StrEnum):
    FAULT = "fault"
    NOT_NEEDED = "not_needed"
    DUST = "dust"
    STALE_BOOK = "stale_book"


class Reason(str):
    """A shortfall reason: a `str` (rows, joins and logs use the text as it is) that
    also carries its `kind`; a plain `str` reason is a `FAULT`."""

    kind: ReasonKind

    def __new__(cls, text: str, kind: ReasonKind = ReasonKind.FAULT) -> Reason:
        reason = super().__new__(cls, text)
        reason.kind = kind
        return reason

    def __reduce__(self) -> tuple[type[Reason], tuple[str, ReasonKind]]:
        return Reason, (str(self), self.kind)


def kind_of(reason: str) -> ReasonKind:
    return getattr(reason, "kind", ReasonKind.FAULT)


def about_venue(venue: str, reason: str) -> Reason:
    """`reason` prefixed with the venue it concerns, of the same kind."""
    return Reason(f"{venue}: {reason}", kind_of(reason))


def is_fault(reasons: Sequence[str]) -> bool:
    """Whether a hedge that executed nothing for `reasons` failed (module doc); no
    reason at all is a fault too: nothing executed and nothing said why."""
    kinds = [kind_of(r) for r in reasons]
    if ReasonKind.DUST in kinds:
        # dust left on the young books: the router leaves a venue out on a stale book at
        # once only if it could not take the dust either (`wants_stale_venue`)
        kinds = [k for k in kinds if k is not ReasonKind.STALE_BOOK]
    return not kinds or any(k in (ReasonKind.FAULT, ReasonKind.STALE_BOOK) for k in kinds)
