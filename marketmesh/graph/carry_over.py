"""Taking over what an earlier run left open, before this run reads any balance."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import ray

from actors.context import RunContext
from engine.config import AppConfig
from engine.journal import Journal, JournalState, journal_path, previous_journal
from engine.recovery import booked_fill_keys, carried_exposure, fill_look_back
from engine.venues.ccxt_home import settle_earlier_runs
from marketmesh.graph.builder import home_behind_ccxt

log = logging.getLogger(__name__)

LATE_FILL_LOOKBACK_NS = 60 * 10**9


def carry_from_previous_run(
    config: AppConfig, ctx: RunContext, venues: dict[str, Any], home_access: dict[str, Any]
) -> tuple[dict[str, str], str]:
    """What the last run left open, from its journal, before this run reads any balance.

    Its booked position; the child orders it had in flight that the venues say executed
    after it stopped (looked up by client order id); and, for a home venue behind ccxt,
    its quotes are cancelled and the fills they got after its last booked one are added.
    Venues this run's own venue-sim serves start afresh, so nothing is carried then.
    Returns (base amounts, that run's id).
    """
    if any(v.simulated for v in config.venues):
        return {}, ""
    previous = previous_journal(journal_path(ctx.data_dir, ctx.run_id))
    state = JournalState()
    run = ""
    if previous is not None:
        run = previous.stem.removeprefix("ledger-")
        journal = Journal(previous)
        try:
            state = journal.load()
        finally:
            journal.close()
    late: list[Any] = []
    if home_behind_ccxt(config):
        cancelled, late = _settle_home(config, ctx, run, state, home_access)
        if cancelled:
            log.warning("cancelled %d home quotes earlier runs left resting", cancelled)
    if previous is None:
        return {}, ""
    unresolved = {h: c for h, c in state.inflight.items() if h not in state.concluded}
    looked_up = [
        (h, c, venues[c.venue].recover.remote(h, c.symbol, c.client_order_id))
        for h, children in sorted(unresolved.items())
        for c in children
        if c.venue in venues
    ]
    landed, unknown = [], []
    for hedge_id, child, ref in looked_up:
        found, result = ray.get(ref)
        if found == "found" and result is not None:
            landed.append(result)
        elif found == "undetermined":
            unknown.append(f"{hedge_id}/{child.client_order_id}@{child.venue}")
    if unknown:
        log.error("run %s: venues cannot say about child orders %s", run, ", ".join(unknown))
    carried = carried_exposure(config.quote_asset, state.postings, state.carried, landed, late)
    log.warning(
        "run %s left %d hedges in flight (%d child orders executed after it stopped), "
        "%d home fills unbooked, exposure %s: carried into this run",
        run,
        len(unresolved),
        len(landed),
        len(late),
        {a: str(v) for a, v in carried.items()} or "none",
    )
    return {a: str(v) for a, v in carried.items()}, run


def _run_start_ns(run_id: str) -> int:
    """When run `run_id` started (`new_run_id` puts it first, to the second, UTC)."""
    started = datetime.strptime(run_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return int(started.timestamp()) * 10**9


def _settle_home(
    config: AppConfig, ctx: RunContext, run: str, state: JournalState, access: dict[str, Any]
) -> tuple[int, list[Any]]:
    """Cancel earlier runs' home quotes; the fills run `run`'s quotes got unbooked."""
    home = config.home_venue
    key = access.get("home_api_key") or home.api_key
    secret = access.get("home_api_secret") or home.api_secret
    since = fill_look_back(
        state.postings,
        [m.symbol for m in config.markets],
        started_ns=_run_start_ns(run) if run else ctx.sim_start_ns,
        lookback_ns=LATE_FILL_LOOKBACK_NS,
    )
    return asyncio.run(
        settle_earlier_runs(
            home,
            config.markets,
            session=ctx.run_id,
            earlier=run,
            booked=booked_fill_keys(state.postings),
            since_ns=since,
            now_ns=time.time_ns(),
            base_url=access.get("home_url") or (home.url if home.url != "sim" else None),
            api_key=key.get_secret_value() if key else None,
            api_secret=secret.get_secret_value() if secret else None,
        )
    )
