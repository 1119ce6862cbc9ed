"""The ledger journal: what was committed comes back exactly, in one piece."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from engine.journal import (
    InflightChild,
    Journal,
    JournalBusy,
    JournalError,
    earlier_journals,
    fill_from_json,
    fill_to_json,
    journal_path,
)
from engine.ledger import Ledger
from engine.types import Fill, Side


def _fill(i: int, side: Side = Side.BUY) -> Fill:
    return Fill(
        ts_ns=1_000 + i,
        fill_id=f"home:BTC/USDT:{i}",
        venue="home",
        market="BTC/USDT",
        side=side,
        price=Decimal("50000.01"),
        amount=Decimal("0.00123"),
        fee=Decimal("0.0000001"),
        fee_currency="BTC",
        order_id=f"o{i}",
    )


def test_postings_and_hedge_state_round_trip_exactly(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    ledger = Ledger("USDT")
    opening = ledger.open_balances(
        "binance-sim", {"BTC": Decimal("1.5"), "USDT": Decimal("1e5")}, 1
    )
    fills = [p for i in range(3) for p in ledger.post_fill(_fill(i))]
    journal.record(opening + fills, pending=[("h1", "BTC", Decimal("-0.00123"), "BTC/USDT")])
    journal.record_inflight("h1", 5, [InflightChild("okx-sim", "BTC/USDT", "mm-h1-0")])
    journal.close()

    state = Journal(path).load()
    assert [p.entry_id for p in state.postings] == [p.entry_id for p in opening + fills]
    restored = Ledger.replay("USDT", state.postings)
    assert restored.balances() == ledger.balances()
    assert restored.positions() == ledger.positions()
    assert state.pending == {"h1": ("BTC", Decimal("-0.00123"))}
    assert state.inflight == {"h1": (5, [InflightChild("okx-sim", "BTC/USDT", "mm-h1-0")])}
    assert restored.post_fill(_fill(0)) == []  # a redelivery after the restart is a no-op


def test_concluding_a_hedge_clears_pending_and_inflight_and_blocks_late_inflight(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    journal.record([], pending=[("h1", "BTC", Decimal(1), "BTC/USDT")])
    journal.record_inflight("h1", 1, [InflightChild("v", "BTC/USDT", "c0")])
    journal.record([], concluded=["h1"])
    journal.record_inflight("h1", 2, [InflightChild("v", "BTC/USDT", "c1")])  # too late
    state = journal.load()
    assert state.pending == {} and state.inflight == {} and state.concluded == {"h1"}


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    ledger = Ledger("USDT")
    postings = ledger.post_fill(_fill(1))
    journal.record(postings)
    journal._con.execute(
        "create trigger boom before insert on pending begin select raise(abort, 'x'); end"
    )
    more = Ledger("USDT").post_fill(_fill(2))
    with pytest.raises(Exception, match="write failed"):
        journal.record(more, pending=[("h2", "BTC", Decimal(1), "BTC/USDT")])
    assert [p.entry_id for p in journal.load().postings] == [p.entry_id for p in postings]


def test_journal_is_in_wal_mode_and_says_where_it_failed(tmp_path):
    path = tmp_path / "j.sqlite"
    Journal(path).close()  # exclusive locking: a second connection waits for the first
    with sqlite3.connect(path) as con:
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(Exception, match=r"ledger journal .*file/x\.sqlite: cannot open"):
        Journal(blocker / "x.sqlite")


def test_journal_path_local_object_store_and_override(tmp_path):
    assert journal_path(str(tmp_path), "r1", env={}) == tmp_path / "_journal" / "ledger-r1.sqlite"
    assert journal_path("s3://bucket/data", "r1", env={}).parent.name == "journal"
    env = {"MARKETMESH_JOURNAL_DIR": str(tmp_path / "j")}
    assert journal_path("s3://b/d", "r1", env=env) == tmp_path / "j" / "ledger-r1.sqlite"


def test_outcome_summaries_and_pending_symbols_survive_a_reopen(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    summary = {"symbol": "BTC/USDT", "side": "sell", "requested": 0.5, "children": []}
    journal.record(
        [],
        pending=[("h2", "BTC", Decimal("-0.5"), "BTC/USDT")],
        concluded=["h1"],
        outcomes=[("h1", summary)],
    )
    journal.close()
    reopened = Journal(path)
    assert reopened.outcome_summaries(["h1", "nope"]) == {"h1": summary}
    state = reopened.load()
    assert state.pending_symbols == {"h2": "BTC/USDT"}
    assert state.pending == {"h2": ("BTC", Decimal("-0.5"))}


def test_carried_exposure_is_kept_once_and_survives_a_reopen(tmp_path):
    path = tmp_path / "ledger-r2.sqlite"
    j = Journal(path)
    j.record_carried({"BTC": Decimal("0.00123"), "ETH": Decimal("-1.5")}, ["r0", "r1"])
    j.record_carried({"BTC": Decimal("9")}, ["r1"])  # a restart re-offering it changes nothing
    j.close()
    state = Journal(path).load()
    assert state.carried == {"BTC": Decimal("0.00123"), "ETH": Decimal("-1.5")}
    assert state.carried_from == {"r0", "r1"}


def test_every_earlier_journal_is_listed_not_only_the_newest(tmp_path):
    """A failed start's newer, empty journal must not hide an older one with exposure."""
    runs = ("20261129T100000aaaa", "20261130T090000bbbb", "20261130T120000cccc")
    for run in runs:
        (tmp_path / f"ledger-{run}.sqlite").touch()
    (tmp_path / "notes.txt").touch()
    current = tmp_path / "ledger-20261130T110000dddd.sqlite"
    current.touch()
    assert earlier_journals(current) == [tmp_path / f"ledger-{r}.sqlite" for r in runs]


