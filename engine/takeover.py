"""Which earlier runs' journals are settled, and which a new run must take over first.

A run that does not end through the clean shutdown (a crashed driver, a node
lost, a kill) leaves exposure that only its journal knows about: the next run
opens its ledger at the venues' balances, so that exposure would vanish unless
it is carried. Settlement is derived from every journal in the directory, not
from flags written to the settled journal, so no crash between two writes can
settle a run twice or not at all:

* *closed*: the run ended through the clean shutdown (its own journal says so);
* *carried*: a later run's journal names it among the runs it took over (that
  record is written in one transaction with the carried amounts);
* *abandoned*: the operator settled it by hand (`marketmesh recover --abandon`),
  with a reason kept in its journal;
* *local venues*: its own venue-sim served its venues, which died with it;
* *nothing open*: it booked nothing beyond its opening balances (a start that
  failed after the ledger opened);
* *live*: another process holds its journal (a run still trading): never taken over.

Everything else is *open*, and a run against venues that outlive runs takes
every open run over before it trades.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from engine.journal import JournalState

OUTLIVE_KEY = "venues_outlive_run"


class Settlement(StrEnum):
    CLOSED = "closed"
    CARRIED = "carried"
    ABANDONED = "abandoned"
    LOCAL_VENUES = "local_venues"
    NOTHING_OPEN = "nothing_open"
    LIVE = "live"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class EarlierRun:
    """What the take-over needs to know of one earlier run's journal."""

    run_id: str
    closed: bool = False
    abandoned: str = ""
    venues_outlive_run: bool | None = None  # None: a journal from before this was recorded
    carried_from: frozenset[str] = frozenset()
    activity: bool = False
    live: bool = False

    @classmethod
    def of(cls, run_id: str, state: JournalState) -> EarlierRun:
        outlive = state.meta.get(OUTLIVE_KEY)
        return cls(
            run_id=run_id,
            closed="closed" in state.settlement,
            abandoned=state.settlement.get("abandoned", (0, ""))[1],
            venues_outlive_run=None if outlive is None else outlive == "1",
            carried_from=frozenset(state.carried_from),
            activity=bool(
                any(p.kind != "opening" for p in state.postings)
                or state.carried
                or state.pending
                or state.inflight
            ),
        )

    @classmethod
    def held_live(cls, run_id: str) -> EarlierRun:
        return cls(run_id=run_id, live=True)


def settlement(run: EarlierRun, runs: Sequence[EarlierRun]) -> Settlement:
    """How `run` is settled, given every journal in its directory."""
    if run.live:
        return Settlement.LIVE
    if run.closed:
        return Settlement.CLOSED
    if any(run.run_id in other.carried_from for other in runs if other is not run):
        return Settlement.CARRIED
    if run.abandoned:
        return Settlement.ABANDONED
    if run.venues_outlive_run is False:
        return Settlement.LOCAL_VENUES
    if not run.activity:
        return Settlement.NOTHING_OPEN
    return Settlement.OPEN


def open_runs(runs: Sequence[EarlierRun]) -> list[EarlierRun]:
    """The runs a new run must take over before it trades, oldest first."""
    return [r for r in runs if settlement(r, runs) is Settlement.OPEN]
