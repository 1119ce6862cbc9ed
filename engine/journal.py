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
(in flight, merged on load with the router's own write-ahead `engine.sent_log`,
which is on disk before each send), so a restarted router can look them up by
client order id; the
fills themselves, so rows a crash kept from Parquet can be written again; and
how the run ended (`settlement`: closed by the clean shutdown, or abandoned by
the operator), which runs' exposure it took over (`carried_from`), and
whether its venues outlive it (`meta`), which the next run's take-over reads.

The file is opened in SQLite's exclusive locking mode: one writer holds it
for the run's life, so a second process can neither write it nor take a live
run's exposure over, and the WAL index lives in the writer's heap instead of a
memory-mapped `-shm` file (a full or vanished disk then fails a commit with
an error instead of a SIGBUS in the ledger's worker).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.ledger import Account, Posting
from engine.sent_log import InflightChild, merge_sent, read_sent_log, sent_log_path
from engine.types import Fill, Liquidity, Side

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
create table if not exists meta (key text primary key, value text not null);
create table if not exists settlement (
    kind text primary key,
    ts_ns integer not null,
    detail text not null
);
create table if not exists carried_from (run_id text primary key);
create table if not exists fills (
    fill_id text primary key,
    ts_ns integer not null,
    body text not null
);
"""

OPEN_TIMEOUT_S = 10.0  # a crashed predecessor's lock goes when its process does


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
    carried_from: set[str] = field(default_factory=set)  # the runs it was taken from
    meta: dict[str, str] = field(default_factory=dict)
    settlement: dict[str, tuple[int, str]] = field(default_factory=dict)  # kind -> (ts, detail)


class JournalError(RuntimeError):
    """The journal cannot be opened or written: the ledger must not acknowledge."""


class JournalBusy(JournalError):
    """Another live process holds the journal: a run still trading owns it."""


class Journal:
    """One SQLite file per run; a single writer (the ledger actor)."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"journal synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = path
        self.failing_since_ns = 0  # when commits started failing (0: they work)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=OPEN_TIMEOUT_S
            )
            # exclusive before WAL: no shared-memory wal-index (see the module docstring)
            self._con.execute("pragma locking_mode=exclusive")
            self._con.execute("pragma journal_mode=wal")
            self._con.execute(f"pragma synchronous={synchronous}")
            self._con.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise JournalBusy(f"ledger journal {path}: held by a live process") from None
            raise JournalError(f"ledger journal {path}: cannot open: {exc}") from None
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
        fills: Iterable[Fill] = (),
    ) -> None:
        """Commit postings, hedge and transfer state as ONE transaction (all or nothing).

        `pending`: (hedge id, asset, base delta, symbol) of mirror hedges awaited;
        `fills`: the fills the postings book, kept to rebuild lost `fills` rows."""
        rows = [
            (p.entry_id, p.ref, p.ts_ns, p.venue, p.account.value, p.asset, str(p.amount), p.kind)
            for p in postings
        ]
        done = [(h,) for h in concluded]
        try:
            with _transaction(self):
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
                self._con.executemany(
                    "insert or ignore into fills values (?, ?, ?)",
                    [(f.fill_id, f.ts_ns, fill_to_json(f)) for f in fills],
                )
        except sqlite3.Error as exc:
            raise self._write_failed(exc) from None

    def record_inflight(self, hedge_id: str, ts_ns: int, children: Sequence[InflightChild]) -> None:
        """Before the router sends a hedge's child orders: what to look up after a crash.

        `children` is every child sent so far for the hedge (slices add up)."""
        payload = json.dumps([[c.venue, c.symbol, c.client_order_id] for c in children])
        try:
            with _transaction(self):
                done = self._con.execute(
                    "select 1 from concluded where hedge_id = ?", (hedge_id,)
                ).fetchone()
                if done is None:
                    self._con.execute(
                        "insert or replace into inflight values (?, ?, ?)",
                        (hedge_id, ts_ns, payload),
                    )
        except sqlite3.Error as exc:
            raise self._write_failed(exc) from None

    def record_carried(self, carried: dict[str, Decimal], sources: Sequence[str]) -> None:
        """The exposure taken over from runs `sources`, once: a restart keeps the first.
        Naming the sources settles those runs' journals (`engine.takeover`), in the
        same transaction as the amounts, so a crash can't leave one without the other."""
        try:
            with _transaction(self):
                if self._con.execute("select 1 from carried_from limit 1").fetchone():
                    return
                self._con.executemany(
                    "insert or ignore into carried values (?, ?, ?)",
                    [(a, str(v), ",".join(sources)) for a, v in sorted(carried.items())],
                )
                self._con.executemany(
                    "insert or ignore into carried_from values (?)", [(r,) for r in sources]
                )
        except sqlite3.Error as exc:
            raise self._write_failed(exc) from None

    def record_meta(self, **values: str) -> None:
        """Facts about the run a later take-over needs (`venues_outlive_run`, `run_id`)."""
        self._write(
            "insert or replace into meta values (?, ?)", [(k, v) for k, v in values.items()]
        )

    def mark_closed(self, ts_ns: int, detail: str) -> None:
        """The run ended through the clean shutdown: nothing left for a later run."""
        self._write("insert or replace into settlement values ('closed', ?, ?)", [(ts_ns, detail)])

    def mark_abandoned(self, ts_ns: int, reason: str) -> None:
        """The operator settled this run by hand (`marketmesh recover --abandon`)."""
        self._write(
            "insert or replace into settlement values ('abandoned', ?, ?)", [(ts_ns, reason)]
        )

    def fills(self) -> list[Fill]:
        """Every fill this run booked, in the order they were journaled."""
        return [
            fill_from_json(body)
            for (body,) in self._con.execute("select body from fills order by rowid")
        ]

    def _write(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        try:
            with _transaction(self):
                self._con.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._write_failed(exc) from None

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
        # what the router logged as sent without waiting for this journal (engine.sent_log)
        sent = read_sent_log(sent_log_path(self.path))
        state.inflight = merge_sent(state.inflight, sent, state.concluded)
        for asset, amount, _ in con.execute("select asset, amount, source from carried"):
            state.carried[asset] = Decimal(amount)
        state.carried_from = {r for (r,) in con.execute("select run_id from carried_from")}
        state.meta = dict(con.execute("select key, value from meta"))
        state.settlement = {
            kind: (ts, detail)
            for kind, ts, detail in con.execute("select kind, ts_ns, detail from settlement")
        }
        for row in con.execute("select * from transfers"):
            record = TransferRecord(row[0], row[1], Decimal(row[2]), *row[3:])
            state.transfers[record.transfer_id] = record
        return state

    def close(self) -> None:
        self._con.close()

    def _write_failed(self, exc: sqlite3.Error) -> JournalError:
        if not self.failing_since_ns:
            self.failing_since_ns = time.time_ns()
        return JournalError(f"ledger journal {self.path}: write failed: {exc}")

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: Path) -> JournalState:
    """An earlier run's journal, read and closed at once. Close explicitly: sqlite3's
    connection sits in a reference cycle, so a dropped one (and with it the exclusive
    lock) is released only when the cyclic garbage collector runs."""
    with Journal(path) as journal:
        return journal.load()


