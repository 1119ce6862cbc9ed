"""What every actor of one run shares: identity of the run and where data goes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunContext:
    run_id: str
    config_hash: str
    data_dir: str
    sim_start_ns: int  # start of the shared reference price path
    sim_seed: int
