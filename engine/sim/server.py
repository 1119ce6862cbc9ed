"""Runs the simulated hedge venues over HTTP: one aiohttp app (own port) per venue.

Every venue of the config that is simulated (`url: sim`) and reached through
ccxt is served in its exchange's REST dialect, so the unmodified ccxt client
talks to it exactly as to the real venue: hedge venues in the Binance spot v3
dialect over generated books (`SimExchange`), and a home venue declared
`kind: ccxt, exchange: hollaex, url: sim` in the HollaEx dialect over a real
matching engine hit by synthetic takers on a timer (`HomeExchange`). All
venues share one `ReferencePrice` built from `config.sim` and `start_ns`: any
process building it with the same seed and start sees the same prices.

Each hedge venue also serves the Binance spot websocket streams on its port
(`engine/sim/binance_ws.py`: diff depth, book ticker, trades, the user data
stream), so ccxt.pro streams from the simulator as from Binance.

Every served venue injects the seeded faults of its `faults` config (or of a
`--faults` file), and all of them share one `TransferDesk`: withdrawals from
one venue arrive at another after the source's `transfer_delay_s`.

`marketmesh venue-sim` runs `serve_until_stopped`; tests use `VenueSimServer`
in-process. Credentials never appear in a repr, a log line or an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from engine.ccxt_urls import point_api_urls
from engine.config import (
    AppConfig,
    FaultConfig,
    FaultsFileConfig,
    VenueConfig,
    VenueKind,
    VenueRole,
)
from engine.sim.binance_http import DEFAULT_WEIGHT_LIMIT_1M, BinanceSpotApi
from engine.sim.binance_ws import PUSH_INTERVAL_S, BinanceStreams
from engine.sim.exchange import SimExchange
from engine.sim.faults import FaultModel, StreamFaults
from engine.sim.hollaex_http import HollaExApi
from engine.sim.hollaex_ws import HollaExStreams
from engine.sim.home_exchange import HomeExchange
from engine.sim.price import ReferencePrice
from engine.sim.push_loop import grid_phase
from engine.sim.transfers import TransferDesk, Wallet
from engine.types import split_symbol

log = logging.getLogger(__name__)

SUPPORTED_DIALECTS = ("binance", "hollaex")
HEDGE_DIALECT = "binance"  # generated books behind the Binance API
HOME_DIALECT = "hollaex"  # a matching engine behind the HollaEx API
TAKER_INTERVAL_S = 0.01  # takers trade within 10 ms of arriving (fills are stamped on arrival)
API_KEY_ENV = "MARKETMESH_SIM_API_KEY"
API_SECRET_ENV = "MARKETMESH_SIM_API_SECRET"


@dataclass(frozen=True)
class SimCredentials:
    """The key pair every simulated venue accepts (one account per key)."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)


@dataclass(frozen=True)
class ServedVenue:
    venue_id: str
    url: str  # http://127.0.0.1:PORT
    dialect: str


def credentials_from_env() -> SimCredentials | None:
    """The simulator's key pair from MARKETMESH_SIM_API_KEY / MARKETMESH_SIM_API_SECRET."""
    api_key = os.environ.get(API_KEY_ENV, "")
    api_secret = os.environ.get(API_SECRET_ENV, "")
    if not api_key or not api_secret:
        return None
    return SimCredentials(api_key=api_key, api_secret=api_secret)


def ccxt_urls_for(base_url: str, exchange: Any) -> None:
    """Point every API URL of a ccxt exchange at `base_url`, keeping each URL's path.

    `https://api.binance.com/sapi/v1` becomes `http://127.0.0.1:PORT/sapi/v1`, and
    so on for every entry (nested ones too), so nothing the client sends can leave
    the simulator's host.
    """
    exchange.urls["api"] = point_api_urls(exchange.urls["api"], base_url)


