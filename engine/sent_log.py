"""The router's write-ahead record of the child orders it is about to send.

Before a hedge's child orders leave, their client ids must be on disk: a
restarted router (or the next run's take-over) then looks them up at the venues
instead of sending again, or abandoning a hedge that executed. The ledger's
journal keeps the same record, but asking the ledger is a Ray round trip on the
path from fill to hedge order (2-5 ms at p50 on 2 cores, ~90 ms at p99 while
the ledger books the very fills being hedged); an fsync'd append to a file of
the router's own, beside the journal on the driver's disk, costs ~0.2 ms. The
ledger is still told, without waiting, and `Journal.load` and the ledger's
`recovery_state` merge this file, so every reader of children in flight
(router recovery, take-over, carry-over) sees the union of both records.

One JSON line per send, `[hedge_id, ts_ns, [[venue, symbol, client_order_id], ...]]`;
a hedge sent in slices has a line per slice and its children add up. A line
that does not parse (a crash tore the last append) is skipped: the write did
not complete, so its children were never sent.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InflightChild:
    """A child order the router is about to send: enough to find it again at the venue."""

    venue: str
    symbol: str
    client_order_id: str


Sent = dict[str, tuple[int, list[InflightChild]]]  # hedge id -> (first ts, children)


def sent_log_path(journal: Path) -> Path:
    """The router's log beside the ledger journal of the same run."""
    return journal.with_name(f"sent-{journal.stem.removeprefix('ledger-')}.jsonl")


class SentLogError(RuntimeError):
    """The log cannot be written: the children must not be sent."""


class SentLog:
    """Append-only; each `record` is on disk (fsync) before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"SentLog({str(self.path)!r})"

    def record(self, hedge_id: str, ts_ns: int, children: Sequence[InflightChild]) -> None:
        line = json.dumps(
            [hedge_id, ts_ns, [[c.venue, c.symbol, c.client_order_id] for c in children]]
        )
        try:
            fh = self._open()
            fh.write(line.encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        except OSError as exc:
            self.close()  # the next record reopens: a torn line is skipped on read
            raise SentLogError(f"sent log {self.path}: cannot write: {exc}") from None

    def close(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                log.warning("sent log %s: close failed", self.path)

    def _open(self) -> IO[bytes]:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            self._fh = open(self.path, "ab")  # noqa: SIM115 (held open for the run)
            if created:  # the file's name must survive a crash too
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        return self._fh


def read_sent_log(path: Path) -> Sent:
    """Every hedge's children in the log (none if there is no log)."""
    sent: Sent = {}
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return sent
    for line in raw.splitlines():
        try:
            hedge_id, ts_ns, children = json.loads(line)
            parsed = [InflightChild(str(v), str(s), str(c)) for v, s, c in children]
        except (ValueError, TypeError):
            continue  # torn by a crash mid-append: never sent
        first_ts, have = sent.get(str(hedge_id), (int(ts_ns), []))
        sent[str(hedge_id)] = (first_ts, merge_children(have, parsed))
    return sent


def merge_children(
    have: Sequence[InflightChild], more: Sequence[InflightChild]
) -> list[InflightChild]:
    """`have` then the children of `more` not in it (by client order id), each once."""
    out = list(have)
    known = {c.client_order_id for c in have}
    for c in more:
        if c.client_order_id not in known:
            known.add(c.client_order_id)
            out.append(c)
    return out


def merge_sent(inflight: Sent, sent: Sent, concluded: set[str]) -> Sent:
    """`inflight` with every hedge of `sent` not concluded added in (children unioned)."""
    out = dict(inflight)
    for hedge_id, (ts_ns, children) in sent.items():
        if hedge_id in concluded:
            continue
        first_ts, have = out.get(hedge_id, (ts_ns, []))
        out[hedge_id] = (first_ts, merge_children(have, children))
    return out