class _transaction:
    """`begin immediate` ... `commit`, rolled back on any error; a commit ends the
    journal's failure streak."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._con = journal._con

    def __enter__(self) -> None:
        self._con.execute("begin immediate")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._con.execute("rollback" if exc_type else "commit")
        if not exc_type:
            self._journal.failing_since_ns = 0


JOURNAL_DIR_ENV = "MARKETMESH_JOURNAL_DIR"


def journal_path(data_dir: str, run_id: str, env: dict[str, str] | None = None) -> Path:
    """Where a run's ledger journal lives: local disk, next to the data unless told otherwise.

    An object-store `data_dir` cannot hold a transactional file, so the journal
    then goes to `$MARKETMESH_JOURNAL_DIR` (default `~/.marketmesh/journal`).
    """
    env = dict(os.environ) if env is None else env
    if env.get(JOURNAL_DIR_ENV):
        root = Path(env[JOURNAL_DIR_ENV])
    elif "://" in data_dir:
        root = Path.home() / ".marketmesh" / "journal"
    else:
        root = Path(data_dir) / "_journal"
    return root / f"ledger-{run_id}.sqlite"


def earlier_journals(current: Path) -> list[Path]:
    """Every journal beside `current` but its own, oldest first (run ids sort by start
    time). All of them, not only the newest: a run that failed to start may have left
    a newer, empty one, which must not hide an older one with exposure open."""
    return sorted(p for p in current.parent.glob("ledger-*.sqlite") if p != current)


def run_id_of(path: Path) -> str:
    return path.stem.removeprefix("ledger-")


def fill_to_json(fill: Fill) -> str:
    """A fill as the journal keeps it: exact decimals as strings, enums by value."""
    return json.dumps(
        {
            "ts_ns": fill.ts_ns,
            "venue": fill.venue,
            "market": fill.market,
            "fill_id": fill.fill_id,
            "order_id": fill.order_id,
            "side": fill.side.value,
            "price": str(fill.price),
            "amount": str(fill.amount),
            "fee": str(fill.fee),
            "fee_currency": fill.fee_currency,
            "liquidity": fill.liquidity.value,
        }
    )


def fill_from_json(body: str) -> Fill:
    d = json.loads(body)
    return Fill(
        ts_ns=int(d["ts_ns"]),
        venue=d["venue"],
        market=d["market"],
        fill_id=d["fill_id"],
        order_id=d["order_id"],
        side=Side(d["side"]),
        price=Decimal(d["price"]),
        amount=Decimal(d["amount"]),
        fee=Decimal(d["fee"]),
        fee_currency=d["fee_currency"],
        liquidity=Liquidity(d["liquidity"]),
    )
