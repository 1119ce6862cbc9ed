"""Graphs shared by more than one integration test module (each costs 20-70 s)."""

from __future__ import annotations

import pytest

from tests.integration.rfq_graph import RfqRun, run_rfq_graph


@pytest.fixture(scope="session")
def rfq_run(ray_session, tmp_path_factory) -> RfqRun:
    """The OTC / broker run of test_rfq.py and test_rfq_security.py."""
    return run_rfq_graph(ray_session, tmp_path_factory.mktemp("rfq"))
