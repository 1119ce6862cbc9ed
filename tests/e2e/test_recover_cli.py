"""`marketmesh recover`: journals listed with how each is settled, lost rows written back,
an open run abandoned by hand with its reason kept (issue 11, cases 1 and 7)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from analytics.views import connect
from engine.journal import Journal, read_journal
from engine.ledger import Ledger
from engine.types import Fill, Side
from marketmesh.cli import app

pytestmark = pytest.mark.e2e
CRASHED, CLEAN = "20261201T100000aaaa", "20261201T110000bbbb"


def _fill(i: int) -> Fill:
    return Fill(
        ts_ns=1_764_583_200_000_000_000 + i,
        venue="home",
        market="BTC/USDT",
        fill_id=f"q-{i}-f1",
        order_id=f"q-{i}",
        side=Side.BUY,
        price=Decimal("65000.5"),
        amount=Decimal("0.01"),
        fee=Decimal("0"),
        fee_currency="USDT",
    )


def _journal(root, run_id: str, *, closed: bool) -> list[Fill]:
    ledger = Ledger("USDT")
    fills = [_fill(i) for i in range(4)]
    with Journal(root / "_journal" / f"ledger-{run_id}.sqlite") as j:
        opening = ledger.open_balances("home", {"BTC": Decimal(1), "USDT": Decimal(10**6)}, 1)
        j.record(opening + [p for f in fills for p in ledger.post_fill(f)], fills=fills)
        j.record_meta(run_id=run_id, venues_outlive_run="1", quote_asset="USDT")
        if closed:
            j.mark_closed(2, "clean shutdown")
    return fills


def test_recover_lists_backfills_and_abandons(tmp_path):
    fills = _journal(tmp_path, CRASHED, closed=False)
    _journal(tmp_path, CLEAN, closed=True)
    runner = CliRunner()
    out = runner.invoke(app, ["recover", "--data-dir", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["run_id"]: r for r in json.loads(out.output)}
    assert rows[CRASHED]["settlement"] == "open"
    assert rows[CRASHED]["exposure"] == {"BTC": "0.04"}
    assert rows[CRASHED]["backfilled_fills"] == len(fills)
    assert rows[CLEAN]["settlement"] == "closed"
    con = connect(str(tmp_path))
    assert sorted(r[0] for r in con.execute("select fill_id from fills").fetchall()) == sorted(
        f.fill_id for f in fills
    )
    again = runner.invoke(app, ["recover", "--data-dir", str(tmp_path), "--json"])
    assert json.loads(again.output)[0]["backfilled_fills"] == 0  # idempotent

    refused = runner.invoke(app, ["recover", "--data-dir", str(tmp_path), "--abandon", CRASHED])
    assert refused.exit_code == 2 and "--reason" in refused.output
    closed = runner.invoke(
        app, ["recover", "--data-dir", str(tmp_path), "--abandon", CLEAN, "--reason", "x"]
    )
    assert closed.exit_code == 2 and "closed, not open" in closed.output
    done = runner.invoke(
        app,
        ["recover", "--data-dir", str(tmp_path), "--abandon", CRASHED, "--reason", "flat by hand"],
    )
    assert done.exit_code == 0, done.output
    state = read_journal(tmp_path / "_journal" / f"ledger-{CRASHED}.sqlite")
    assert state.settlement["abandoned"][1] == "flat by hand"


def test_recover_on_a_missing_data_dir_says_so(tmp_path):
    out = CliRunner().invoke(app, ["recover", "--data-dir", str(tmp_path / "nope")])
    assert out.exit_code == 2 and "no such directory" in out.output
