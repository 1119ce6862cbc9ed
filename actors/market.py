"""MarketActor: quotes one home market and reports its fills.

Thin shell: every decision is made by `engine/` (policy, rounding, requote
rule, book metrics); this class gathers inputs on a timer, calls the engine and
sends outputs. Fills go to the router and the ledger in batches, fire-and-
forget, and every delivery is awaited at stop so none is lost.
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

from actors.context import RunContext
from analytics.writer import PartWriters
from engine.book_metrics import book_sample
from engine.config import AppConfig, MarketConfig
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

TICK_S = 0.1
REFERENCE_PULL_S = 0.25
DELIVERY_ATTEMPTS = 30  # ~45 s of retries: longer than any actor restart
QUOTE_LAGS_KEPT = 64


@ray.remote
class MarketActor:
    def __init__(
        self,
        config: AppConfig,
        symbol: str,
        ctx: RunContext,
        router: Any,
        ledger: Any,
        *,
        home_url: str | None = None,
        home_api_key: SecretStr | None = None,
        home_api_secret: SecretStr | None = None,
    ) -> None:
        """`home_*`: where a `kind: ccxt` home venue is reached (venue-sim URL and key pair)."""
        self._home_access = (home_url, home_api_key, home_api_secret)
        self._config = config
        self._market = config.market(symbol)
        self._ctx = ctx
        self._router = router
        self._ledger = ledger
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Future[Any]] = set()
        self._fills_out: list[Fill] = []
        self._reference_mid: float | None = None
        self._reference_ts_ns = 0
        self._position = Decimal(0)
        self._fill_count = 0
        self._last_quote_ns = 0
        self._last_sample_ns = 0
        self._last_reference_pull_ns = 0
        self._last_sample: dict[str, Any] = {}
        self._errors: list[str] = []
        self._paused = ""
        self._started_ns = time.time_ns()
        self._external: ExternalBook | None = None
        self._regime = VolRegime.NORMAL
        self._intensity_fit: IntensityFit | None = None
        # quote-cycle lag: quotes placed vs. the tick's scheduled start (bench/scale.py)
        self._tick_due_ns = 0
        self._quote_cycles = 0
        self._quote_lags_ms: deque[float] = deque(maxlen=QUOTE_LAGS_KEPT)
        self._build_calibration(self._market)
        # Ray re-runs __init__ after a crash (max_restarts); nobody calls on_start
        # again, so the first call this incarnation gets (the driver's status poll)
        # starts it, under ids of its own
        self._restarted = ray.get_runtime_context().was_current_actor_reconstructed
        self._incarnation = f"r{secrets.token_hex(3)}" if self._restarted else ""
        self._starting: asyncio.Lock | None = None

    # lifecycle ---------------------------------------------------------------

    async def _ensure_started(self) -> None:
        if not self._restarted or self._task is not None:
            return
        self._starting = self._starting or asyncio.Lock()
        async with self._starting:
            if self._task is None:
                base = self._market.base
                home = self._config.home_venue.id
                self._position = Decimal(await self._ledger.traded.remote(home, base))
                await self.on_start()
                await self._venue.cancel_all(time.time_ns())  # a predecessor's stale quotes
                log.warning(
                    "%s: market actor restarted (%s), inventory %s from the ledger",
                    self._market.symbol,
                    self._incarnation,
                    self._position,
                )

    async def on_start(self) -> dict[str, Any]:
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
            now_ns=time.time_ns(),
            base_url=home_url,
            api_key=home_key,
            api_secret=home_secret,
            incarnation=self._incarnation,
        )
        self._policy = build_policy(self._market)
        self._started_ns = time.time_ns()
        self._writers = PartWriters(
            ctx.data_dir,
            ("book_samples", "quotes", "fills"),
            writer_id=f"market-{self._market.base}-{self._market.quote}{self._incarnation}",
            run_id=ctx.run_id,
            config_hash=ctx.config_hash,
        )
        await self._pull_reference(time.time_ns())
        self._task = asyncio.create_task(self._run())
        return {"market": self._market.symbol, "reference_mid": self._reference_mid}

    async def on_stop(self) -> dict[str, Any]:
        """Stop quoting, cancel every quote, deliver every fill, flush every row."""
        await self._ensure_started()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        now = time.time_ns()
        await self._venue.cancel_all(now)
        self._record_cancel_all(now)
        fills = await self._venue.poll_fills(now)  # a venue behind ccxt fills until the cancel
        if fills:
            self.on_fills(fills, now)
        self._send_fills()
        if isinstance(self._venue, CcxtHomeVenue):
            await self._venue.close()
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)
        self._writers.flush()
        return await self.status()

    async def process_info(self) -> dict[str, Any]:
        """This incarnation's worker pid and id tag: what a fault test kills and checks."""
        return {
            "pid": os.getpid(),
            "incarnation": self._incarnation,
            "node_id": ray.get_runtime_context().get_node_id(),
        }

    async def flush(self) -> None:
        await self._ensure_started()
        self._writers.flush()

    async def on_pause(self, reason: str) -> int:
        """Kill switch for this market: cancel every quote and stop quoting (fills still hedge)."""
        await self._ensure_started()
        self._paused = reason
        now = time.time_ns()
        cancelled = await self._venue.cancel_all(now)
        self._record_cancel_all(now)
        return cancelled

    async def on_resume(self) -> None:
        self._paused = ""

    async def on_config(self, config: AppConfig) -> str:
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
        return config.config_hash

    async def on_widen(self, factor: float, reason: str) -> float:
        """Alert action: widen the target spread (never past max_spread_bps); returns it."""
        m = self._market
        assert m.target_spread_bps is not None and m.max_spread_bps is not None
        target = min(m.target_spread_bps * factor, m.max_spread_bps)
        self._market = m.model_copy(update={"target_spread_bps": target})
        self._policy = build_policy(self._market)
        self._last_quote_ns = 0  # requote now
        log.warning("%s: target spread widened to %.2f bps (%s)", m.symbol, target, reason)
        return target

    async def status(self) -> dict[str, Any]:
        await self._ensure_started()
        return {
            "market": self._market.symbol,
            "mid": self._reference_mid,
            "spread_bps": self._last_sample.get("spread_bps"),
            "quoting": bool(self._last_sample.get("quoting")),
            "fills": self._fill_count,
            "position": str(self._position),
            "errors": list(self._errors[-3:]),
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
                    self._writers.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep quoting; surface the error in status
                log.exception("market %s timer failed", self._market.symbol)
                self._errors.append(f"{type(exc).__name__}: {exc}")
            self._tick_due_ns = time.time_ns() + int(TICK_S * 1e9)  # what the sleep aims at
            await asyncio.sleep(TICK_S)

    async def on_timer(self, now: int) -> None:
        fills = await self._venue.poll_fills(now)
        if fills:
            self.on_fills(fills, now)
            self._send_fills()  # hedge first: quoting can wait a few ms, exposure cannot
        if self._reference_mid is not None:
            for ts_ns, price, _ in self._venue.take_trades():
                self._intensity.observe(ts_ns, price, self._reference_mid)
        if now - self._last_reference_pull_ns >= REFERENCE_PULL_S * 1e9:
            await self._pull_reference(now)
        await self._requote(now)
        if now - self._last_sample_ns >= self._config.analytics.sample_interval_s * 1e9:
            self._last_sample_ns = now
            self._sample(now)
        self._send_fills()

    def on_fills(self, fills: list[Fill], seen_ns: int) -> None:
        rows = []
        for f in fills:
            self._position += f.side.sign * f.amount
            rows.append(fill_row(f, self._reference_mid, seen_ns))
        self._fill_count += len(fills)
        self._fills_out.extend(fills)
        self._writers["fills"].append(rows)

    # steps -------------------------------------------------------------------

    async def _pull_reference(self, now: int) -> None:
        refs = await self._router.reference.remote([self._market.symbol])
        ref = refs.get(self._market.symbol)
        if ref is not None:
            if ref[1] != self._reference_ts_ns:
                for estimator in (self._sigma_short, self._sigma_long):
                    estimator.observe(now, ref[0])
            self._reference_mid, self._reference_ts_ns = ref
        if self._market.policy == "mirror":
            books = await self._router.reference_books.remote([self._market.symbol])
            self._external = books.get(self._market.symbol)
        self._last_reference_pull_ns = now

    def _build_calibration(self, market: MarketConfig) -> None:
        """Sigma estimators for the volatility guard and the models; the (A, k) fit for GLFT."""
        est = MarketEstimators.for_market(market)
        self._sigma_short, self._sigma_long, self._intensity = (
            est.sigma_short,
            est.sigma_long,
            est.intensity,
        )

    async def _requote(self, now: int) -> None:
        if self._reference_mid is None or self._paused:
            return
        age_s = (now - self._reference_ts_ns) / 1e9
        if age_s > self._config.risk.max_book_age_s:  # stale reference: no quotes off it
            if await self._venue.open_quotes():
                await self._venue.cancel_all(now)
                self._record_cancel_all(now)
            return
        m = self._market
        user_bid, user_ask = self._venue.user_depth_within(
            self._reference_mid, float(m.depth_band_bps or 0)
        )
        ctx = QuoteContext(
            ts_ns=now,
            mid=self._reference_mid,
            inventory=float(self._position) - m.inventory_target,
            market=m,
            reference_age_s=age_s,
            elapsed_s=(now - self._started_ns) / 1e9,
            sigma_bps_per_sqrt_s=self._sigma_long.sigma_bps_per_sqrt_s,
            intensity=self._intensity.fit(now) if m.policy == "glft" else None,
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
        if self._tick_due_ns:  # ticking on its own timer (not driven by a test)
            self._quote_cycles += 1
            self._quote_lags_ms.append((time.time_ns() - self._tick_due_ns) / 1e6)
        self._writers["quotes"].append(placed_rows(self._market.symbol, now, rounded, cids))

    def _record_cancel_all(self, now: int) -> None:
        self._writers["quotes"].append([cancel_all_row(self._market.symbol, now)])

    def _sample(self, now: int) -> None:
        bids, asks = self._venue.levels()
        bot_bids, bot_asks = self._venue.bot_levels()
        m = self._market
        row = book_sample(
            bids,
            asks,
            bot_bids,
            bot_asks,
            reference_mid=self._reference_mid or 0.0,
            band_bps=float(m.depth_band_bps or 0),
        )
        self._last_sample = row = sample_row(row, m, now)
        self._writers["book_samples"].append([row])

    def _send_fills(self) -> None:
        if not self._fills_out:
            return
        batch, self._fills_out = self._fills_out, []
        hedge_pending = self._market.hedge_mode.value == "mirror"
        for send in (
            lambda: self._router.on_fills.remote(batch),
            lambda: self._ledger.on_fills.remote(batch, hedge_pending),
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
                log.warning(
                    "market %s: fill delivery failed (attempt %d): %s",
                    self._market.symbol,
                    attempt + 1,
                    exc,
                )
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
        log.error("market %s: fill delivery failed %d times", self._market.symbol, attempt + 1)
        self._errors.append(f"fill delivery failed {DELIVERY_ATTEMPTS} times")
