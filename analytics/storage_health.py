"""How a writer's Parquet writes are going, for the status, the alerts and the backoff.

A failed write never reaches the actor that appended the rows (it would turn a
storage fault into a lost hedge booking): the rows stay buffered, the next
flush waits out an exponential backoff, and the failure is counted here, where
`status` and the `storage_failure` alert read it. Rows that can never be written
(they do not convert to the table's schema, or the buffer outgrew its cap while
storage was down) are dropped and counted; fills and ledger entries among them
come back from the journal (`marketmesh recover`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
MAX_BUFFERED_ROWS = 1_000_000  # per table: ~1 GB of dicts at worst, then the oldest go


@dataclass
class StorageHealth:
    """One actor's writers, together: which tables fail since when, what was dropped.

    Tracked per table: a table that writes fine says nothing about one that
    can't (they may sit on different paths or object-store prefixes).
    """

    failures: int = 0
    last_error: str = ""
    dropped_rows: int = 0
    _failing: dict[str, int] = field(default_factory=dict)  # table -> failing since (ns)
    _backoff_until: dict[str, int] = field(default_factory=dict)
    _streak: dict[str, int] = field(default_factory=dict)

    @property
    def failing_since_ns(self) -> int:
        return min(self._failing.values(), default=0)

    def failed(self, table: str, exc: BaseException, now_ns: int | None = None) -> None:
        now_ns = time.time_ns() if now_ns is None else now_ns
        if table not in self._failing:
            self._failing[table] = now_ns
            log.error(
                "Parquet write of %s failed, rows kept and retried: %s", table, _describe(exc)
            )
        self.failures += 1
        self.last_error = f"{table}: {_describe(exc)}"
        streak = self._streak[table] = self._streak.get(table, 0) + 1
        step = BACKOFF_S[min(streak - 1, len(BACKOFF_S) - 1)]
        self._backoff_until[table] = now_ns + int(step * 1e9)

    def succeeded(self, table: str) -> None:
        if self._failing.pop(table, None) is not None:
            log.warning("Parquet writes of %s recovered", table)
        self._streak.pop(table, None)
        self._backoff_until.pop(table, None)

    def dropped(self, rows: int, why: str) -> None:
        self.dropped_rows += rows
        self.last_error = why
        log.error("Parquet: %d rows dropped: %s", rows, why)

    def waiting(self, table: str, now_ns: int | None = None) -> bool:
        """True while the backoff after `table`'s last failed write has not run out."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        return now_ns < self._backoff_until.get(table, 0)

    def as_status(self, buffered_rows: int, now_ns: int | None = None) -> dict[str, Any]:
        now_ns = time.time_ns() if now_ns is None else now_ns
        since = self.failing_since_ns
        return {
            "failing_for_s": (now_ns - since) / 1e9 if since else 0.0,
            "failing_tables": sorted(self._failing),
            "failures": self.failures,
            "last_error": self.last_error,
            "dropped_rows": self.dropped_rows,
            "buffered_rows": buffered_rows,
        }


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