def test_a_live_journal_cannot_be_opened_by_a_second_process(tmp_path):
    """Exclusive locking: a run still trading owns its journal; nobody takes it over."""
    import subprocess
    import sys

    path = tmp_path / "ledger-live.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from engine.journal import Journal;"
         f"j = Journal(Path({str(path)!r})); j.record_meta(run_id='live');"
         "print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        import engine.journal as journal_module

        journal_module.OPEN_TIMEOUT_S, saved = 0.2, journal_module.OPEN_TIMEOUT_S
        try:
            with pytest.raises(JournalBusy, match="held by a live process"):
                Journal(path)
        finally:
            journal_module.OPEN_TIMEOUT_S = saved
    finally:
        holder.kill()
        holder.wait()
    assert Journal(path).load().meta == {"run_id": "live"}  # its process gone: readable


def test_fills_settlement_and_meta_round_trip(tmp_path):
    path = tmp_path / "ledger-r.sqlite"
    j = Journal(path)
    ledger = Ledger("USDT")
    fills = [_fill(i) for i in range(3)]
    j.record([p for f in fills for p in ledger.post_fill(f)], fills=fills)
    j.record([], fills=fills[:1])  # a redelivery is kept once
    j.record_meta(run_id="r", venues_outlive_run="1")
    j.mark_closed(7, "clean shutdown")
    j.close()
    again = Journal(path)
    assert again.fills() == fills
    state = again.load()
    assert state.meta == {"run_id": "r", "venues_outlive_run": "1"}
    assert state.settlement == {"closed": (7, "clean shutdown")}
    assert fill_from_json(fill_to_json(fills[0])) == fills[0]


def test_a_failed_commit_is_timed_until_one_succeeds(tmp_path):
    """Issue 11, case 6: the ledger reports how long its journal has failed (the
    storage alert, then the clean stop), and the streak ends with the next commit."""
    journal = Journal(tmp_path / "j.sqlite")
    real = journal._con
    journal._con = _Failing(real)  # every statement fails, as on a full or vanished disk
    with pytest.raises(JournalError, match="write failed"):
        journal.record([], concluded=["h1"])
    assert journal.failing_since_ns > 0
    journal._con = real
    journal.record([], concluded=["h1"])
    assert journal.failing_since_ns == 0


class _Failing:
    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def execute(self, sql: str, *args: object) -> object:
        if sql.startswith("begin"):
            return self._con.execute(sql, *args)
        if sql in ("rollback", "commit"):
            return self._con.execute(sql)
        raise sqlite3.OperationalError("disk I/O error")

    def executemany(self, sql: str, *args: object) -> object:
        raise sqlite3.OperationalError("disk I/O error")
