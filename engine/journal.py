"""The ledger's write-ahead journal: every posting is on disk before it is acknowledged.

SQLite in WAL mode, not a DuckDB file: the ledger does many small transactions
(one per fill batch or hedge outcome) from one writer and needs each committed
atomically and durably before the call returns. That is SQLite's home ground
(stdlib, no server, `synchronous=FULL` fsyncs the WAL at commit, a crash mid
write rolls back cleanly); DuckDB is built for columnar scans and rewrites
row groups on small appends. Analysts keep reading Parquet; the journal is
only read back by the ledger itself after a restart.

Amounts are stored as exact decimal strings. Besides postings the journal
keeps the hedges the ledger is waiting for (pending), the ones it has heard
back from (concluded), and the child orders the router sent for each hedge
(in flight), so a restarted router can look them up by client order id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.ledger import Account, Posting

_SCHEMA = """
create table if not exists postings (
    seq integer primary key autoincrement,
    entry_id text not null unique,
    ref text not null,
    ts_ns integer not null,
    venue text not null,
    account text not null,
    asset text not null,
    amount text not null,
    kind text not null
);
create table if not exists pending (
    hedge_id text primary key,
    asset text not null,
    delta text not null,
    symbol text not null default ''
);
create table if not exists concluded (hedge_id text primary key);
create table if not exists transfers (
    transfer_id text primary key,
    asset text not null,
    amount text not null,
    from_venue text not null,
    to_venue text not null,
    status text not null,
    txid text not null default ''
);
create table if not exists carried (
    asset text primary key,
    amount text not null,
    source text not null
);
create table if not exists outcomes (
    hedge_id text primary key,
    summary text not null
);
create table if not exists inflight (
    hedge_id text primary key,
    ts_ns integer not null,
    children text not null
);
"""


@dataclass(frozen=True, slots=True)
class InflightChild:
    """A child order the router is about to send: enough to find it again at the venue."""

    venue: str
    symbol: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A transfer not yet credited: `planned` (withdrawal may be on its way) or `sent`."""

    transfer_id: str
    asset: str
    amount: Decimal
    from_venue: str
    to_venue: str
    status: str
    txid: str = ""


@dataclass(slots=True)
class JournalState:
    postings: list[Posting] = field(default_factory=list)
    pending: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    pending_symbols: dict[str, str] = field(default_factory=dict)
    concluded: set[str] = field(default_factory=set)
    inflight: dict[str, tuple[int, list[InflightChild]]] = field(default_factory=dict)
    transfers: dict[str, TransferRecord] = field(default_factory=dict)
    # base exposure an earlier run left open, taken over at this run's start
    carried: dict[str, Decimal] = field(default_factory=dict)


class JournalError(RuntimeError):
    """The journal cannot be opened or written: the ledger must not acknowledge."""


