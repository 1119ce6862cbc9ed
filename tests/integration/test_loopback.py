"""The whole graph with the home venue also behind ccxt (configs/loopback.yaml).

venue-sim serves the home exchange in the HollaEx dialect; the MarketActors
quote on it through the unmodified ccxt.hollaex client. One 25 s run; the
assertions read what the run wrote (Parquet through DuckDB) and what the
venues report through ccxt at the end.

Two hedge venues get key pairs of their own (from environment variables, as a
live config does), and mid-run every actor's process is searched for every
secret (issue 11, case 8): each venue's keys live only in its own venue actor.
"""

from __future__ import annotations

import os
import secrets
from decimal import Decimal

import pytest
import ray
import yaml

from analytics.views import connect
from engine.config import load_config
from marketmesh.graph import run_graph
from tests.conftest import REPO
from tests.integration import checks

pytestmark = pytest.mark.integration

LOOPBACK_CONFIG = REPO / "configs" / "loopback.yaml"
DURATION_S = 25


OWN_KEYS = ("binance-sim", "okx-sim")
HELD: dict[str, set[str]] = {}  # actor -> names of the secrets found in its process


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _secrets_in_process(_actor: object, digests: dict[str, str]) -> set[str]:
    """Runs inside an actor's process: every live Python string (in GC-tracked objects,
    and in the untracked containers they hold: a dict of strings is not tracked) and
    the environment, compared with each secret by its SHA-256 (the search carries no
    secret into the process); returns the names of those found."""
    import gc

    wanted = {d: n for n, d in digests.items()}
    found: set[str] = set()

    def check(text: str) -> None:
        if len(text) in (32, 64) and (name := wanted.get(_digest(text))) is not None:
            found.add(name)

    for value in os.environ.values():
        check(value)
    seen: set[int] = set()
    for obj in gc.get_objects():
        stack = list(gc.get_referents(obj))
        while stack:
            ref = stack.pop()
            if type(ref) is str:
                check(ref)
            elif (
                isinstance(ref, (dict, tuple, list, set, frozenset))
                and not gc.is_tracked(ref)
                and id(ref) not in seen
            ):
                seen.add(id(ref))
                stack.extend(ref.values() if isinstance(ref, dict) else ref)
    return found


@pytest.fixture(scope="module")
def loopback_run(ray_session, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loopback")
    data_dir = str(tmp / "data")
    raw = yaml.safe_load(LOOPBACK_CONFIG.read_text())
    keys = {}
    for v in raw["venues"]:
        if v["id"] in OWN_KEYS:
            env = v["id"].split("-")[0].upper()
            keys[f"{v['id']} key"] = os.environ[f"MM_LOOP_{env}_KEY"] = secrets.token_hex(16)
            keys[f"{v['id']} secret"] = os.environ[f"MM_LOOP_{env}_SECRET"] = secrets.token_hex(32)
            v["api_key"], v["api_secret"] = f"${{MM_LOOP_{env}_KEY}}", f"${{MM_LOOP_{env}_SECRET}}"
    for m in raw["markets"]:  # each fill hedged on its own: the checks follow it to its hedge
        m["hedge_mode"] = "mirror"
    path = tmp / "loopback.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    cfg = load_config(path)

    def scan(elapsed_s, _markets, _router):
        if elapsed_s < 10 or HELD:
            return
        control = ray.get_actor("marketmesh-control")
        handles = ray.get(control.handles.remote())
        digests = {n: _digest(v) for n, v in keys.items()}
        refs = {n: a.__ray_call__.remote(_secrets_in_process, digests) for n, a in handles.items()}
        refs["control"] = control.__ray_call__.remote(_secrets_in_process, digests)
        HELD.update({n: ray.get(r) for n, r in refs.items()})
        live = ray.get(control.current_config.remote())
        HELD["control: current_config"] = {
            n for n, v in keys.items() if v in live.model_dump_json(context={}) + repr(live)
        } | {f"{v.id} key" for v in live.venues if v.api_key is not None}

    try:
        result = run_graph(
            cfg, config_path=path, duration_s=DURATION_S, data_dir=data_dir, on_status=scan
        )
    finally:
        for name in list(os.environ):
            if name.startswith("MM_LOOP_"):
                del os.environ[name]
    return cfg, result, connect(data_dir)


def test_each_venue_key_lives_only_in_its_own_venue_actor(loopback_run):
    assert HELD, "the mid-run scan did not run"
    for venue in OWN_KEYS:  # the search sees what is there
        assert HELD[f"venue:{venue}"] == {f"{venue} key", f"{venue} secret"}, HELD
    holders = {n: found for n, found in HELD.items() if found and not n.startswith("venue:")}
    assert holders == {}


def test_the_home_venue_is_reached_through_ccxt(loopback_run):
    cfg, _, _ = loopback_run
    home = cfg.home_venue
    assert (home.kind.value, home.exchange, home.url) == ("ccxt", "hollaex", "sim")


def test_every_market_got_fills_through_ccxt(loopback_run):
    cfg, result, con = loopback_run
    rows = con.execute(
        "select market, fill_id, order_id from fills where run_id = ?", [result.run_id]
    ).fetchall()
    assert {m for m, _, _ in rows} == {m.symbol for m in cfg.markets}
    # CcxtHomeVenue's ids: the quote's client id (carried in HollaEx meta.note) + fill ordinal
    for market, fill_id, order_id in rows:
        prefix = f"{result.run_id}-{market.replace('/', '-')}-q"
        assert order_id.startswith(prefix) and fill_id.startswith(order_id + "-f"), fill_id


def test_every_fill_is_in_the_ledger_exactly_once(loopback_run):
    assert checks.fills_not_booked_exactly_once(loopback_run[2]) == []


def test_every_fill_is_hedged_or_has_a_skip_reason(loopback_run):
    _, _, con = loopback_run
    assert checks.fills_unhedged_without_reason(con) == []
    assert con.execute("select count(*) from hedge_fills").fetchone()[0] > 0


def test_ledger_equals_every_venue_balance_home_included(loopback_run):
    cfg, result, con = loopback_run
    home = result.reconciliation.get(cfg.home_venue.id)
    assert home, "the home venue was not reconciled"
    assert set(result.reconciliation) == {v.id for v in cfg.venues}
    assert checks.ledger_vs_venues(con, result) == []
    assert result.reconciled
    # the home account really traded: what it reports moved away from its opening
    moved = [a for a, (_, reported) in home.items() if Decimal(reported) != home_opening(cfg, a)]
    assert moved, home


def home_opening(cfg, asset: str) -> Decimal:
    return Decimal(str(cfg.home_venue.balances.get(asset, 0)))
