"""Which earlier runs a new run must take over: derived from every journal, not the newest."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.takeover import EarlierRun, Settlement, open_runs, settlement

CRASHED = EarlierRun("20261201T100000aaaa", venues_outlive_run=True, activity=True)
FAILED_START = EarlierRun("20261201T100500bbbb", venues_outlive_run=True, activity=False)


def test_a_failed_start_after_a_crash_does_not_hide_the_crash():
    """Issue 11, case 1: crash, a start that fails (an empty journal), then a run."""
    runs = [CRASHED, FAILED_START]
    assert settlement(FAILED_START, runs) is Settlement.NOTHING_OPEN
    assert open_runs(runs) == [CRASHED]


def test_a_run_that_carried_settles_its_sources_even_if_it_crashed_itself():
    carrier = EarlierRun(
        "20261201T101000cccc",
        venues_outlive_run=True,
        activity=True,
        carried_from=frozenset({CRASHED.run_id}),
    )
    runs = [CRASHED, FAILED_START, carrier]
    assert settlement(CRASHED, runs) is Settlement.CARRIED
    assert open_runs(runs) == [carrier]  # its exposure includes what it carried


def test_closed_abandoned_local_and_live_runs_are_settled():
    runs = [
        EarlierRun("a", closed=True, activity=True),
        EarlierRun("b", abandoned="flattened by hand on the venues", activity=True),
        EarlierRun("c", venues_outlive_run=False, activity=True),
        EarlierRun.held_live("d"),
    ]
    assert [settlement(r, runs) for r in runs] == [
        Settlement.CLOSED,
        Settlement.ABANDONED,
        Settlement.LOCAL_VENUES,
        Settlement.LIVE,
    ]
    assert open_runs(runs) == []


def test_a_journal_from_before_the_meta_record_is_taken_over_if_it_traded():
    old = EarlierRun("old", venues_outlive_run=None, activity=True)
    assert open_runs([old]) == [old]


@given(
    st.lists(
        st.tuples(st.booleans(), st.booleans(), st.booleans(), st.sets(st.integers(0, 7))),
        min_size=1,
        max_size=8,
    )
)
def test_every_run_that_traded_is_settled_exactly_one_way(specs):
    """Open runs are exactly those that traded, outlive their venues, and that no
    closure, abandonment or later carry settled."""
    runs = [
        EarlierRun(
            f"r{i}",
            closed=closed,
            abandoned="x" if abandoned else "",
            venues_outlive_run=True,
            activity=activity,
            carried_from=frozenset(f"r{j}" for j in carried if j != i),
        )
        for i, (closed, abandoned, activity, carried) in enumerate(specs)
    ]
    carried_ids = {c for r in runs for c in r.carried_from}
    expected = [
        r
        for r in runs
        if r.activity and not r.closed and not r.abandoned and r.run_id not in carried_ids
    ]
    assert open_runs(runs) == expected
