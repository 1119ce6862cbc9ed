"""How deep the simulated Binance diff-depth stream reaches.

Every change inside `STREAM_DEPTH` levels a side is published on
`<symbol>@depth@100ms`, and a REST snapshot taken while the stream runs carries
the stream's `lastUpdateId`. The REST book itself extends to 5000 levels on
request, but generating and diffing that deep every 100 ms per symbol starves
venue-sim's event loop; a local book synced from the stream holds this many
levels (Binance's own snapshot default for a local book is 1000, ccxt asks for
what its caller asks).
"""

STREAM_DEPTH = 200
