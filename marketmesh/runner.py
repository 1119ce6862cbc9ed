"""Builds the actor graph from a config, runs it, and shuts it down without losing anything.

Shutdown order is what makes "nothing lost" true: markets stop quoting and
deliver their last fills, the router finishes every hedge in flight, the
rebalancer runs one final cycle, the ledger is reconciled against every
venue's own balances, and only then is every Parquet buffer flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ray
from pydantic import SecretStr
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.broker import BrokerActor
from actors.context import RunContext
from actors.control import CONTROL_NAME, RunControl
from actors.hedge_venue import HedgeVenueActor
from actors.ledger import InventoryLedgerActor
from actors.market import MarketActor, market_statuses
from actors.rebalancer import RebalancerActor
from actors.router import HedgeRouterActor
from engine.config import AppConfig, VenueKind
from engine.journal import Journal, JournalState, journal_path, previous_journal
from engine.recovery import booked_fill_keys, carried_exposure, fill_look_back
from engine.venues.ccxt_home import fetch_home_balances, settle_earlier_runs
from marketmesh.metrics import serve_metrics
from marketmesh.monitoring import GraphMonitor
from marketmesh.simproc import VenueSimProcess, start_venue_sim

log = logging.getLogger(__name__)

StatusCallback = Callable[[float, list[dict[str, Any]], dict[str, Any]], None]


@dataclass
class RunResult:
    run_id: str
    data_dir: str
    start_ns: int
    end_ns: int
    market_status: list[dict[str, Any]]
    router_status: dict[str, Any]
    reconciliation: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return all(a == b for assets in self.reconciliation.values() for a, b in assets.values())


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + secrets.token_hex(2)


def ensure_ray(config: AppConfig, address: str | None) -> None:
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, namespace="marketmesh", log_to_driver=False)
    else:
        ray.init(
            address="local",
            num_cpus=config.ray.num_cpus,
            include_dashboard=False,
            namespace="marketmesh",
            log_to_driver=False,
        )


def run_graph(
    config: AppConfig,
    *,
    config_path: Path,
    duration_s: float,
    data_dir: str,
    address: str | None = None,
    on_status: StatusCallback | None = None,
    status_interval_s: float = 1.0,
    metrics_port: int | None = None,
) -> RunResult:
    """Run the whole graph for `duration_s` (or until Ctrl-C) and shut it down cleanly."""
    run_id = new_run_id()
    start_ns = time.time_ns()
    ctx = RunContext(
        run_id=run_id,
        config_hash=config.config_hash,
        data_dir=data_dir,
        sim_start_ns=start_ns,
        sim_seed=config.sim.seed,
    )
    sim: VenueSimProcess | None = None
    key = secrets.token_hex(16)
    secret = secrets.token_hex(32)
    home_served = _home_behind_ccxt(config) and config.home_venue.simulated
    if any(v.simulated for v in config.hedge_venues) or home_served:
        sim = start_venue_sim(
            config_path,
            start_ns=start_ns,
            api_key=key,
            api_secret=secret,
            log_path=Path(data_dir) / "_logs" / f"venue-sim-{run_id}.log",
        )
    actors: list[Any] = []
    try:
        ensure_ray(config, address)
        return _run(
            config,
            ctx,
            sim,
            key,
            secret,
            duration_s,
            on_status,
            status_interval_s,
            actors,
            metrics_port,
        )
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        if sim is not None:
            sim.stop()


def _run(
    config: AppConfig,
    ctx: RunContext,
    sim: VenueSimProcess | None,
    key: str,
    secret: str,
    duration_s: float,
    on_status: StatusCallback | None,
    status_interval_s: float,
    actors: list[Any],
    metrics_port: int | None = None,
) -> RunResult:
    rc = config.ray
    symbols = [m.symbol for m in config.markets]
    control = _claim_control(ctx)
    actors.append(control)
    placement = _placement()
    # a crashed ledger restarts and replays its journal; calls in flight are retried
    # (posting is idempotent per event, so a retry never counts twice)
    ledger = InventoryLedgerActor.options(
        num_cpus=rc.venue_actor_cpus, max_restarts=-1, max_task_retries=-1, **placement["ledger"]
    ).remote(config, ctx)
    actors.append(ledger)
    venues: dict[str, Any] = {}
    for v in config.hedge_venues:
        served = sim is not None and v.simulated
        # a crashed venue actor restarts; the execute call it had in flight is retried
        # under the same client order ids, which the venue answers as duplicates: looked
        # up, never sent twice
        venues[v.id] = HedgeVenueActor.options(
            num_cpus=rc.venue_actor_cpus,
            max_restarts=-1,
            max_task_retries=-1,
            **placement["venue"],
        ).remote(
            v,
            symbols,
            base_url=sim.urls.get(v.id) if served and sim else None,
            api_key=SecretStr(key) if served and v.api_key is None else None,
            api_secret=SecretStr(secret) if served and v.api_secret is None else None,
        )
        actors.append(venues[v.id])
    _start_all({vid: a.on_start.remote() for vid, a in venues.items()}, "hedge venue")
    home_access = _home_access(config, sim, key, secret)
    # before any balance is read: what an earlier run left (quotes resting, exposure open)
    carried, carried_from = _carry_from_previous_run(config, ctx, venues, home_access)
    opening = {
        vid: {asset: str(amount) for asset, amount in bal.items()}
        for vid, bal in zip(
            venues, ray.get([a.balances.remote() for a in venues.values()]), strict=True
        )
    }
    if home_access:  # a home venue behind ccxt opens (and reconciles) at what it reports
        opening[config.home_venue.id] = {
            a: str(v) for a, v in _home_balances(config, home_access).items()
        }
    ray.get(ledger.on_start.remote(opening, carried, carried_from))
    # a crashed router restarts, concludes its in-flight hedges from the ledger's
    # journal (look-up by client order id, never a resend) and hedges on
    router = HedgeRouterActor.options(
        num_cpus=rc.venue_actor_cpus,
        max_restarts=-1,
        max_task_retries=-1,
        **placement["control_plane"],
    ).remote(config, ctx, venues, ledger)
    actors.append(router)
    ray.get(router.on_start.remote())
    hosts, markets = _start_markets(
        config, symbols, ctx, router, ledger, home_access, placement["market"]
    )
    actors.extend(hosts)
    rebalancer = RebalancerActor.options(
        num_cpus=rc.venue_actor_cpus,
        max_restarts=-1,
        max_task_retries=-1,
        **placement["control_plane"],
    ).remote(config, ctx, ledger, router, venues)
    actors.append(rebalancer)
    ray.get(rebalancer.on_start.remote())
    brokers = {
        b.id: BrokerActor.options(
            num_cpus=rc.market_actor_cpus, max_restarts=-1, max_task_retries=-1
        ).remote(config, b.id, ctx, venues, router, ledger)
        for b in config.brokers
    }
    actors.extend(brokers.values())
    for bid, ref in brokers.items():
        _start_all({bid: ref.on_start.remote()}, "broker")
        url = ray.get(ref.url.remote())
        print(f"broker {bid}: RFQ on {url}/rfq", file=sys.stderr, flush=True)
    handles = {
        "ledger": ledger,
        "router": router,
        "rebalancer": rebalancer,
        **{f"venue:{v}": a for v, a in venues.items()},
        **{f"market:{s}": a for s, a in markets.items()},
        **{f"broker:{b}": a for b, a in brokers.items()},
    }
    ray.get(control.register.remote(handles, config))
    monitor = GraphMonitor(config, ctx, handles)
    graph = _Graph(
        config=config,
        ctx=ctx,
        control=control,
        router=router,
        ledger=ledger,
        rebalancer=rebalancer,
        venues=venues,
        venue_symbols=list(symbols),
        hosts=hosts,
        markets=markets,
        handles=handles,
        actors=actors,
        home_access=home_access,
        market_placement=placement["market"],
    )
    metrics, metrics_server = serve_metrics(metrics_port) if metrics_port else (None, None)

    stop = _StopOnSignal()
    config_version = 1
    started = time.monotonic()
    with stop:
        while not stop.requested and (elapsed := time.monotonic() - started) < duration_s:
            stop.wait(min(status_interval_s, max(0.0, duration_s - elapsed)))
            polled = _ask_control(control.poll.remote())
            remote_stop, version, scale_waiting = polled or ("", config_version, False)
            if scale_waiting and not remote_stop and not stop.requested:
                request = _ask_control(control.take_scale.remote())
                if request is not None:  # `marketmesh scale`: add/remove markets live
                    _ask_control(control.finish_scale.remote(request[0], graph.scale(*request[1:])))
            if version != config_version:  # `marketmesh apply`/`rollback` changed the config
                config_version = version
                monitor.reconfigure(ray.get(control.current_config.remote()))
            if remote_stop:
                stop.requested = f"stop requested ({remote_stop})"
            if stop.requested or (on_status is None and metrics is None and not monitor.active):
                continue
            statuses = market_statuses(handles)
            router_status = ray.get(router.status.remote())
            fired = monitor.tick(statuses, router_status)
            if fired:
                _ask_control(control.record_alerts.remote(fired))
            if monitor.kill_switch:
                stop.requested = f"kill switch ({monitor.kill_switch})"
            if metrics is not None:
                metrics.update(statuses, router_status)
            if on_status is not None:
                on_status(time.monotonic() - started, statuses, router_status)
    if stop.requested:
        log.warning("%s received: shutting down cleanly", stop.requested)

    # shutdown: the order matters (see module docstring)
    ray.get([a.on_stop.remote() for a in brokers.values()])  # no new RFQ; fills delivered
    market_status = sorted(
        [s for group in ray.get([a.on_stop.remote() for a in hosts]) for s in group]
        + graph.removed_status,
        key=lambda s: s["market"],
    )
    ray.get(router.drain.remote())
    ray.get(rebalancer.on_stop.remote())
    for _ in range(FINAL_REBALANCE_CYCLES):  # one cycle may be capped by max notional
        outcomes = ray.get(rebalancer.on_timer.remote())
        ray.get(router.drain.remote())
        if not outcomes:
            break
    ray.get(rebalancer.snapshot_exposure.remote())  # the exposure the run ends with
    home_reported = (
        {config.home_venue.id: _home_balances(config, home_access)} if home_access else {}
    )
    reconciliation = _reconcile(ledger, venues, home_reported)
    router_status = ray.get(router.status.remote())
    ray.get([router.on_stop.remote(), ledger.on_stop.remote()])
    ray.get([a.on_stop.remote() for a in venues.values()])
    _ask_control(control.mark_finished.remote())
    monitor.close()
    if metrics_server is not None:
        metrics_server.shutdown()
    return RunResult(
        run_id=ctx.run_id,
        data_dir=ctx.data_dir,
        start_ns=ctx.sim_start_ns,
        end_ns=time.time_ns(),
        market_status=market_status,
        router_status=router_status,
        reconciliation=reconciliation,
        alerts=monitor.fired,
    )


def _start_markets(
    config: AppConfig,
    symbols: list[str],
    ctx: RunContext,
    router: Any,
    ledger: Any,
    home_access: dict[str, Any],
    placement: dict[str, Any],
) -> tuple[list[Any], dict[str, Any]]:
    """MarketActors for `symbols`, `ray.markets_per_actor` to an actor, started; returns
    the actors and each market's actor."""
    # a crashed market actor restarts (on another node if its own is gone), cancels its
    # predecessor's quotes and resumes each market's inventory from the ledger
    groups = market_groups(symbols, config.ray.markets_per_actor)
    hosts = [
        MarketActor.options(
            num_cpus=config.ray.market_actor_cpus,
            max_restarts=-1,
            max_task_retries=-1,
            **placement,
        ).remote(config, group, ctx, router, ledger, **home_access)
        for group in groups
    ]
    _start_all(
        {", ".join(g): a.on_start.remote() for g, a in zip(groups, hosts, strict=True)}, "market"
    )
    return hosts, {s: a for group, a in zip(groups, hosts, strict=True) for s in group}


