"""Actors that never call a venue start without ccxt: importing it loads every exchange
(~1 s of a core with ccxt.pro), and each actor is a process that pays its imports at
every start-up (BENCHMARKS.md, "Start-up"). What they receive from the venue actors
(`VenueSnapshot`, `BookChanges`) unpickles without it too."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import pickle, sys
import actors.ledger, actors.market, actors.rebalancer, actors.router
from engine.types import BookSnapshot
from engine.venues.snapshot import VenueSnapshot
from engine.venues.stream_view import BookChanges

book = BookSnapshot("v", "BTC/USDT", 1, ((1.0, 2.0),), ((3.0, 4.0),))
pickle.loads(pickle.dumps(VenueSnapshot("v", True, "", {"BTC/USDT": book}, {}, 0.001)))
pickle.loads(pickle.dumps(BookChanges(1, 2, {"BTC/USDT": book})))
print(sorted(m for m in sys.modules if m == "ccxt" or m.startswith("ccxt.")))
"""


def test_router_ledger_rebalancer_and_market_actors_import_no_ccxt():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_probe_sees_ccxt_where_it_is_imported():
    """The check above can fail: the hedge venue actor does load ccxt."""
    probe = "import sys, actors.hedge_venue; print('ccxt' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def test_an_error_in_a_process_without_ccxt_is_classified_without_loading_it():
    """A market actor's first error must not stall its event loop loading ccxt."""
    probe = """
import sys
from engine.venues.errors import UnknownOutcome, VenueError, VenueRetryable, classify
assert type(classify(TimeoutError(), "v", "create_order", sent=True)) is UnknownOutcome
assert type(classify(TimeoutError(), "v", "fetch_balance")) is VenueRetryable
assert type(classify(ValueError("odd"), "v", "fetch_balance")) is VenueError
print("ccxt" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
