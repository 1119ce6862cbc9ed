"""venue-sim is launched, then waited for: the driver starts Ray while it boots. A
simulator that never becomes ready is stopped and named with its log, whenever asked."""

import time
from pathlib import Path

import pytest

from marketmesh.simproc import VenueSimError, launch_venue_sim


def test_a_simulator_that_exits_at_start_is_reported_with_its_log(tmp_path: Path):
    log = tmp_path / "venue-sim.log"
    launch = launch_venue_sim(
        tmp_path / "no-such-config.yaml", start_ns=0, api_key="k", api_secret="s", log_path=log
    )
    time.sleep(0.1)  # the driver does other work here (Ray) before it asks
    with pytest.raises(VenueSimError) as err:
        launch.ready()
    assert f"see {log}" in str(err.value)
    assert "no-such-config.yaml" in str(err.value)  # the simulator's own reason, quoted
    assert launch.sim.proc.poll() is not None  # nothing left running