@dataclass
class _Graph:
    """The live actor graph as the driver holds it, and how `marketmesh scale` reshapes it."""

    config: AppConfig
    ctx: RunContext
    control: Any
    router: Any
    ledger: Any
    rebalancer: Any
    venues: dict[str, Any]
    venue_symbols: list[str]
    hosts: list[Any]
    markets: dict[str, Any]
    handles: dict[str, Any]
    actors: list[Any]
    home_access: dict[str, Any]
    market_placement: dict[str, Any]
    removed_status: list[dict[str, Any]] = field(default_factory=list)

    def scale(self, config: AppConfig, add: list[str], remove: list[str]) -> dict[str, Any]:
        """Remove markets (quotes cancelled, last fills delivered, rows flushed), then add
        markets on new actors; the other markets' actors are never restarted. Returns
        what was done, or the error that stopped it (what was done before it stands)."""
        done: dict[str, Any] = {"added": [], "removed": [], "error": ""}
        try:
            for symbol in remove:
                host = self.markets.pop(symbol)
                self.removed_status.append(ray.get(host.remove_market.remote(symbol)))
                del self.handles[f"market:{symbol}"]
                ray.get(self.control.unregister.remote([f"market:{symbol}"]))
                if host not in self.markets.values():  # its last market: retire the actor
                    ray.get(host.on_stop.remote())
                    self.hosts.remove(host)
                    ray.kill(host)
                done["removed"].append(symbol)
            # venues keep polling a removed market's book: its asset may still need a price
            listed = list(dict.fromkeys(self.venue_symbols + [m.symbol for m in config.markets]))
            _start_all({v: a.on_symbols.remote(listed) for v, a in self.venues.items()}, "venue")
            self.venue_symbols = listed
            ray.get(
                [a.on_config.remote(config) for a in (self.router, self.ledger, self.rebalancer)]
                + [h.on_config.remote(config) for h in self.hosts]
            )
            self.config = config
            if add:
                hosts, markets = _start_markets(
                    config,
                    add,
                    self.ctx,
                    self.router,
                    self.ledger,
                    self.home_access,
                    self.market_placement,
                )
                self.hosts.extend(hosts)
                self.actors.extend(hosts)
                self.markets.update(markets)
                new = {f"market:{s}": a for s, a in markets.items()}
                self.handles.update(new)
                ray.get(self.control.register.remote(new))
                done["added"] = list(add)
        except Exception as exc:
            log.error("scale failed: %s", exc)
            done["error"] = str(getattr(exc, "cause", None) or exc)
        finally:
            if done["added"] or done["removed"]:
                ray.get(self.control.push_config.remote(self.config))
        log.warning("scale: %s", done)
        return done


