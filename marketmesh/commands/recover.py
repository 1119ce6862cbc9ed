"""`marketmesh recover`: every earlier run's journal, how it is settled, and its lost rows.

A run that did not end through the clean shutdown is *open* until a later run
against the same venues takes it over (`engine.takeover`). This command shows
each journal's state, writes back the Parquet rows a crash kept from the
dataset, and lets the operator settle a run by hand (`--abandon RUN --reason`),
which is recorded in that run's journal, e.g. after flattening it on the venues.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def recover(
        data_dir: Annotated[str, typer.Option(help="the run's data dir")] = "./data",
        abandon: Annotated[
            str | None, typer.Option(help="settle this open run by hand (its run id)")
        ] = None,
        reason: Annotated[
            str | None, typer.Option(help="why the run is abandoned (kept in its journal)")
        ] = None,
        json_out: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
    ) -> None:
        """List earlier runs' journals and how each is settled; write Parquet rows a crash
        lost back from the journals; with --abandon, settle an open run by hand."""
        rows = _recover(data_dir, abandon, reason)
        if json_out:
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            typer.echo(f"no run journals under {data_dir}")
            return
        for r in rows:
            exposure = ", ".join(f"{a} {v}" for a, v in r["exposure"].items()) or "flat"
            typer.echo(
                f"{r['run_id']}  {r['settlement']:<12}  exposure {exposure}  "
                f"backfilled {r['backfilled_fills']} fills, {r['backfilled_entries']} entries"
                + (f"  ({r['detail']})" if r["detail"] else "")
            )


def _recover(data_dir: str, abandon: str | None, reason: str | None) -> list[dict[str, Any]]:
    from pathlib import Path

    from analytics.backfill import backfill_run
    from engine.journal import Journal, JournalBusy, JournalState, read_journal, run_id_of
    from engine.recovery import carried_exposure
    from engine.takeover import EarlierRun, Settlement, settlement

    root = Path(data_dir) / "_journal"
    if not Path(data_dir).is_dir():
        _fail(f"--data-dir {data_dir}: no such directory")
    paths = sorted(root.glob("ledger-*.sqlite")) if root.is_dir() else []
    states: dict[str, JournalState | None] = {}
    for path in paths:
        try:
            journal = Journal(path)
        except JournalBusy:
            states[run_id_of(path)] = None
            continue
        try:
            states[run_id_of(path)] = journal.load()
        finally:
            journal.close()
    runs = [
        EarlierRun.held_live(r) if s is None else EarlierRun.of(r, s) for r, s in states.items()
    ]
    if abandon is not None:
        _abandon(root, abandon, reason, runs)
        states[abandon] = read_journal(root / f"ledger-{abandon}.sqlite")
        runs = [
            EarlierRun.held_live(r) if s is None else EarlierRun.of(r, s) for r, s in states.items()
        ]
    out = []
    for run in runs:
        state = states[run.run_id]
        settled = settlement(run, runs)
        done = None
        if state is not None and settled is not Settlement.CLOSED:
            done = backfill_run(data_dir, run.run_id, root / f"ledger-{run.run_id}.sqlite", state)
        exposure = (
            carried_exposure(
                state.meta.get("quote_asset", "USDT"), state.postings, state.carried, []
            )
            if state is not None and settled in (Settlement.OPEN, Settlement.ABANDONED)
            else {}
        )
        detail = ""
        if state is not None:
            detail = next(iter(state.settlement.values()), (0, ""))[1]
        out.append(
            {
                "run_id": run.run_id,
                "settlement": settled.value,
                "detail": detail,
                "exposure": {a: str(v) for a, v in exposure.items()},
                "backfilled_fills": done.fills if done else 0,
                "backfilled_entries": done.ledger_entries if done else 0,
            }
        )
    return out


def _abandon(root: Any, run_id: str, reason: str | None, runs: list[Any]) -> None:
    import time

    from engine.journal import Journal
    from engine.takeover import Settlement, settlement

    if not reason or not reason.strip():
        _fail("--abandon needs --reason: why this run's open exposure is no longer ours")
    matching = [r for r in runs if r.run_id == run_id]
    if not matching:
        _fail(f"--abandon {run_id}: no journal for that run under {root}")
    state = settlement(matching[0], runs)
    if state is not Settlement.OPEN:
        _fail(f"--abandon {run_id}: the run is {state.value}, not open; nothing to abandon")
    journal = Journal(root / f"ledger-{run_id}.sqlite")
    try:
        journal.mark_abandoned(time.time_ns(), reason.strip())
    finally:
        journal.close()
    typer.secho(f"run {run_id}: abandoned ({reason.strip()})", err=True, fg=typer.colors.YELLOW)


def _fail(message: str) -> NoReturn:
    typer.secho(f"recover: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)
