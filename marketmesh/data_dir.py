"""Judging a `--data-dir` before a command uses it: a sentence naming the path and what is
wrong with it, instead of an `OSError` traceback half-way through a run or an empty table.

Object-store URIs (`s3://`, `gs://`, ...) are left to the storage layer: only the
store can say whether they hold a dataset.
"""

from __future__ import annotations

import os
from pathlib import Path

from analytics.schemas import TABLES


def is_remote(data_dir: str) -> bool:
    return "://" in data_dir


def prepare_output_dir(data_dir: str) -> str | None:
    """Create `data_dir` for a run to write into; the reason it cannot be, or None."""
    if is_remote(data_dir):
        return None
    path = Path(data_dir)
    blocker = _file_on_the_way(path)
    if blocker is not None:
        if blocker == path:
            return f"--data-dir {data_dir}: is a file, not a directory"
        return f"--data-dir {data_dir}: {blocker} is a file, not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--data-dir {data_dir}: cannot be created ({exc.strerror or exc})"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"--data-dir {data_dir}: not writable by this user"
    return None


def dataset_problem(data_dir: str) -> str | None:
    """Why there is no dataset to read at `data_dir` (None: there is one)."""
    if is_remote(data_dir):
        return None
    path = Path(data_dir)
    if not path.exists():
        blocker = _file_on_the_way(path)
        if blocker is not None and blocker != path:
            return f"no dataset at {data_dir}: {blocker} is a file, not a directory"
        return f"no dataset at {data_dir}: no such directory (run `marketmesh run` first)"
    if not path.is_dir():
        return f"no dataset at {data_dir}: it is a file, not a directory"
    try:
        found = any(any((path / table).rglob("*.parquet")) for table in TABLES)
    except OSError as exc:
        return f"no dataset at {data_dir}: cannot be read ({exc.strerror or exc})"
    if not found:
        return (
            f"no dataset at {data_dir}: no Parquet parts under it "
            f"(expected e.g. {data_dir.rstrip('/')}/book_samples/...)"
        )
    return None


def _file_on_the_way(path: Path) -> Path | None:
    """`path` itself or the first of its parents that exists as something other than a
    directory (mkdir would fail with FileExistsError / NotADirectoryError)."""
    for candidate in [*reversed(path.parents), path]:
        if candidate.exists() and not candidate.is_dir():
            return candidate
        if not candidate.exists():
            return None
    return None
