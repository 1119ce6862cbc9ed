"""Taking over what earlier runs left open, before this run reads any balance.

Every journal beside this run's is read; each run that is not settled
(`engine.takeover`) is taken over: its booked position, what it had itself
carried, the child orders it had in flight that the venues say executed after
it stopped (looked up by client order id), and, for a home venue behind ccxt,
the fills its quotes got after it stopped. Rows a crash kept from Parquet are
written again from the journals first (`analytics.backfill`). Venues this run's
own venue-sim serves start afresh, so then nothing is carried (the open runs
stay open for a later run against their venues).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ray

from actors.context import RunContext
from analytics.backfill import backfill_run
from engine.config import AppConfig
from engine.journal import (
    Journal,
    JournalBusy,
    JournalState,
    earlier_journals,
    journal_path,
    run_id_of,
)
from engine.recovery import booked_fill_keys, carried_exposure, fill_look_back
from engine.takeover import EarlierRun, open_runs
from engine.types import ChildOrderResult
from engine.venues.ccxt_home import settle_earlier_runs
from marketmesh.graph.builder import home_behind_ccxt

log = logging.getLogger(__name__)

LATE_FILL_LOOKBACK_NS = 60 * 10**9


class TakeOverError(RuntimeError):
    """An earlier run's open exposure cannot be taken over: the run must not trade."""


@dataclass
class Journals:
    """Every earlier journal beside this run's: its state, or None while a live run holds it."""

    states: dict[str, JournalState | None] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def runs(self) -> list[EarlierRun]:
        return [
            EarlierRun.held_live(r) if s is None else EarlierRun.of(r, s)
            for r, s in self.states.items()
        ]


def read_journals(data_dir: str, run_id: str) -> Journals:
    out = Journals()
    for path in earlier_journals(journal_path(data_dir, run_id)):
        run = run_id_of(path)
        out.paths[run] = path
        try:
            journal = Journal(path)
        except JournalBusy:
            log.warning("run %s: its journal is held by a live process; left to it", run)
            out.states[run] = None
            continue
        try:
            out.states[run] = journal.load()
        finally:
            journal.close()
    return out


def carry_from_previous_run(
    config: AppConfig, ctx: RunContext, venues: dict[str, Any], home_access: dict[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """What every open earlier run left; returns (base amounts, those runs' ids)."""
    journals = read_journals(ctx.data_dir, ctx.run_id)
    for run_id, state in journals.states.items():
        if state is not None and "closed" not in state.settlement:
            backfill_run(ctx.data_dir, run_id, journals.paths[run_id], state)
    if any(v.simulated for v in config.venues):
        return {}, []
    pending = open_runs(journals.runs)
    if home_behind_ccxt(config):
        newest = pending[-1].run_id if pending else ""
        cancelled, _ = _settle_home(config, ctx, newest, JournalState(), home_access, late=False)
        if cancelled:
            log.warning("cancelled %d home quotes earlier runs left resting", cancelled)
    carried: dict[str, Decimal] = {}
    for run in pending:
        state = journals.states[run.run_id]
        assert state is not None  # open runs are never live
        for asset, amount in _run_exposure(config, ctx, run.run_id, state, venues, home_access):
            carried[asset] = carried.get(asset, Decimal(0)) + amount
    sources = [r.run_id for r in pending]
    if sources:
        log.warning(
            "taking over runs %s: exposure %s carried into this run",
            ", ".join(sources),
            {a: str(v) for a, v in carried.items() if v != 0} or "none",
        )
    return {a: str(v) for a, v in carried.items() if v != 0}, sources


def _run_exposure(
    config: AppConfig,
    ctx: RunContext,
    run: str,
    state: JournalState,
    venues: dict[str, Any],
    home_access: dict[str, Any],
) -> list[tuple[str, Decimal]]:
    """One open run's exposure: booked, carried, landed in flight, late home fills."""
    unresolved = {h: c for h, (_, c) in state.inflight.items() if h not in state.concluded}
    missing = sorted({c.venue for cs in unresolved.values() for c in cs if c.venue not in venues})
    if missing:
        raise TakeOverError(
            f"run {run} left child orders in flight on {', '.join(missing)}, which this "
            "config does not have: add the venue, or settle the run by hand with "
            f"`marketmesh recover --data-dir {ctx.data_dir} --abandon {run} --reason ...`"
        )
    looked_up = [
        (h, c, venues[c.venue].recover.remote(h, c.symbol, c.client_order_id))
        for h, children in sorted(unresolved.items())
        for c in children
    ]
    landed: list[ChildOrderResult] = []
    unknown: list[str] = []
    for hedge_id, child, ref in looked_up:
        found, result = ray.get(ref)
        if found == "found" and result is not None:
            landed.append(result)
        elif found == "undetermined":
            unknown.append(f"{hedge_id}/{child.client_order_id}@{child.venue}")
    if unknown:
        raise TakeOverError(
            f"run {run}: the venues cannot say whether child orders {', '.join(unknown)} "
            "executed; check them on the venue, then settle the run with "
            f"`marketmesh recover --data-dir {ctx.data_dir} --abandon {run} --reason ...`"
        )
    late: list[Any] = []
    if home_behind_ccxt(config):
        _, late = _settle_home(config, ctx, run, state, home_access, late=True)
    carried = carried_exposure(config.quote_asset, state.postings, state.carried, landed, late)
    log.warning(
        "run %s left %d hedges in flight (%d child orders executed after it stopped), "
        "%d home fills unbooked, exposure %s",
        run,
        len(unresolved),
        len(landed),
        len(late),
        {a: str(v) for a, v in carried.items()} or "none",
    )
    return list(carried.items())


def _run_start_ns(run_id: str) -> int:
    """When run `run_id` started (`new_run_id` puts it first, to the second, UTC)."""
    started = datetime.strptime(run_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return int(started.timestamp()) * 10**9


def _settle_home(
    config: AppConfig,
    ctx: RunContext,
    run: str,
    state: JournalState,
    access: dict[str, Any],
    *,
    late: bool,
) -> tuple[int, list[Any]]:
    """Cancel earlier runs' home quotes; with `late`, the fills run `run`'s quotes got
    that it never booked."""
    home = config.home_venue
    key = access.get("home_api_key") or home.api_key
    secret = access.get("home_api_secret") or home.api_secret
    since = fill_look_back(
        state.postings,
        [m.symbol for m in config.markets],
        started_ns=_run_start_ns(run) if run else ctx.sim_start_ns,
        lookback_ns=LATE_FILL_LOOKBACK_NS,
    )
    cancelled, fills = asyncio.run(
        settle_earlier_runs(
            home,
            config.markets,
            session=ctx.run_id,
            earlier=run if late else "",
            booked=booked_fill_keys(state.postings),
            since_ns=since,
            now_ns=time.time_ns(),
            base_url=home.base_url(access.get("home_url")),
            api_key=key.get_secret_value() if key else None,
            api_secret=secret.get_secret_value() if secret else None,
        )
    )
    return cancelled, fills
