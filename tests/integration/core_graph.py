"""The core loop's run, shared by test_core_loop.py and test_transfers_graph.py (a graph
costs 45-70 s of the suite on a 2-core host): real Ray actors, venue-sim over HTTP,
unmodified ccxt, Parquet, DuckDB. One 40 s run of `configs/local.yaml` with:

* every fill hedged on its own (`mirror`), so the checks follow each fill to its hedge
  (the flagship default nets fills first; `bench/desk.py` measures that);
* storage failing from 8 s to 33 s (issue 11, case 5): the `fills` and
  `ledger_entries` tables can't be written (each directory replaced by a file);
* balance bands on BTC at every hedge venue, binance-sim opening below the band's low:
  the rebalancer (every 3 s) tops it up by withdrawals from the others through ccxt,
  2 s in transit each, some of them while the ledger's table is down;
* Prometheus scraped once mid-run, as a scraper sees it.
"""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from analytics.views import connect
from engine.config import AppConfig, HedgeMode, load_config
from engine.hedging.modes import with_hedge_mode
from marketmesh.graph import RunResult, run_graph
from tests.conftest import LOCAL_CONFIG

DURATION_S = 40
OUTAGE_S = (8, 33)  # storage down from 8 s to 33 s into the run
OUTAGE_TABLES = ("fills", "ledger_entries")
BAND = {"low": "2", "target": "4", "high": "8"}
SHORT_VENUE = "binance-sim"  # opens with 1 BTC, below the band's low


class CoreRun(NamedTuple):
    cfg: AppConfig
    result: RunResult
    con: Any  # DuckDB connection on the run's Parquet
    metrics: str  # the Prometheus text scraped mid-run


def banded_config(tmp: Path) -> tuple[AppConfig, Path]:
    """`configs/local.yaml` with BTC bands at every hedge venue, one venue short of BTC."""
    raw = yaml.safe_load(LOCAL_CONFIG.read_text())
    for venue in raw["venues"]:
        if venue.get("role") == "home":
            continue
        venue["transfer_delay_s"] = 2
        venue["balance_bands"] = {"BTC": BAND}
        if venue["id"] == SHORT_VENUE:
            venue["balances"]["BTC"] = 1
    raw["rebalancer"] = {**raw.get("rebalancer", {}), "interval_s": 3}
    path = tmp / "banded.yaml"
    path.write_text(yaml.safe_dump(raw))
    return with_hedge_mode(load_config(path), HedgeMode.MIRROR), path


def run_core_graph(tmp: Path) -> CoreRun:
    data_dir = str(tmp / "data")
    cfg, path = banded_config(tmp)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scraped: list[str] = []
    outage = {"state": "before"}

    def storage(elapsed_s: float) -> None:
        root = Path(data_dir)
        if outage["state"] == "before" and elapsed_s >= OUTAGE_S[0]:
            for t in OUTAGE_TABLES:
                if (root / t).exists():
                    (root / t).rename(root / f".{t}.away")
                (root / t).write_text("storage is down")
            outage["state"] = "down"
        elif outage["state"] == "down" and elapsed_s >= OUTAGE_S[1]:
            for t in OUTAGE_TABLES:
                (root / t).unlink()
                away = root / f".{t}.away"
                if away.exists():
                    away.rename(root / t)
            outage["state"] = "after"

    def scrape_once(elapsed_s, _markets, _router):
        storage(elapsed_s)
        if elapsed_s > 15 and not scraped:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                scraped.append(r.read().decode())

    result = run_graph(
        cfg,
        config_path=path,
        duration_s=DURATION_S,
        data_dir=data_dir,
        on_status=scrape_once,
        metrics_port=port,
    )
    assert outage["state"] == "after"
    (metrics,) = scraped
    return CoreRun(cfg, result, connect(data_dir), metrics)
