"""Builds the actor graph from a config: each actor from the options table, all created
at once (their worker processes boot side by side, `Spawned`), then started in dependency
order (venues, ledger, router, rebalancer, brokers), quoting markets last, once the
router's streamed books are young enough to hedge on."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import ray
from pydantic import SecretStr

from actors.broker import BrokerActor
from actors.context import Peer, RunContext, actor_name
from actors.hedge_venue import HedgeVenueActor
from actors.ledger import InventoryLedgerActor
from actors.market import MarketActor
from actors.rebalancer import RebalancerActor
from actors.router import HedgeRouterActor
from engine.config import AppConfig, VenueKind
from marketmesh.graph.options import ActorKind, spawn
from marketmesh.simproc import VenueSimProcess

log = logging.getLogger(__name__)

# how long quoting waits at start-up for the streamed books to be young (they are in
# well under a second on loopback; a venue whose stream does not come up is quoted around)
BOOKS_READY_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class SimAccess:
    """This run's own venue-sim (if any) and the key pair it opened its accounts with."""

    process: VenueSimProcess | None
    api_key: str
    api_secret: str


@dataclass
class Graph:
    """The live actor graph as the driver holds it."""

    config: AppConfig
    ctx: RunContext
    control: Any
    ledger: Any
    venues: dict[str, Any]
    home_access: dict[str, Any]
    router: Any = None
    rebalancer: Any = None
    venue_symbols: list[str] = field(default_factory=list)
    hosts: list[Any] = field(default_factory=list)
    markets: dict[str, Any] = field(default_factory=dict)
    brokers: dict[str, Any] = field(default_factory=dict)
    actors: list[Any] = field(default_factory=list)
    removed_status: list[dict[str, Any]] = field(default_factory=list)

    @property
    def handles(self) -> dict[str, Any]:
        """Every actor by the name `marketmesh status` and the control actor use."""
        return {
            "ledger": self.ledger,
            "router": self.router,
            "rebalancer": self.rebalancer,
            **{f"venue:{v}": a for v, a in self.venues.items()},
            **{f"market:{s}": a for s, a in self.markets.items()},
            **{f"broker:{b}": a for b, a in self.brokers.items()},
        }


class LiveHandles(Mapping[str, Any]):
    """The graph's handles as they are now (`scale` adds and removes markets), for the
    parts of the driver that keep a reference (the alert monitor)."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph

    def __getitem__(self, name: str) -> Any:
        return self._graph.handles[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._graph.handles)

    def __len__(self) -> int:
        return len(self._graph.handles)


@dataclass(frozen=True, slots=True)
class Peers:
    """The actors other actors call, by name (`actors.context.Peer`): constructors get
    these, never handles, so no actor's restart depends on the object store."""

    run_id: str
    venue_ids: list[str]

    @property
    def ledger(self) -> Peer:
        return Peer(actor_name(self.run_id, "ledger"))

    @property
    def router(self) -> Peer:
        return Peer(actor_name(self.run_id, "router"))

    @property
    def venues(self) -> dict[str, Peer]:
        return {v: Peer(actor_name(self.run_id, f"venue:{v}")) for v in self.venue_ids}


@dataclass
class Spawned:
    """The run's actors, created at once and not yet started.

    Each actor is a worker process that boots Ray and imports its modules before its
    constructor runs (1-3 s of a core each). Created one after another, as each start
    awaited the one before, those boots made up most of the start-up: 21 s of a 3-market
    run's 25 s between "hedge venues" and the first quote on 2 cores (BENCHMARKS.md,
    "Start-up"). Created together they boot side by side while the venues start; the
    starts (`on_start`) still run in dependency order, and quoting still starts last.
    """

    venues: dict[str, Any]
    ledger: Any
    router: Any
    rebalancer: Any
    hosts: list[Any]  # the market actors, one per group of `market_groups`
    groups: list[list[str]]


