"""venue-sim's diff-depth stream reaches as deep as the deepest snapshot asked, never less."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.sim.binance_streams_depth import MIN_STREAM_DEPTH, STREAM_DEPTH, stream_depth_for


@given(st.lists(st.integers(min_value=1, max_value=5_000), max_size=20))
def test_depth_only_grows_to_the_deepest_snapshot_within_the_cap(limits):
    depth = MIN_STREAM_DEPTH
    for limit in limits:
        deeper = stream_depth_for(limit, depth)
        assert deeper >= depth  # a local book synced earlier stays covered
        depth = deeper
    assert depth == max([MIN_STREAM_DEPTH, *(min(limit, STREAM_DEPTH) for limit in limits)])
