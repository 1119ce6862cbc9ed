"""The broker desk's outputs: its Parquet rows and its recent errors.

Nothing here may stop the desk: every append, flush or retag failure is logged
and kept for `/rfq/health` and `status()`, never raised, and one table failing
does not keep the other from being written.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from analytics.writer import PartWriters
from engine.broker.records import DeskError

log = logging.getLogger("actors.broker")

MAX_ERRORS_KEPT = 20
TABLES = ("fills", "rfq_quotes")


class DeskOutputs:
    """Buffered rows per table (writers set at `on_start`) and the last errors, newest last."""

    def __init__(self, broker_id: str) -> None:
        self._broker_id = broker_id
        self.errors: deque[DeskError] = deque(maxlen=MAX_ERRORS_KEPT)
        self.writers: PartWriters | None = None

    def note_error(self, where: str, exc: BaseException) -> None:
        log.error("broker %s: %s failed: %s: %s", self._broker_id, where, type(exc).__name__, exc)
        self.errors.append(DeskError(time.time_ns(), where, type(exc).__name__, str(exc)[:500]))

    def append(self, table: str, row: dict[str, Any]) -> None:
        try:
            self._writer(table).append([row])
        except Exception as exc:
            self.note_error(f"append {table}", exc)

    def flush(self) -> None:
        """Write the buffered rows, table by table.

        The writer drops a partition whose rows cannot be encoded and keeps rows
        an I/O error kept off disk for the next flush (analytics/writer.py).
        """
        for table in TABLES:
            try:
                self._writer(table).flush()
            except Exception as exc:
                self.note_error(f"flush {table}", exc)

    def retag(self, config_hash: str) -> None:
        for table in TABLES:
            try:
                self._writer(table).retag(config_hash)
            except Exception as exc:  # its rows stay buffered for the next flush
                self.note_error(f"flush {table}", exc)

    def _writer(self, table: str) -> Any:
        if self.writers is None:  # before on_start: nothing to write into yet
            raise RuntimeError("the broker has not started: no Parquet writers yet")
        return self.writers[table]