def spawn_actors(
    config: AppConfig,
    ctx: RunContext,
    sim: SimAccess,
    access: dict[str, Any],
    actors: list[Any],
) -> Spawned:
    """Create every actor of the run (`Spawned`); each is appended to `actors` as it is
    made, so a failed start kills them all."""
    venues = create_venues(config, sim, actors, ctx.run_id)
    ledger = create_ledger(config, ctx, actors)
    peers = Peers(ctx.run_id, list(venues))
    router = spawn(HedgeRouterActor, ActorKind.ROUTER, config, name=peers.router.name).remote(
        config.redacted(), ctx, peers.venues, peers.ledger
    )
    actors.append(router)
    rebalancer = spawn(RebalancerActor, ActorKind.REBALANCER, config).remote(
        config.redacted(), ctx, peers.ledger, peers.router, peers.venues
    )
    actors.append(rebalancer)
    groups = market_groups([m.symbol for m in config.markets], config.ray.markets_per_actor)
    hosts = create_market_hosts(config, ctx, list(venues), access, groups)
    actors.extend(hosts)
    return Spawned(venues, ledger, router, rebalancer, hosts, groups)


def create_venues(
    config: AppConfig, sim: SimAccess, actors: list[Any], run_id: str
) -> dict[str, Any]:
    """One HedgeVenueActor per hedge venue, created (not started)."""

    def venue_name(venue_id: str) -> str:
        return actor_name(run_id, f"venue:{venue_id}")

    symbols = [m.symbol for m in config.markets]
    venues: dict[str, Any] = {}
    for v in config.hedge_venues:
        served = sim.process is not None and v.simulated
        venues[v.id] = spawn(
            HedgeVenueActor, ActorKind.VENUE, config, name=venue_name(v.id)
        ).remote(
            v,
            symbols,
            base_url=sim.process.urls.get(v.id) if served and sim.process else None,
            api_key=SecretStr(sim.api_key) if served and v.api_key is None else None,
            api_secret=SecretStr(sim.api_secret) if served and v.api_secret is None else None,
        )
        actors.append(venues[v.id])
    return venues


def start_venues(venues: dict[str, Any]) -> None:
    """Start every hedge venue (markets, balances, first books), side by side."""
    start_all({vid: a.on_start.remote() for vid, a in venues.items()}, "hedge venue")


def create_ledger(config: AppConfig, ctx: RunContext, actors: list[Any]) -> Any:
    ledger = spawn(
        InventoryLedgerActor, ActorKind.LEDGER, config, name=actor_name(ctx.run_id, "ledger")
    ).remote(config.redacted(), ctx)
    actors.append(ledger)
    return ledger


def start_trading(graph: Graph, spawned: Spawned) -> None:
    """Router, rebalancer, brokers, then the market actors, once the ledger has opened."""
    config, ctx = graph.config, graph.ctx
    peers = Peers(ctx.run_id, list(graph.venues))
    graph.router, graph.rebalancer = spawned.router, spawned.rebalancer
    ray.get(graph.router.on_start.remote())
    ray.get(graph.rebalancer.on_start.remote())
    for b in config.brokers:
        ref = spawn(BrokerActor, ActorKind.BROKER, config).remote(
            config.redacted(keep_brokers={b.id}),
            b.id,
            ctx,
            peers.venues,
            peers.router,
            peers.ledger,
        )
        graph.brokers[b.id] = ref
        graph.actors.append(ref)
        start_all({b.id: ref.on_start.remote()}, "broker")
        url = ray.get(ref.url.remote())
        print(f"broker {b.id}: RFQ on {url}/rfq", file=sys.stderr, flush=True)
    # quoting starts last: a worker process starting (~1-2 s of a core) beside the first
    # fills had taken their fill -> hedge latency to 33-54 ms, and the desk must not take
    # fills before the actors that net and hedge them are up (the market actors made
    # ahead are booted by now, idle until their start)
    symbols = [m.symbol for m in config.markets]
    graph.venue_symbols = list(symbols)
    wait_for_young_books(graph.router, symbols)
    graph.hosts.extend(spawned.hosts)
    graph.markets.update(start_market_hosts(spawned.hosts, spawned.groups))


