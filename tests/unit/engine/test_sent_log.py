"""The router's write-ahead log of sent children, and the journal load that merges it."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.journal import Journal, journal_path
from engine.sent_log import (
    InflightChild,
    SentLog,
    SentLogError,
    read_sent_log,
    sent_log_path,
)


def child(cid: str, venue: str = "okx-sim") -> InflightChild:
    return InflightChild(venue, "BTC/USDT", cid)


def test_slices_add_up_a_retried_send_counts_once_and_a_torn_line_is_skipped(tmp_path):
    path = tmp_path / "sent-r1.jsonl"
    assert read_sent_log(path) == {}  # no log yet: nothing was sent
    log = SentLog(path)
    log.record("h1", 5, [child("c0"), child("c1", "binance-sim")])
    log.record("h2", 6, [child("d0")])
    log.record("h1", 7, [child("c1", "binance-sim"), child("c2")])  # slice 2, c1 retried
    log.close()
    with path.open("ab") as fh:  # a crash in the middle of the next append
        fh.write(b'["h3", 8, [["okx-sim", "BTC/US')
    assert read_sent_log(path) == {
        "h1": (5, [child("c0"), child("c1", "binance-sim"), child("c2")]),
        "h2": (6, [child("d0")]),
    }


def test_a_log_that_cannot_be_written_refuses_and_names_itself(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    log = SentLog(blocker / "sent-r1.jsonl")
    with pytest.raises(SentLogError, match=r"not-a-dir/sent-r1\.jsonl: cannot write"):
        log.record("h1", 1, [child("c0")])


def test_the_journal_load_adds_sends_the_ledger_never_heard_of(tmp_path):
    """The router logged h1 and h2 and crashed before telling the ledger of h2; h3's
    outcome is booked. A restart (or the next run's take-over) looks up h1 and h2."""
    path = journal_path(str(tmp_path), "r1")
    assert sent_log_path(path) == path.parent / "sent-r1.jsonl"
    journal = Journal(path)
    journal.record([], pending=[(h, "BTC", Decimal(1), "BTC/USDT") for h in ("h1", "h2", "h3")])
    journal.record_inflight("h1", 1, [child("c0")])
    log = SentLog(sent_log_path(path))
    log.record("h1", 1, [child("c0")])
    log.record("h1", 3, [child("c1")])  # its second slice: the ledger's copy never came
    log.record("h2", 2, [child("d0")])
    log.record("h3", 2, [child("e0")])
    journal.record([], concluded=["h3"])
    journal.close()
    state = Journal(path).load()
    assert state.inflight == {"h1": (1, [child("c0"), child("c1")]), "h2": (2, [child("d0")])}


@given(
    st.lists(
        st.tuples(st.sampled_from(["h1", "h2"]), st.lists(st.sampled_from("abcd"), max_size=3)),
        max_size=12,
    )
)
def test_reading_keeps_each_child_once_in_first_sent_order(sends):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "sent-r.jsonl"
        log = SentLog(path)
        for ts, (hedge, cids) in enumerate(sends):
            log.record(hedge, ts, [child(c) for c in cids])
        log.close()
        read = read_sent_log(path)
    for hedge in ("h1", "h2"):
        order = list(dict.fromkeys(c for h, cids in sends if h == hedge for c in cids))
        logged = [ts for ts, (h, _) in enumerate(sends) if h == hedge]
        if not logged:
            assert hedge not in read
            continue
        assert read[hedge] == (logged[0], [child(c) for c in order])
