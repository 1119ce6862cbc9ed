"""MarketActor: quotes one or several home markets and reports their fills.

Thin shell: every decision is made by `engine/` (policy, rounding, requote
rule, book metrics). `MarketQuoter` holds one market's state and steps; the
`MarketActor` hosts a dict of them (`ray.markets_per_actor`, default 1) and
drives them on one timer, so a deployment with hundreds of markets pays the
~200 MB of a Ray worker per group, not per market. Per tick the actor polls
every market's fills and sends them in one batch (hedge first), pulls every
due reference price in one router call, then requotes and samples each market.
Fills go to the router and the ledger fire-and-forget, and every delivery is
awaited at stop so none is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import deque
from decimal import Decimal
from typing import Any

import ray
from pydantic import SecretStr

from actors.context import RestartGate, RunContext, live_config
from analytics.writer import PartWriters
from engine.book_metrics import book_sample
from engine.config import AppConfig, HedgeMode, MarketConfig, PolicyName
from engine.quote_records import cancel_all_row, fill_row, placed_rows, sample_row
from engine.quoting import (
    ExternalBook,
    IntensityFit,
    MarketEstimators,
    QuoteContext,
    VolRegime,
    apply_market_rules,
    build_policy,
    needs_requote,
    round_quotes,
    vol_regime,
)
from engine.sim.price import ReferencePrice
from engine.types import Fill, QuoteLevel
from engine.venues.ccxt_home import CcxtHomeVenue
from engine.venues.home import build_home_venue

log = logging.getLogger(__name__)

DELIVERY_ATTEMPTS = 30  # ~45 s of retries: longer than any actor restart
QUOTE_LAGS_KEPT = 64


HomeAccess = tuple[str | None, SecretStr | None, SecretStr | None]


class MarketQuoter:
    """One home market's quoting state and steps; a `MarketActor` hosts and drives it."""

    def __init__(
        self,
        config: AppConfig,
        symbol: str,
        ctx: RunContext,
        *,
        home_access: HomeAccess,
        incarnation: str,
    ) -> None:
        self._home_access = home_access
        self._incarnation = incarnation
        self._config = config
        self._market = config.market(symbol)
        self._ctx = ctx
        self.fills_out: list[Fill] = []
        self._reference_mid: float | None = None
        self._reference_ts_ns = 0
        self.position = Decimal(0)
        self._fill_count = 0
        self._last_quote_ns = 0
        self._last_sample_ns = 0
        self._last_sample: dict[str, Any] = {}
        self.errors: list[str] = []
        self._paused = ""
        self._closed = False  # removed or stopping: a tick under way must not quote again
        self._started_ns = time.time_ns()
        self._external: ExternalBook | None = None
        self._regime = VolRegime.NORMAL
        self._intensity_fit: IntensityFit | None = None
        # quote-cycle lag: quotes placed vs. the tick's scheduled start (bench/scale.py)
        self._quote_cycles = 0
        self._quote_lags_ms: deque[float] = deque(maxlen=QUOTE_LAGS_KEPT)
        self._build_calibration(self._market)

    @property
    def symbol(self) -> str:
        return self._market.symbol

    @property
    def base(self) -> str:
        return self._market.base

    @property
    def mirrors_external(self) -> bool:
        return self._market.policy is PolicyName.MIRROR

    @property
    def hedge_pending(self) -> bool:
        """Whether the router hedges each fill (mirror) or the rebalancer nets it later."""
        return self._market.hedge_mode is HedgeMode.MIRROR

    # lifecycle ---------------------------------------------------------------

    async def open(self, now: int) -> None:
        """Resolve every dependency now, so a missing one stops the run at start."""
        cfg, ctx = self._config, self._ctx
        reference = ReferencePrice(
            cfg.sim.assets, seed=ctx.sim_seed, step_ms=cfg.sim.step_ms, start_ns=ctx.sim_start_ns
        )
        home_url, home_key, home_secret = self._home_access
        self._venue = await build_home_venue(
            cfg.home_venue,
            self._market,
            reference,
            seed=ctx.sim_seed,
            session=ctx.run_id,
            now_ns=now,
            base_url=home_url,
            api_key=home_key,
            api_secret=home_secret,
            incarnation=self._incarnation,
        )
        self._policy = build_policy(self._market)
        self._started_ns = now
        self._writers = PartWriters(
            ctx.data_dir,
            ("book_samples", "quotes", "fills"),
            writer_id=f"market-{self._market.base}-{self._market.quote}{self._incarnation}",
            run_id=ctx.run_id,
            config_hash=ctx.config_hash,
        )

    async def close(self, now: int) -> None:
        """Cancel every quote and take the last fills (into `fills_out`)."""
        self._closed = True
        await self._venue.cancel_all(now)
        self._record_cancel_all(now)
        fills = await self._venue.poll_fills(now)  # a venue behind ccxt fills until the cancel
        if fills:
            self.on_fills(fills, now)
        if isinstance(self._venue, CcxtHomeVenue):
            await self._venue.close()

    async def cancel_stale(self, now: int) -> None:
        """A predecessor's quotes (this actor restarted): cancel before quoting again."""
        await self._venue.cancel_all(now)

    def flush(self) -> None:
        self._writers.flush()

    async def pause(self, reason: str) -> int:
        """Kill switch for this market: cancel every quote and stop quoting (fills still hedge)."""
        self._paused = reason
        now = time.time_ns()
        cancelled = await self._venue.cancel_all(now)
        self._record_cancel_all(now)
        return cancelled

    def resume(self) -> None:
        self._paused = ""

    def reconfigure(self, config: AppConfig) -> None:
        """A new config version is live: requote under it and tag rows with its hash."""
        self._config = config
        old = self._market
        self._market = config.market(self._market.symbol)
        if (old.policy_params, old.vol_guard) != (
            self._market.policy_params,
            self._market.vol_guard,
        ):
            self._build_calibration(self._market)
        self._policy = build_policy(self._market)
        self._writers.retag(config.config_hash)
        self._last_quote_ns = 0

    def widen(self, factor: float, reason: str) -> float:
        """Alert action: widen the target spread (never past max_spread_bps); returns it."""
        m = self._market
        target = min(m.target_spread_bps * factor, m.max_spread_bps)
        self._market = m.model_copy(update={"target_spread_bps": target})
        self._policy = build_policy(self._market)
        self._last_quote_ns = 0  # requote now
        log.warning("%s: target spread widened to %.2f bps (%s)", m.symbol, target, reason)
        return target

    def status(self) -> dict[str, Any]:
        return {
            "market": self._market.symbol,
            "mid": self._reference_mid,
            "spread_bps": self._last_sample.get("spread_bps"),
            "quoting": bool(self._last_sample.get("quoting")),
            "fills": self._fill_count,
            "position": str(self.position),
            "errors": list(self.errors[-3:]),
            "paused": self._paused,
            "target_spread_bps": self._market.target_spread_bps,
            "depth_target_quote": self._market.depth_target_quote,
            "bid_depth_band": self._last_sample.get("bid_depth_band", 0.0),
            "ask_depth_band": self._last_sample.get("ask_depth_band", 0.0),
            "reference_age_s": (time.time_ns() - self._reference_ts_ns) / 1e9
            if self._reference_ts_ns
            else None,
            "policy": self._market.policy,
            "vol_regime": self._regime.value,
            "sigma_short_bps_per_sqrt_s": self._sigma_short.sigma_bps_per_sqrt_s,
            "bot_share_target": self._market.bot_share_target,
            "intensity": None if self._intensity_fit is None else repr(self._intensity_fit),
            "quote_cycles": self._quote_cycles,
            "quote_lag_ms_recent": list(self._quote_lags_ms),
            "incarnation": self._incarnation,
        }

    # steps (the actor's timer calls them in this order) ------------------------

    async def poll(self, now: int) -> None:
        if self._closed:
            return
        fills = await self._venue.poll_fills(now)
        if fills:
            self.on_fills(fills, now)
        if self._reference_mid is not None:
            for ts_ns, price, _ in self._venue.take_trades():
                self._intensity.observe(ts_ns, price, self._reference_mid)

    def on_fills(self, fills: list[Fill], seen_ns: int) -> None:
        rows = []
        for f in fills:
            self.position += f.side.sign * f.amount
            rows.append(fill_row(f, self._reference_mid, seen_ns))
        self._fill_count += len(fills)
        self.fills_out.extend(fills)
        self._writers["fills"].append(rows)

    def on_reference(
        self, now: int, ref: tuple[float, int] | None, external: ExternalBook | None
    ) -> None:
        if ref is not None:
            if ref[1] != self._reference_ts_ns:
                for estimator in (self._sigma_short, self._sigma_long):
                    estimator.observe(now, ref[0])
            self._reference_mid, self._reference_ts_ns = ref
        if self.mirrors_external:
            self._external = external

    async def requote(self, now: int, tick_due_ns: int = 0) -> None:
        """`tick_due_ns`: when the actor's tick was scheduled (0 when a test drives it)."""
        if self._reference_mid is None or self._paused or self._closed:
            return
        age_s = (now - self._reference_ts_ns) / 1e9
        if age_s > self._config.risk.max_book_age_s:  # stale reference: no quotes off it
            if await self._venue.open_quotes():
                await self._venue.cancel_all(now)
                self._record_cancel_all(now)
            return
        m = self._market
        user_bid, user_ask = self._venue.user_depth_within(self._reference_mid, m.depth_band_bps)
        ctx = QuoteContext(
            ts_ns=now,
            mid=self._reference_mid,
            inventory=float(self.position) - m.inventory_target,
            market=m,
            reference_age_s=age_s,
            elapsed_s=(now - self._started_ns) / 1e9,
            sigma_bps_per_sqrt_s=self._sigma_long.sigma_bps_per_sqrt_s,
            intensity=self._intensity.fit(now) if m.policy is PolicyName.GLFT else None,
            external=self._external,
            user_bid_depth_quote=user_bid,
            user_ask_depth_quote=user_ask,
        )
        self._intensity_fit = ctx.intensity
        self._regime = vol_regime(
            self._sigma_short.sigma_bps_per_sqrt_s,
            self._sigma_long.sigma_bps_per_sqrt_s,
            self._sigma_long.samples,
            m.vol_guard,
        )
        wanted = apply_market_rules(self._policy.desired_quotes(ctx), ctx, self._regime)
        # compare like with like: what would be placed (on the grid) vs. what rests
        rounded = round_quotes(wanted, self._venue.spec)
        desired = [QuoteLevel(s, float(p), float(a)) for s, p, a in rounded]
        live = [QuoteLevel(s, float(p), float(a)) for s, p, a in await self._venue.open_quotes()]
        timer_due = now - self._last_quote_ns >= self._market.requote_interval_s * 1e9
        moved = needs_requote(live, desired, self._market.requote_tolerance_bps, ctx.mid)
        if not (timer_due or moved):
            return
        self._last_quote_ns = now
        await self._venue.cancel_all(now)
        self._record_cancel_all(now)
        cids = await self._venue.place(rounded, now)
        if tick_due_ns:
            self._quote_cycles += 1
            self._quote_lags_ms.append((time.time_ns() - tick_due_ns) / 1e6)
        self._writers["quotes"].append(placed_rows(self._market.symbol, now, rounded, cids))

    def sample_if_due(self, now: int) -> None:
        if now - self._last_sample_ns < self._config.analytics.sample_interval_s * 1e9:
            return
        self._last_sample_ns = now
        bids, asks = self._venue.levels()
        bot_bids, bot_asks = self._venue.bot_levels()
        m = self._market
        row = book_sample(
            bids,
            asks,
            bot_bids,
            bot_asks,
            reference_mid=self._reference_mid or 0.0,
            band_bps=m.depth_band_bps,
        )
        self._last_sample = row = sample_row(row, m, now)
        self._writers["book_samples"].append([row])

    def take_fills(self) -> list[Fill]:
        batch, self.fills_out = self.fills_out, []
        return batch

    def _build_calibration(self, market: MarketConfig) -> None:
        """Sigma estimators for the volatility guard and the models; the (A, k) fit for GLFT."""
        est = MarketEstimators.for_market(market)
        self._sigma_short, self._sigma_long, self._intensity = (
            est.sigma_short,
            est.sigma_long,
            est.intensity,
        )

    def _record_cancel_all(self, now: int) -> None:
        self._writers["quotes"].append([cancel_all_row(self._market.symbol, now)])


