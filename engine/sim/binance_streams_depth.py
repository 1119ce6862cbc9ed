"""How deep the simulated Binance diff-depth stream reaches.

Every change inside a symbol's stream depth is published on
`<symbol>@depth@100ms`, and a REST snapshot taken while the stream runs carries
the stream's `lastUpdateId`. The REST book itself extends to 5000 levels on
request, but generating and diffing that deep every 100 ms per symbol starves
venue-sim's event loop, so the stream reaches only as deep as a client needs:
`MIN_STREAM_DEPTH` levels until a snapshot of more is asked, then that many,
up to `STREAM_DEPTH` (Binance's own snapshot default for a local book is 1000;
ccxt asks for what its caller asks). Depth only grows: the snapshot that
deepens it first publishes the new levels on the stream, so every local book
synced before or after stays consistent. At 50 symbols a venue, a fixed 200
levels took venue-sim ~100 ms of CPU per 100 ms tick (bench/scale.py, issue 14).
"""

STREAM_DEPTH = 200
MIN_STREAM_DEPTH = 20


def stream_depth_for(limit: int, current: int) -> int:
    """The stream depth after a snapshot of `limit` levels was asked at `current`."""
    return max(current, min(STREAM_DEPTH, limit))
