"""Balance bands in a full run: a venue short of BTC is topped up by withdrawals from
the others through unmodified ccxt; the ledger carries the amount in transit, and
every balance still reconciles exactly. One 25 s run."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from analytics.views import connect
from engine.config import load_config
from marketmesh.graph import run_graph
from tests.conftest import LOCAL_CONFIG
from tests.integration import checks

pytestmark = pytest.mark.integration

BAND = {"low": "2", "target": "4", "high": "8"}


@pytest.fixture(scope="module")
def banded_run(ray_session, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("transfers")
    raw = yaml.safe_load(LOCAL_CONFIG.read_text())
    for venue in raw["venues"]:
        if venue.get("role") == "home":
            continue
        venue["transfer_delay_s"] = 2
        venue["balance_bands"] = {"BTC": BAND}
        if venue["id"] == "binance-sim":
            venue["balances"]["BTC"] = 1  # below the band's low: must be topped up
    raw["rebalancer"] = {**raw.get("rebalancer", {}), "interval_s": 3}
    path = tmp / "banded.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_config(path)
    result = run_graph(cfg, config_path=path, duration_s=25, data_dir=str(tmp / "data"))
    return cfg, result, connect(str(tmp / "data"))


def test_the_short_venue_was_topped_up_and_the_transfers_completed(banded_run):
    _, _, con = banded_run
    rows = con.execute(
        "select transfer_id, to_venue, list(status order by ts), max(amount) from transfers "
        "group by 1, 2 order by 1"
    ).fetchall()
    assert rows, "no transfer was planned"
    assert all(to == "binance-sim" for _, to, _, _ in rows)
    assert all(s == ["planned", "sent", "completed"] for _, _, s, _ in rows), rows
    assert sum(a for *_, a in rows) >= Decimal(1)  # lifted to at least the low of 2
    in_transit = con.execute(
        "select sum(amount) from ledger_entries where account = 'transit'"
    ).fetchone()[0]
    assert in_transit == 0


def test_transfers_change_no_position_and_everything_reconciles(banded_run):
    cfg, result, con = banded_run
    assert checks.fills_not_booked_exactly_once(con) == []
    assert checks.unbalanced_entry_sets(con) == []
    assert checks.exposure_over_threshold(con, cfg) == []
    assert checks.ledger_vs_venues(con, result) == []
    assert result.reconciled