def is_served(venue: VenueConfig) -> bool:
    """True for the venues the simulator serves over HTTP: simulated hedge venues via ccxt."""
    return venue.simulated and venue.kind is VenueKind.CCXT


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class VenueSimServer:
    """Serves every simulated ccxt venue of a config on its own port."""

    def __init__(
        self,
        config: AppConfig,
        *,
        start_ns: int,
        credentials: SimCredentials,
        host: str = "127.0.0.1",
        clock_ns: Callable[[], int] = time.time_ns,
        weight_limit_1m: int = DEFAULT_WEIGHT_LIMIT_1M,
        faults: FaultsFileConfig | None = None,
        run_takers: bool = True,
    ) -> None:
        """`clock_ns` is the venues' wall clock (tests freeze it to pin the book bucket).

        `faults` (a `--faults` file) replaces every venue's own `faults` config;
        `run_takers` False leaves the home venue's synthetic takers to `run_takers()`.
        """
        self._host = host
        self._clock_ns = clock_ns
        self._weight_limit_1m = weight_limit_1m
        self._run_takers = run_takers
        self._reference = ReferencePrice(
            config.sim.assets, seed=config.sim.seed, step_ms=config.sim.step_ms, start_ns=start_ns
        )
        symbols = [m.symbol for m in config.markets]
        self._venues = [v for v in config.venues if is_served(v)]
        for venue in self._venues:
            expected = HOME_DIALECT if venue.role is VenueRole.HOME else HEDGE_DIALECT
            if venue.exchange != expected:
                raise ValueError(
                    f"venue {venue.id}: venue-sim serves a {venue.role.value} venue in the "
                    f"{expected} dialect (exchange: {expected}), not {venue.exchange!r}"
                )
        self._exchanges: dict[str, SimExchange] = {}
        self._homes: dict[str, HomeExchange] = {}
        for v in self._venues:
            if v.role is VenueRole.HOME:
                self._homes[v.id] = HomeExchange(
                    v, config.markets, self._reference, seed=config.sim.seed
                )
            else:  # a venue lists the markets quoted plus any it has rules for, so
                # `marketmesh scale --add-market` finds them on a running sim
                listed = symbols + [s for s in v.symbol_rules if _priced(s, config)]
                self._exchanges[v.id] = SimExchange(
                    v, self._reference, config.sim.seed, config.quote_asset, listed
                )
        self._fault_seed = faults.seed if faults is not None else config.sim.seed
        self._fault_configs: dict[str, FaultConfig] = {
            v.id: faults.for_venue(v.id) if faults is not None else v.faults for v in self._venues
        }
        wallets: dict[str, Wallet] = {**self._exchanges, **self._homes}
        self.transfers = TransferDesk(wallets, {v.id: v.transfer_delay_s for v in self._venues})
        self._credentials = {v.id: self._accepted_keys(v, credentials) for v in self._venues}
        self._streams: dict[str, BinanceStreams] = {}
        self._home_streams: dict[str, HollaExStreams] = {}
        self._runners: list[web.AppRunner] = []
        self._served: list[ServedVenue] = []
        self._taker_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"VenueSimServer(venues={[v.id for v in self._venues]}, host={self._host!r})"

    @staticmethod
    def _accepted_keys(venue: VenueConfig, credentials: SimCredentials) -> dict[str, str]:
        """The simulator's key pair, plus the pair the config gives this venue, if any."""
        keys = {credentials.api_key: credentials.api_secret}
        if venue.api_key is not None and venue.api_secret is not None:
            keys[venue.api_key.get_secret_value()] = venue.api_secret.get_secret_value()
        return keys

    @property
    def served(self) -> list[ServedVenue]:
        return list(self._served)

    def exchange(self, venue_id: str) -> SimExchange:
        """The in-process exchange behind a served hedge venue (for tests)."""
        try:
            return self._exchanges[venue_id]
        except KeyError:
            raise KeyError(f"venue-sim serves no hedge venue {venue_id!r}") from None

    def home(self, venue_id: str) -> HomeExchange:
        """The in-process matching exchange behind the served home venue (for tests)."""
        try:
            return self._homes[venue_id]
        except KeyError:
            raise KeyError(f"venue-sim serves no home venue {venue_id!r}") from None

    def streams(self, venue_id: str) -> BinanceStreams:
        """The websocket streams of a served hedge venue (for tests: stats, ticks)."""
        try:
            return self._streams[venue_id]
        except KeyError:
            raise KeyError(f"venue-sim streams no hedge venue {venue_id!r}") from None

    def run_takers(self) -> int:
        """Let the home venues' synthetic takers trade up to now; return the trade count."""
        now_ns = self._clock_ns()
        trades = sum(home.run_takers(now_ns) for home in self._homes.values())
        if trades:  # fills are pushed the moment they happen, not on the next push tick
            for streams in self._home_streams.values():
                streams.tick(now_ns)
        return trades

    async def _takers_loop(self) -> None:
        while True:
            await asyncio.sleep(TAKER_INTERVAL_S)
            try:
                self.transfers.settle(self._clock_ns())
                self.run_takers()
            except Exception:  # one bad tick must not stop the takers for good
                log.exception("venue-sim: synthetic takers failed")

    def _api(self, venue: VenueConfig, start_ns: int) -> web.Application:
        faults = None
        config = self._fault_configs[venue.id]
        if config.active:
            faults = FaultModel(config, seed=self._fault_seed, venue_id=venue.id, start_ns=start_ns)
        stream_faults = None
        if config.active:
            stream_faults = StreamFaults(
                config, seed=self._fault_seed, venue_id=venue.id, start_ns=start_ns
            )
        if venue.id in self._homes:
            pushes: list[HollaExStreams] = []  # the REST edge tells the stream of its orders
            api = HollaExApi(
                self._homes[venue.id],
                credentials=self._credentials[venue.id],
                clock_ns=self._clock_ns,
                faults=faults,
                transfers=self.transfers,
                on_order=lambda account, order, ts_ns, *, action: pushes[0].on_order(
                    account, order, ts_ns, action=action
                ),
            )
            home_streams = HollaExStreams(
                self._homes[venue.id],
                credentials=self._credentials[venue.id],
                order_json=api.order_json,
                clock_ns=self._clock_ns,
                faults=stream_faults,
            )
            pushes.append(home_streams)
            self._home_streams[venue.id] = home_streams
            app = api.app()
            home_streams.install(app)
            return app
        streams = BinanceStreams(
            self._exchanges[venue.id],
            credentials=self._credentials[venue.id],
            clock_ns=self._clock_ns,
            faults=stream_faults,
            phase_s=self._push_phase_s(venue.id),
        )
        self._streams[venue.id] = streams
        app = BinanceSpotApi(
            self._exchanges[venue.id],
            credentials=self._credentials[venue.id],
            clock_ns=self._clock_ns,
            weight_limit_1m=self._weight_limit_1m,
            faults=faults,
            transfers=self.transfers,
            streams=streams,
        ).app()
        streams.install(app)  # the websocket streams share the REST port, as on Binance
        return app

    def _push_phase_s(self, venue_id: str) -> float:
        """This hedge venue's place on the push grid, spread among the served hedge venues."""
        hedges = [v.id for v in self._venues if v.role is not VenueRole.HOME]
        return grid_phase(hedges.index(venue_id), len(hedges), PUSH_INTERVAL_S)

    async def start(self, port: int = 0) -> list[ServedVenue]:
        """Bind one port per venue (`port` 0: any free port each; else port, port+1, ...)."""
        if self._runners:
            raise RuntimeError("venue-sim already started")
        try:
            start_ns = self._clock_ns()
            for i, venue in enumerate(self._venues):
                app = self._api(venue, start_ns)
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                self._runners.append(runner)
                site = web.TCPSite(runner, self._host, port + i if port else 0)
                await site.start()
                bound_port = runner.addresses[0][1]
                host = f"[{self._host}]" if ":" in self._host else self._host
                self._served.append(
                    ServedVenue(venue.id, f"http://{host}:{bound_port}", str(venue.exchange))
                )
            if self._homes and self._run_takers:
                self._taker_task = asyncio.create_task(self._takers_loop())
        except BaseException:
            await self.stop()
            raise
        return self.served

    async def stop(self) -> None:
        task, self._taker_task = self._taker_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runners, self._runners = self._runners, []
        self._served = []
        for runner in runners:
            await runner.cleanup()


async def serve_until_stopped(
    config: AppConfig,
    *,
    host: str,
    port: int,
    start_ns: int,
    credentials: SimCredentials,
    allow_remote: bool = False,
    faults: FaultsFileConfig | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; print `<venue> <url> dialect=<d>` per venue, then `ready`."""
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to bind {host}: venue-sim accepts trades from anyone who can reach it; "
            "bind a loopback address or pass --allow-remote"
        )
    server = VenueSimServer(
        config, start_ns=start_ns, credentials=credentials, host=host, faults=faults
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        for venue in await server.start(port):
            print(f"{venue.venue_id} {venue.url} dialect={venue.dialect}")
        print("ready")
        sys.stdout.flush()
        await stopped.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.stop()


def _priced(symbol: str, config: AppConfig) -> bool:
    """Whether the sim has a price for both assets of `symbol` (so it can serve a book)."""
    return all(a == config.quote_asset or a in config.sim.assets for a in split_symbol(symbol))
