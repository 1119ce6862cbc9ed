"""One home market hosted by a `MarketActor`: its venue, its writers and its quoter.

Gathers a decision's inputs (fills, trades, the reference, open quotes), calls
the market's `engine.market.Quoter`, and carries out what it decided on the
home venue; rows go to the market's Parquet writers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from actors.context import RunContext
from analytics.writer import PartWriters
from engine.config import AppConfig, HedgeMode, PolicyName
from engine.market import GridQuote, QuoteAction, Quoter
from engine.quote_records import cancel_all_row, decision_inputs, placed_rows
from engine.quoting import ExternalBook
from engine.sim.price import ReferencePrice
from engine.types import Fill
from engine.venues.home import build_home_venue

log = logging.getLogger(__name__)

QUOTE_LAGS_KEPT = 64

HomeAccess = tuple[str | None, SecretStr | None, SecretStr | None]


@dataclass(frozen=True, slots=True)
class _HomeView:
    """The home venue as a decision reads it: its open quotes fetched for this tick."""

    quotes: list[GridQuote]
    venue: Any

    def open_quotes(self) -> list[GridQuote]:
        return self.quotes

    def user_depth_within(self, mid: float, bps: float) -> tuple[float, float]:
        result: tuple[float, float] = self.venue.user_depth_within(mid, bps)
        return result


class HostedMarket:
    """One home market a `MarketActor` hosts: its venue, writers and `Quoter`.

    Gathers a decision's inputs (fills, trades, the reference, open quotes), calls the
    quoter (`engine.market.Quoter`) and carries out what it decided on the venue.
    """

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
        self._fill_count = 0
        self._last_sample_ns = 0
        self._last_sample: dict[str, Any] = {}
        self.errors: list[str] = []
        self._paused = ""
        self._closed = False  # removed or stopping: a tick under way must not quote again
        self._quoter: Quoter | None = None
        self._resumed_position = Decimal(0)
        # quote-cycle lag: quotes placed vs. the tick's scheduled start (bench/scale.py)
        self._quote_cycles = 0
        self._quote_lags_ms: deque[float] = deque(maxlen=QUOTE_LAGS_KEPT)

    @property
    def symbol(self) -> str:
        return self._market.symbol

    @property
    def base(self) -> str:
        return self._market.base

    @property
    def quote(self) -> str:
        return self._market.quote

    @property
    def mirrors_external(self) -> bool:
        return self._market.policy is PolicyName.MIRROR

    @property
    def hedge_pending(self) -> bool:
        """Whether the router hedges each fill (mirror) or the rebalancer nets it later."""
        return self._market.hedge_mode is HedgeMode.MIRROR

    @property
    def quoter(self) -> Quoter:
        if self._quoter is None:
            raise RuntimeError(f"market {self.symbol}: not opened yet (on_start)")
        return self._quoter

    def resume_position(self, position: Decimal) -> None:
        """After a crash: the inventory the ledger booked, before the market opens."""
        self._resumed_position = position

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
        self._quoter = Quoter(
            self._market,
            self._venue.spec,
            max_book_age_s=cfg.risk.max_book_age_s,
            started_ns=now,
        )
        self._quoter.position = self._resumed_position
        self._quoter.home_taker_fee = cfg.home_venue.taker_fee
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
        if fills:  # seen now, after the cancel's round trips, not when the close began
            self.on_fills(fills, time.time_ns())
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
        self._market = config.market(self._market.symbol)
        self.quoter.reconfigure(self._market)
        self._writers.retag(config.config_hash)

    def widen(self, factor: float, reason: str) -> float:
        """Alert action: widen the target spread (never past max_spread_bps); returns it."""
        target = self.quoter.widen(factor)
        log.warning("%s: target spread widened to %.2f bps (%s)", self.symbol, target, reason)
        return target

    def restore_target(self, reason: str) -> float:
        """An alert's widening reverted (its condition cleared): the configured target."""
        target = self.quoter.restore_target()
        log.warning("%s: target spread back to %.2f bps (%s)", self.symbol, target, reason)
        return target

    def status(self) -> dict[str, Any]:
        q = self._quoter
        market = q.market if q is not None else self._market
        return {
            "market": market.symbol,
            "mid": q.reference_mid if q else None,
            "spread_bps": self._last_sample.get("spread_bps"),
            "quoting": bool(self._last_sample.get("quoting")),
            "fills": self._fill_count,
            "position": str(q.position if q else self._resumed_position),
            "net_exposure": q.net_exposure if q else None,
            "errors": list(self.errors[-3:]),
            "paused": self._paused,
            "target_spread_bps": market.target_spread_bps,
            "configured_target_spread_bps": q.configured_market.target_spread_bps
            if q
            else market.target_spread_bps,
            "depth_target_quote": market.depth_target_quote,
            "bid_depth_band": self._last_sample.get("bid_depth_band", 0.0),
            "ask_depth_band": self._last_sample.get("ask_depth_band", 0.0),
            "reference_age_s": (time.time_ns() - q.reference_ts_ns) / 1e9
            if q and q.reference_ts_ns
            else None,
            "policy": market.policy,
            "vol_regime": q.regime.value if q else "normal",
            "sigma_short_bps_per_sqrt_s": q.sigma_short.sigma_bps_per_sqrt_s if q else None,
            "bot_share_target": market.bot_share_target,
            "intensity": None if q is None or q.intensity_fit is None else repr(q.intensity_fit),
            "quote_cycles": self._quote_cycles,
            "quote_lag_ms_recent": list(self._quote_lags_ms),
            "incarnation": self._incarnation,
        }

    # steps (the actor's timer calls them in this order) ------------------------

    @property
    def fills_arrived(self) -> asyncio.Event | None:
        """Set when the venue holds pushed fills not yet polled (None: it has no push)."""
        return self._venue.fills_arrived

    def take_pushed(self, now: int) -> None:
        """The fills the venue booked from its pushes, taken without a request."""
        if self._closed:
            return
        fills = self._venue.take_pushed_fills()
        if fills:
            self.on_fills(fills, now)

    async def poll(self, now: int) -> None:
        if self._closed:
            return
        fills = await self._venue.poll_fills(now)
        if fills:
            self.on_fills(fills, now)
        if self.quoter.reference_mid is not None:  # trades wait for a mid to be measured from
            self.quoter.on_trades(self._venue.take_trades())

    def on_fills(self, fills: list[Fill], seen_ns: int) -> None:
        self.quoter.on_fills(fills)
        self._fill_count += len(fills)
        self.fills_out.extend(fills)
        self._writers["fills"].append(self.quoter.fill_rows(fills, seen_ns))

    def on_reference(
        self, now: int, ref: tuple[float, int] | None, external: ExternalBook | None
    ) -> None:
        self.quoter.on_reference(now, ref)
        self.quoter.external = external  # mirror quotes off it; every policy prices the hedge

    async def requote(self, now: int, tick_due_ns: int = 0) -> None:
        """`tick_due_ns`: when the actor's tick was scheduled (0 when a test drives it)."""
        if self._paused or self._closed:
            return
        view = _HomeView(await self._venue.open_quotes(), self._venue)
        decision = self.quoter.decide(now, view)
        if decision.action is QuoteAction.CANCEL:
            await self._venue.cancel_all(now)
            self._record_cancel_all(now)
        if decision.action is not QuoteAction.REPLACE:
            return
        await self._venue.cancel_all(now)
        self._record_cancel_all(now)
        cids = await self._venue.place(list(decision.quotes), now)
        if tick_due_ns:
            self._quote_cycles += 1
            self._quote_lags_ms.append((time.time_ns() - tick_due_ns) / 1e6)
        inputs = decision_inputs(self.quoter, now)
        self._writers["quotes"].append(
            placed_rows(self.symbol, now, decision.quotes, cids, inputs, decision.hedge_costs_bps)
        )

    def sample_if_due(self, now: int) -> None:
        if now - self._last_sample_ns < self._config.analytics.sample_interval_s * 1e9:
            return
        self._last_sample_ns = now
        bids, asks = self._venue.levels()
        bot_bids, bot_asks = self._venue.bot_levels()
        row = self.quoter.sample_row(now, bids, asks, bot_bids, bot_asks, paused=bool(self._paused))
        self._last_sample = row
        self._writers["book_samples"].append([row])

    def take_fills(self) -> list[Fill]:
        batch, self.fills_out = self.fills_out, []
        return batch

    def _record_cancel_all(self, now: int) -> None:
        self._writers["quotes"].append([cancel_all_row(self.symbol, now)])