class Journal:
    """One SQLite file per run; a single writer (the ledger actor)."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"journal synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._con.execute("pragma journal_mode=wal")
            self._con.execute(f"pragma synchronous={synchronous}")
            self._con.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"ledger journal {path}: cannot open: {exc}") from None

    def record(
        self,
        postings: Sequence[Posting] = (),
        *,
        pending: Iterable[tuple[str, str, Decimal, str]] = (),
        concluded: Iterable[str] = (),
        transfers: Iterable[TransferRecord] = (),
        credited: Iterable[str] = (),
        outcomes: Iterable[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        """Commit postings, hedge and transfer state as ONE transaction (all or nothing).

        `pending`: (hedge id, asset, base delta, symbol) of mirror hedges awaited."""
        rows = [
            (p.entry_id, p.ref, p.ts_ns, p.venue, p.account.value, p.asset, str(p.amount), p.kind)
            for p in postings
        ]
        done = [(h,) for h in concluded]
        try:
            with _transaction(self._con):
                self._con.executemany(
                    "insert or ignore into postings"
                    " (entry_id, ref, ts_ns, venue, account, asset, amount, kind)"
                    " values (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._con.executemany(
                    "insert or replace into pending values (?, ?, ?, ?)",
                    [(h, asset, str(delta), symbol) for h, asset, delta, symbol in pending],
                )
                self._con.executemany("insert or ignore into concluded values (?)", done)
                self._con.executemany("delete from pending where hedge_id = ?", done)
                self._con.executemany("delete from inflight where hedge_id = ?", done)
                self._con.executemany(
                    "insert or replace into transfers values (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            t.transfer_id,
                            t.asset,
                            str(t.amount),
                            t.from_venue,
                            t.to_venue,
                            t.status,
                            t.txid,
                        )
                        for t in transfers
                    ],
                )
                self._con.executemany(
                    "delete from transfers where transfer_id = ?", [(t,) for t in credited]
                )
                self._con.executemany(
                    "insert or ignore into outcomes values (?, ?)",
                    [(h, json.dumps(summary)) for h, summary in outcomes],
                )
        except sqlite3.Error as exc:
            raise JournalError(f"ledger journal {self.path}: write failed: {exc}") from None

    def record_inflight(self, hedge_id: str, ts_ns: int, children: Sequence[InflightChild]) -> None:
        """Before the router sends a hedge's child orders: what to look up after a crash.

        `children` is every child sent so far for the hedge (slices add up)."""
        payload = json.dumps([[c.venue, c.symbol, c.client_order_id] for c in children])
        try:
            with _transaction(self._con):
                done = self._con.execute(
                    "select 1 from concluded where hedge_id = ?", (hedge_id,)
                ).fetchone()
                if done is None:
                    self._con.execute(
                        "insert or replace into inflight values (?, ?, ?)",
                        (hedge_id, ts_ns, payload),
                    )
        except sqlite3.Error as exc:
            raise JournalError(f"ledger journal {self.path}: write failed: {exc}") from None

    def record_carried(self, carried: dict[str, Decimal], source: str) -> None:
        """The exposure taken over from run `source`, once: a restart keeps the first."""
        try:
            with _transaction(self._con):
                self._con.executemany(
                    "insert or ignore into carried values (?, ?, ?)",
                    [(a, str(v), source) for a, v in sorted(carried.items())],
                )
        except sqlite3.Error as exc:
            raise JournalError(f"ledger journal {self.path}: write failed: {exc}") from None

    def outcome_summaries(self, hedge_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What each concluded hedge did (symbol, side, requested, filled per child): enough
        to rebuild its `hedge_orders` rows if a crashed router never wrote them."""
        out: dict[str, dict[str, Any]] = {}
        for h in hedge_ids:
            row = self._con.execute(
                "select summary from outcomes where hedge_id = ?", (h,)
            ).fetchone()
            if row is not None:
                out[h] = json.loads(row[0])
        return out

    def load(self) -> JournalState:
        state = JournalState()
        con = self._con
        for entry_id, ref, ts_ns, venue, account, asset, amount, kind in con.execute(
            "select entry_id, ref, ts_ns, venue, account, asset, amount, kind"
            " from postings order by seq"
        ):
            state.postings.append(
                Posting(ts_ns, entry_id, ref, venue, Account(account), asset, Decimal(amount), kind)
            )
        for hedge_id, asset, delta, symbol in con.execute(
            "select hedge_id, asset, delta, symbol from pending"
        ):
            state.pending[hedge_id] = (asset, Decimal(delta))
            state.pending_symbols[hedge_id] = symbol
        state.concluded = {h for (h,) in con.execute("select hedge_id from concluded")}
        for hedge_id, ts_ns, children in con.execute("select * from inflight"):
            state.inflight[hedge_id] = (
                ts_ns,
                [InflightChild(*c) for c in json.loads(children)],
            )
        for asset, amount, _ in con.execute("select asset, amount, source from carried"):
            state.carried[asset] = Decimal(amount)
        for row in con.execute("select * from transfers"):
            record = TransferRecord(row[0], row[1], Decimal(row[2]), *row[3:])
            state.transfers[record.transfer_id] = record
        return state

    def close(self) -> None:
        self._con.close()


class _transaction:
    """`begin immediate` ... `commit`, rolled back on any error."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def __enter__(self) -> None:
        self._con.execute("begin immediate")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._con.execute("rollback" if exc_type else "commit")


JOURNAL_DIR_ENV = "MARKETMESH_JOURNAL_DIR"


def journal_path(data_dir: str, run_id: str, env: dict[str, str] | None = None) -> Path:
    """Where a run's ledger journal lives: local disk, next to the data unless told otherwise.

    An object-store `data_dir` cannot hold a transactional file, so the journal
    then goes to `$MARKETMESH_JOURNAL_DIR` (default `~/.marketmesh/journal`).
    """
    import os

    env = dict(os.environ) if env is None else env
    if env.get(JOURNAL_DIR_ENV):
        root = Path(env[JOURNAL_DIR_ENV])
    elif "://" in data_dir:
        root = Path.home() / ".marketmesh" / "journal"
    else:
        root = Path(data_dir) / "_journal"
    return root / f"ledger-{run_id}.sqlite"


def previous_journal(current: Path) -> Path | None:
    """The newest journal of an earlier run beside `current` (run ids sort by start time)."""
    earlier = sorted(p for p in current.parent.glob("ledger-*.sqlite") if p.name < current.name)
    return earlier[-1] if earlier else None