def market_groups(symbols: list[str], per_actor: int) -> list[list[str]]:
    """Consecutive markets share an actor, `per_actor` at a time (the last group may be short)."""
    return [symbols[i : i + per_actor] for i in range(0, len(symbols), per_actor)]


VENUE_ACCESS = "venue_access"
FINAL_REBALANCE_CYCLES = 5
LATE_FILL_LOOKBACK_NS = 60 * 10**9


def _placement() -> dict[str, dict[str, Any]]:
    """Where each kind of actor goes on a cluster (a no-op on one machine).

    Markets spread over nodes; hedge venues go where the exchange keys and the
    whitelisted IPs are (nodes started with the custom resource `venue_access`,
    see cluster.yaml), if the cluster has any; the ledger stays on the driver's
    node, where its journal's disk is, unless that node is gone.
    """
    venue: dict[str, Any] = {}
    if ray.cluster_resources().get(VENUE_ACCESS):
        venue["resources"] = {VENUE_ACCESS: 0.001}
    driver_node = ray.get_runtime_context().get_node_id()
    return {
        "market": {"scheduling_strategy": "SPREAD"},
        "venue": venue,
        "ledger": {"scheduling_strategy": NodeAffinitySchedulingStrategy(driver_node, soft=True)},
        # router and rebalancer live with the driver (a run ends with its driver anyway);
        # they still restart in place after a crash
        "control_plane": {
            "scheduling_strategy": NodeAffinitySchedulingStrategy(driver_node, soft=True)
        },
    }


