"""Graphs shared by more than one integration test module (each costs 20-70 s)."""

from __future__ import annotations

import pytest

from tests.integration.core_graph import CoreRun, run_core_graph
from tests.integration.rfq_graph import RfqRun, run_rfq_graph


@pytest.fixture(scope="session")
def rfq_run(ray_session, tmp_path_factory) -> RfqRun:
    """The OTC / broker run of test_rfq.py and test_rfq_security.py."""
    return run_rfq_graph(ray_session, tmp_path_factory.mktemp("rfq"))


@pytest.fixture(scope="session")
def core_run(ray_session, tmp_path_factory) -> CoreRun:
    """The core loop's run of test_core_loop.py and test_transfers_graph.py."""
    return run_core_graph(tmp_path_factory.mktemp("core-loop"))
