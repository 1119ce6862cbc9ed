"""A run that dies leaves exposure; the next run against the same venues takes it over.

Both runs trade on one venue-sim process started here (as a real exchange would
outlive them): the home venue in the HollaEx dialect, three hedge venues in the
Binance one, reached by URL like any exchange. Run 1 hedges nothing (net mode, a
threshold nobody reaches) and is cut off mid-run like a crashed driver; run 2 reads
its journal at start, carries its open exposure, cancels the quotes it left, hedges
the exposure and ends flat, its ledger equal to the venues' balances.
"""

from __future__ import annotations

import secrets
import time
from decimal import Decimal

import pytest
import yaml

from analytics.views import connect
from engine.config import parse_config
from engine.journal import Journal
from engine.ledger import Ledger
from marketmesh.graph import run_graph
from marketmesh.simproc import start_venue_sim
from tests.conftest import REPO

pytestmark = pytest.mark.integration
LOOPBACK = REPO / "configs" / "loopback.yaml"
CRASH_AT_S = 12


class DriverCrash(Exception):
    pass


def _config(raw: dict, sim, *, hedge: bool):
    data = yaml.safe_load(yaml.safe_dump(raw))
    for v in data["venues"]:
        v["url"] = sim.url_of(v["id"], "hollaex" if v.get("role") == "home" else "binance")
        v["api_key"], v["api_secret"] = "${MM_CARRY_KEY}", "${MM_CARRY_SECRET}"
    if not hedge:  # run 1 leaves every fill unhedged
        for m in data["markets"]:
            m["hedge_mode"] = "net"
        data["rebalancer"]["exposure_threshold_quote"] = 10**12
    return parse_config(data, "carry-over")


def test_a_new_run_carries_what_a_crashed_run_left_open(ray_session, tmp_path, monkeypatch):
    key, secret = secrets.token_hex(16), secrets.token_hex(32)
    monkeypatch.setenv("MM_CARRY_KEY", key)
    monkeypatch.setenv("MM_CARRY_SECRET", secret)
    sim = start_venue_sim(
        LOOPBACK,
        start_ns=time.time_ns(),
        api_key=key,
        api_secret=secret,
        log_path=tmp_path / "venue-sim.log",
    )
    data_dir = str(tmp_path / "data")
    raw = yaml.safe_load(LOOPBACK.read_text())
    try:
        first = _config(raw, sim, hedge=False)

        def crash(elapsed_s, _markets, _router):
            if elapsed_s >= CRASH_AT_S:
                raise DriverCrash

        with pytest.raises(DriverCrash):
            run_graph(first, config_path=LOOPBACK, duration_s=120, data_dir=data_dir,
                      on_status=crash)  # fmt: skip
        (journal_1,) = (tmp_path / "data" / "_journal").glob("ledger-*.sqlite")
        state = Journal(journal_1).load()
        left = {
            a: v
            for a, v in Ledger.replay("USDT", state.postings).positions().items()
            if a != "USDT" and v != 0
        }
        assert left and not state.inflight  # net mode: fills booked, nothing in flight

        second = _config(raw, sim, hedge=True)
        result = run_graph(second, config_path=LOOPBACK, duration_s=25, data_dir=data_dir)
    finally:
        sim.stop()

    run_1 = journal_1.stem.removeprefix("ledger-")
    journal_2 = next(
        p for p in (tmp_path / "data" / "_journal").glob("ledger-*.sqlite") if p != journal_1
    )
    carried = Journal(journal_2).load().carried
    # what run 1 booked, plus the fills its quotes got until run 2 cancelled them
    assert set(left) <= set(carried) and run_1 != result.run_id
    assert result.reconciled  # opened at the venues' balances, ended equal to them
    # the truth, independent of any ledger: every venue's holdings now against what the
    # venue-sim opened with (nothing enters or leaves but trades), per base asset
    start = {a: Decimal(0) for a in ("BTC", "ETH", "SOL")}
    for v in second.venues:
        for a in start:
            start[a] += Decimal(str(v.balances.get(a, 0)))
    now = {a: Decimal(0) for a in start}
    for assets in result.reconciliation.values():
        for a in start:
            if a in assets:
                now[a] += Decimal(assets[a][1])
    con = connect(data_dir)
    mids = dict(
        con.execute(
            "select split_part(market, '/', 1), arg_max(mid, ts) from book_samples"
            " where run_id = ? group by 1",
            [result.run_id],
        ).fetchall()
    )
    threshold = second.rebalancer.exposure_threshold_quote
    opened = {a: float(v) * mids[a] for a, v in left.items()}
    assert max(abs(x) for x in opened.values()) > threshold  # run 1 left real exposure
    for a in start:
        assert abs(float(now[a] - start[a])) * mids[a] <= threshold, (a, now[a] - start[a])
    # run 2 hedged the carried exposure (rebalancer plans), not only its own fills
    hedged = con.execute(
        "select count(*) from hedge_orders where run_id = ? and filled_amount > 0"
        " and hedge_id not like 'm-%'",
        [result.run_id],
    ).fetchone()[0]
    assert hedged > 0