def _carry_from_previous_run(
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
    if _home_behind_ccxt(config):
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


def _ask_control(ref: Any) -> Any:
    """The control actor serves other processes (attach, stop, apply); losing it (its node
    gone) must not end the run: the answer is None and trading goes on."""
    try:
        return ray.get(ref, timeout=10)
    except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
        log.warning("control actor unreachable, attach/stop/apply unavailable: %s", exc)
        return None


def _claim_control(ctx: RunContext) -> Any:
    """Create the named control actor; refuse if another graph is live in this namespace."""
    deadline = time.monotonic() + 15
    while True:
        try:
            here = ray.get_runtime_context().get_node_id()  # with the driver, not a worker
            return RunControl.options(
                name=CONTROL_NAME,
                scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=True),
            ).remote(ctx.run_id, ctx.config_hash, ctx.data_dir)
        except ValueError:  # the name is taken: a live graph, or one being torn down
            try:
                other = ray.get_actor(CONTROL_NAME)
                info = ray.get(other.describe.remote(), timeout=5)
            except Exception:
                info = None
            if info is not None and not info["finished"]:
                raise RuntimeError(
                    f"another graph is running in this Ray namespace (run {info['run_id']}, "
                    f"data {info['data_dir']}); stop it with `marketmesh stop --all`"
                ) from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class _StopOnSignal:
    """Turns SIGINT/SIGTERM into a stop request, so the clean shutdown always runs.

    Ray's driver swallows SIGINT in places; a flag checked by the run loop is
    the one behaviour that holds wherever the signal lands.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.requested = ""
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: Any) -> None:
        self.requested = signal.Signals(signum).name
        self._event.set()

    def wait(self, timeout_s: float) -> None:
        self._event.wait(timeout_s)


def _start_all(pending: dict[str, Any], what: str) -> None:
    errors = []
    for name, ref in pending.items():
        try:
            ray.get(ref)
        except Exception as exc:
            cause = getattr(exc, "cause", None) or exc
            errors.append(f"{what} {name}: {cause}")
    if errors:
        raise RuntimeError("could not start:\n  " + "\n  ".join(errors))


def _reconcile(
    ledger: Any, venues: dict[str, Any], others: dict[str, dict[str, Decimal]] | None = None
) -> dict[str, dict[str, tuple[str, str]]]:
    """Ledger balance vs. the venue's own balance, per venue and asset, as exact strings.

    `venues` are the hedge venue actors; `others` the balances already fetched
    from venues no actor holds (a home venue behind ccxt).
    """
    booked = ray.get(ledger.balances.remote())
    reported = dict(
        zip(venues, ray.get([a.balances.remote() for a in venues.values()]), strict=True)
    )
    reported.update(others or {})
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for vid, venue_bal in reported.items():
        ours = booked.get(vid, {})
        assets = set(ours) | {a for a, v in venue_bal.items() if v != 0}
        out[vid] = {
            a: (_plain(Decimal(ours.get(a, "0"))), _plain(venue_bal.get(a, Decimal(0))))
            for a in sorted(assets)
        }
    return out


def _home_behind_ccxt(config: AppConfig) -> bool:
    return config.home_venue.kind is VenueKind.CCXT


def _home_access(
    config: AppConfig, sim: VenueSimProcess | None, key: str, secret: str
) -> dict[str, Any]:
    """MarketActor kwargs for a `kind: ccxt` home venue: URL and keys ({} for `kind: sim`)."""
    home = config.home_venue
    if not _home_behind_ccxt(config):
        return {}
    served = sim is not None and home.simulated
    return {
        "home_url": sim.url_of(home.id, "hollaex") if served and sim else None,
        "home_api_key": SecretStr(key) if served and home.api_key is None else None,
        "home_api_secret": SecretStr(secret) if served and home.api_secret is None else None,
    }


def _home_balances(config: AppConfig, access: dict[str, Any]) -> dict[str, Decimal]:
    """The home venue's exact balances through ccxt, fetched from the driver."""
    home = config.home_venue
    key = access["home_api_key"] or home.api_key
    secret = access["home_api_secret"] or home.api_secret
    url = access["home_url"] or (home.url if home.url != "sim" else None)
    return asyncio.run(
        fetch_home_balances(
            home,
            base_url=url,
            api_key=key.get_secret_value() if key else None,
            api_secret=secret.get_secret_value() if secret else None,
        )
    )


def _plain(d: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros: 600000, 0.0123."""
    return f"{d.normalize():f}"
