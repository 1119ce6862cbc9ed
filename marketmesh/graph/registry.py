"""Which graphs run on this host: one small file per live run, for the ops commands.

`marketmesh status/stop/apply/...` used to attach to `--address auto`, the Ray
cluster started last on the host, so an operator could act on someone else's
run without being told. Each run now leaves `{MARKETMESH_HOME or ~/.marketmesh}
/runs/{run_id}.json` (its Ray address, namespace, pid, host, config, data dir)
while it runs; the ops commands attach to the one live run, or ask which when
there are several, and always say which run they acted on.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

HOME_ENV = "MARKETMESH_HOME"


@dataclass(frozen=True, slots=True)
class RunEntry:
    run_id: str
    address: str
    namespace: str
    pid: int
    host: str
    config: str
    config_hash: str
    data_dir: str
    started_ns: int
    # Ray's RAY_AUTH_MODE of the run's cluster: a local cluster turns token auth on by
    # itself, but a client given its address explicitly must be told (Ray >= 2.5x)
    ray_auth_mode: str = ""

    def describe(self) -> str:
        return (
            f"run {self.run_id} (config {self.config} {self.config_hash}, host {self.host}, "
            f"data {self.data_dir})"
        )


def runs_dir() -> Path:
    home = os.environ.get(HOME_ENV)
    return (Path(home) if home else Path.home() / ".marketmesh") / "runs"


def register_run(entry: RunEntry) -> Path:
    path = runs_dir() / f"{entry.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(entry)))
    tmp.replace(path)
    return path


def unregister_run(run_id: str) -> None:
    (runs_dir() / f"{run_id}.json").unlink(missing_ok=True)


def live_runs() -> list[RunEntry]:
    """Runs whose driver is alive on this host, oldest first; stale files are removed."""
    out = []
    host = socket.gethostname()
    for path in sorted(runs_dir().glob("*.json")):
        try:
            entry = RunEntry(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if entry.host == host and not _alive(entry.pid):
            path.unlink(missing_ok=True)
            continue
        out.append(entry)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
