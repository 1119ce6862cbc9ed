"""One real local Ray for the whole test run (2 CPUs, no dashboard)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCAL_CONFIG = REPO / "configs" / "local.yaml"


@pytest.fixture(scope="session")
def ray_session():
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        namespace="marketmesh-tests",
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()