@ray.remote
class MarketActor:
    """Hosts the `MarketQuoter`s of one group of markets (one market by default)."""

    def __init__(
        self,
        config: AppConfig,
        symbols: list[str],
        ctx: RunContext,
        router: Any,
        ledger: Any,
        *,
        home_url: str | None = None,
        home_api_key: SecretStr | None = None,
        home_api_secret: SecretStr | None = None,
    ) -> None:
        """`home_*`: where a `kind: ccxt` home venue is reached (venue-sim URL and key pair)."""
        if not symbols:
            raise ValueError("a MarketActor needs at least one market")
        self._config = config
        self._router = router
        self._ledger = ledger
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Future[Any]] = set()
        self._last_reference_pull_ns = 0
        self._tick_due_ns = 0
        # Ray re-runs __init__ after a crash (max_restarts); nobody calls on_start
        # again, so the first call this incarnation gets (the driver's status poll)
        # starts it, under ids of its own
        self._gate = RestartGate()
        self._incarnation = f"r{secrets.token_hex(3)}" if self._gate.restarted else ""
        access = (home_url, home_api_key, home_api_secret)
        self._quoters = {
            s: MarketQuoter(config, s, ctx, home_access=access, incarnation=self._incarnation)
            for s in symbols
        }

    # lifecycle ---------------------------------------------------------------

    async def _ensure_started(self) -> None:
        await self._gate.ensure(self._resume_after_crash)

    async def _resume_after_crash(self) -> None:
        home = self._config.home_venue.id
        positions = await asyncio.gather(
            *(self._ledger.traded.remote(home, q.base) for q in self._quoters.values())
        )
        for q, position in zip(self._quoters.values(), positions, strict=True):
            q.position = Decimal(position)
        await self.on_start()
        live = await live_config(self._config)
        if live.config_hash != self._config.config_hash:  # applied after start
            await self.on_config(live)
        now = time.time_ns()
        await asyncio.gather(*(q.cancel_stale(now) for q in self._quoters.values()))
        log.warning(
            "market actor restarted (%s), inventory from the ledger: %s",
            self._incarnation,
            {q.symbol: str(q.position) for q in self._quoters.values()},
        )

    async def on_start(self) -> list[dict[str, Any]]:
        """Open every market's venue and pull its first reference; then start the timer."""
        now = time.time_ns()
        await asyncio.gather(*(q.open(now) for q in self._quoters.values()))
        await self._pull_references(now)
        self._task = asyncio.create_task(self._run())
        return [{"market": s, "reference_mid": q.status()["mid"]} for s, q in self._quoters.items()]

    async def on_stop(self) -> list[dict[str, Any]]:
        """Stop quoting, cancel every quote, deliver every fill, flush every row."""
        await self._ensure_started()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        now = time.time_ns()
        await asyncio.gather(*(q.close(now) for q in self._quoters.values()))
        self._send_fills()
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)
        for q in self._quoters.values():
            q.flush()
        return await self.statuses()

    async def remove_market(self, market: str) -> dict[str, Any]:
        """Stop one hosted market for good (`marketmesh scale --remove-market`): cancel its
        quotes, deliver its last fills, flush its rows; the others keep quoting."""
        await self._ensure_started()
        quoter = self._quoter(market)
        await quoter.close(time.time_ns())
        self._send_fills()
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)
        quoter.flush()
        del self._quoters[market]
        return quoter.status()

    async def process_info(self) -> dict[str, Any]:
        """This incarnation's worker pid and id tag: what a fault test kills and checks."""
        return {
            "pid": os.getpid(),
            "incarnation": self._incarnation,
            "node_id": ray.get_runtime_context().get_node_id(),
            "markets": list(self._quoters),
        }

    async def flush(self) -> None:
        await self._ensure_started()
        for q in self._quoters.values():
            q.flush()

    async def on_pause(self, market: str, reason: str) -> int:
        await self._ensure_started()
        return await self._quoter(market).pause(reason)

    async def on_resume(self, market: str) -> None:
        self._quoter(market).resume()

    async def on_config(self, config: AppConfig) -> str:
        self._config = config
        for q in self._quoters.values():
            q.reconfigure(config)
        return config.config_hash

    async def on_widen(self, market: str, factor: float, reason: str) -> float:
        return self._quoter(market).widen(factor, reason)

    async def status(self, market: str) -> dict[str, Any]:
        await self._ensure_started()
        return self._quoter(market).status()

    async def statuses(self) -> list[dict[str, Any]]:
        """Every hosted market's status, in one call (the driver polls once a second)."""
        await self._ensure_started()
        return [q.status() for q in self._quoters.values()]

    def _quoter(self, market: str) -> MarketQuoter:
        try:
            return self._quoters[market]
        except KeyError:
            raise KeyError(
                f"market {market!r} is not hosted here (hosted: {', '.join(self._quoters)})"
            ) from None

    # timer -------------------------------------------------------------------

    async def _run(self) -> None:
        flush_every_ns = int(self._config.analytics.flush_interval_s * 1e9)
        last_flush = time.time_ns()
        while True:
            try:
                now = time.time_ns()
                self._tick_due_ns = self._tick_due_ns or now
                await self.on_timer(now)
                if now - last_flush >= flush_every_ns:
                    last_flush = now
                    for q in self._quoters.values():
                        q.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep quoting; surface the error in status
                log.exception("market actor timer failed")
                for q in self._quoters.values():
                    q.errors.append(f"{type(exc).__name__}: {exc}")
            tick_s = self._config.timing.market_tick_s
            self._tick_due_ns = time.time_ns() + int(tick_s * 1e9)  # what the sleep aims at
            await asyncio.sleep(tick_s)

    async def on_timer(self, now: int) -> None:
        quoters = list(self._quoters.values())
        self._settle(
            quoters, await asyncio.gather(*(q.poll(now) for q in quoters), return_exceptions=True)
        )
        self._send_fills()  # hedge first: quoting can wait a few ms, exposure cannot
        if now - self._last_reference_pull_ns >= self._config.timing.reference_pull_s * 1e9:
            await self._pull_references(now)
        due = self._tick_due_ns
        self._settle(
            quoters,
            await asyncio.gather(*(q.requote(now, due) for q in quoters), return_exceptions=True),
        )
        for q in quoters:
            try:
                q.sample_if_due(now)
            except Exception as exc:
                self._settle([q], [exc])
        self._send_fills()

    @staticmethod
    def _settle(quoters: list[MarketQuoter], results: list[Any]) -> None:
        """One market's failure stays its own: logged, shown in its status, others go on."""
        for q, res in zip(quoters, results, strict=True):
            if isinstance(res, Exception):
                log.error("market %s step failed", q.symbol, exc_info=res)
                q.errors.append(f"{type(res).__name__}: {res}")

    async def _pull_references(self, now: int) -> None:
        """Every hosted market's reference mid (and external book if it mirrors) in one call."""
        symbols = list(self._quoters)
        refs = await self._router.reference.remote(symbols)
        mirrored = [q.symbol for q in self._quoters.values() if q.mirrors_external]
        books = await self._router.reference_books.remote(mirrored) if mirrored else {}
        for s, q in self._quoters.items():
            q.on_reference(now, refs.get(s), books.get(s))
        self._last_reference_pull_ns = now

    def _send_fills(self) -> None:
        """One batch per hedge treatment for every hosted market's new fills."""
        by_pending: dict[bool, list[Fill]] = {}
        for q in self._quoters.values():
            if q.fills_out:
                by_pending.setdefault(q.hedge_pending, []).extend(q.take_fills())
        for hedge_pending, batch in by_pending.items():
            for send in (
                lambda b=batch: self._router.on_fills.remote(b),
                lambda b=batch, p=hedge_pending: self._ledger.on_fills.remote(b, p),
            ):
                fut = asyncio.ensure_future(self._deliver(send))
                self._deliveries.add(fut)
                fut.add_done_callback(self._deliveries.discard)

    async def _deliver(self, send: Any) -> None:
        """At least once: a batch is re-sent until it lands (both ends dedupe by fill id),
        so a router or ledger restarting mid-call loses no fill."""
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                await send()
                return
            except Exception as exc:
                log.warning("fill delivery failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
        log.error("fill delivery failed %d times", DELIVERY_ATTEMPTS)
        for q in self._quoters.values():
            q.errors.append(f"fill delivery failed {DELIVERY_ATTEMPTS} times")


def market_hosts(handles: dict[str, Any]) -> list[Any]:
    """Each MarketActor once: a grouped actor is the handle of several `market:` keys."""
    return list(dict.fromkeys(a for k, a in handles.items() if k.startswith("market:")))


def market_statuses(handles: dict[str, Any]) -> list[dict[str, Any]]:
    """Every market's status, one Ray call per MarketActor, in market order."""
    hosted = ray.get([a.statuses.remote() for a in market_hosts(handles)])
    return sorted((s for group in hosted for s in group), key=lambda s: s["market"])
