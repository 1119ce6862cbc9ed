"""Starts `marketmesh venue-sim` as a subprocess on free loopback ports.

A separate process keeps the simulated exchanges off the driver's and the
actors' event loops, exactly as real venues would be.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

READY_TIMEOUT_S = 60.0


class VenueSimError(RuntimeError):
    pass


@dataclass
class VenueSimProcess:
    """The running simulator: per served venue id, its base URL and REST dialect."""

    proc: subprocess.Popen[str]
    urls: dict[str, str] = field(default_factory=dict)
    dialects: dict[str, str] = field(default_factory=dict)

    def url_of(self, venue_id: str, dialect: str) -> str:
        """The URL of a venue served in `dialect` (e.g. the home venue as `hollaex`)."""
        if self.dialects.get(venue_id) != dialect or venue_id not in self.urls:
            served = ", ".join(f"{v} ({self.dialects.get(v, '?')})" for v in self.urls)
            raise VenueSimError(
                f"venue-sim serves no venue {venue_id!r} in the {dialect} dialect "
                f"(it serves: {served or 'nothing'})"
            )
        return self.urls[venue_id]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@dataclass
class VenueSimLaunch:
    """A simulator launched and still booting (~1.3 s of a core): the driver starts Ray
    meanwhile and asks for it `ready()` once it needs the URLs."""

    sim: VenueSimProcess
    lines: queue.Queue[str | None]
    log_path: Path
    launched: float  # time.monotonic() at launch: the ready deadline counts from it

    def ready(self) -> VenueSimProcess:
        """The simulator once it printed `ready` with one URL per venue; stopped, and an
        error quoting its log, if it does not within `READY_TIMEOUT_S` of its launch."""
        sim = self.sim
        deadline = self.launched + READY_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            parts = line.split()
            if parts == ["ready"]:
                return sim
            if len(parts) >= 2 and parts[1].startswith("http://"):
                sim.urls[parts[0]] = parts[1]
                for extra in parts[2:]:
                    if extra.startswith("dialect="):
                        sim.dialects[parts[0]] = extra.removeprefix("dialect=")
        sim.stop()
        tail = self.log_path.read_text()[-2000:] if self.log_path.exists() else ""
        raise VenueSimError(f"venue-sim did not become ready (see {self.log_path}):\n{tail}")


def start_venue_sim(
    config_path: Path, *, start_ns: int, api_key: str, api_secret: str, log_path: Path
) -> VenueSimProcess:
    """Launch the simulator; return once it printed `ready` with one URL per venue.

    Each venue line reads `<venue id> http://127.0.0.1:PORT dialect=<binance|hollaex>`.
    """
    return launch_venue_sim(
        config_path, start_ns=start_ns, api_key=api_key, api_secret=api_secret, log_path=log_path
    ).ready()


def launch_venue_sim(
    config_path: Path, *, start_ns: int, api_key: str, api_secret: str, log_path: Path
) -> VenueSimLaunch:
    """Launch the simulator and return at once (`VenueSimLaunch.ready` waits for it)."""
    env = dict(os.environ)
    env["MARKETMESH_SIM_API_KEY"] = api_key
    env["MARKETMESH_SIM_API_SECRET"] = api_secret
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stderr = log_path.open("w")
    cmd = [
        sys.executable,
        "-m",
        "marketmesh",
        "venue-sim",
        "--config",
        str(config_path),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--start-ns",
        str(start_ns),
    ]
    # own session: a Ctrl-C meant for the driver must not kill the venues before the
    # driver has finished its hedges and reconciled against them; the driver stops it
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, start_new_session=True
    )
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: IO[str]) -> None:  # a thread: readline blocks, the deadline must not
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    return VenueSimLaunch(VenueSimProcess(proc), lines, log_path, time.monotonic())