def wait_for_young_books(router: Any, symbols: list[str]) -> None:
    """Quote once the router's copy of every streamed book is young enough to hedge on;
    after `BOOKS_READY_TIMEOUT_S` quote anyway and say which are not (their hedges wait
    for a young book or go to other venues, as at any stall)."""
    waiting = ray.get(router.books_ready.remote(symbols, BOOKS_READY_TIMEOUT_S))
    if waiting:
        listed = "; ".join(f"{v}: {', '.join(s)}" for v, s in sorted(waiting.items()))
        print(
            f"streamed books not young after {BOOKS_READY_TIMEOUT_S:g} s ({listed}): "
            "quoting starts; a hedge on them asks again (risk.stale_book_wait_ms), is held "
            "(risk.stale_book_hold_ms) or goes to other venues",
            file=sys.stderr,
            flush=True,
        )


def start_markets(graph: Graph, symbols: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """MarketActors for `symbols`, `ray.markets_per_actor` to an actor, started; returns
    the actors and each market's actor. A crashed market actor restarts (on another node
    if its own is gone), cancels its predecessor's quotes and resumes from the ledger."""
    groups = market_groups(symbols, graph.config.ray.markets_per_actor)
    hosts = create_market_hosts(
        graph.config, graph.ctx, list(graph.venues), graph.home_access, groups
    )
    return hosts, start_market_hosts(hosts, groups)


def start_market_hosts(hosts: list[Any], groups: list[list[str]]) -> dict[str, Any]:
    """Start the market actors made for `groups` (quoting begins); each market's actor."""
    start_all(
        {", ".join(g): a.on_start.remote() for g, a in zip(groups, hosts, strict=True)}, "market"
    )
    return {s: a for group, a in zip(groups, hosts, strict=True) for s in group}


def create_market_hosts(
    config: AppConfig,
    ctx: RunContext,
    venue_ids: list[str],
    access: dict[str, Any],
    groups: list[list[str]],
) -> list[Any]:
    """One MarketActor per group of markets, created (not started)."""
    peers = Peers(ctx.run_id, venue_ids)
    return [
        spawn(MarketActor, ActorKind.MARKET, config).remote(
            config.redacted(keep_venues={config.home_venue.id}),
            group,
            ctx,
            peers.router,
            peers.ledger,
            **access,
        )
        for group in groups
    ]


def market_groups(symbols: list[str], per_actor: int) -> list[list[str]]:
    """Consecutive markets share an actor, `per_actor` at a time (the last group may be short)."""
    return [symbols[i : i + per_actor] for i in range(0, len(symbols), per_actor)]


def start_all(pending: dict[str, Any], what: str) -> None:
    """Wait for every start call; one error naming each actor that failed, and why."""
    errors = []
    for name, ref in pending.items():
        try:
            ray.get(ref)
        except Exception as exc:
            cause = getattr(exc, "cause", None) or exc
            errors.append(f"{what} {name}: {cause}")
    if errors:
        raise RuntimeError("could not start:\n  " + "\n  ".join(errors))


def home_behind_ccxt(config: AppConfig) -> bool:
    return config.home_venue.kind is VenueKind.CCXT


def home_access(config: AppConfig, sim: SimAccess) -> dict[str, Any]:
    """MarketActor kwargs for a `kind: ccxt` home venue: URL and keys ({} for `kind: sim`)."""
    home = config.home_venue
    if not home_behind_ccxt(config):
        return {}
    served = sim.process is not None and home.simulated
    return {
        "home_url": sim.process.url_of(home.id, "hollaex") if served and sim.process else None,
        "home_api_key": SecretStr(sim.api_key) if served and home.api_key is None else None,
        "home_api_secret": SecretStr(sim.api_secret)
        if served and home.api_secret is None
        else None,
    }
