"""MarketActor: quotes one or several home markets and reports their fills.

Thin shell: every decision is made by `engine/` (the `engine.market.Quoter`:
policy, market rules, rounding, requote rule; book metrics). `HostedMarket`
gathers one market's inputs and carries out its quoter's decisions; the
`MarketActor` hosts a dict of them (`ray.markets_per_actor`, default 1) and
drives them on one timer, so a deployment with hundreds of markets pays the
~200 MB of a Ray worker per group, not per market. Per tick the actor polls
every market's fills and sends them in one batch (hedge first), pulls every
due reference price in one router call, then requotes and samples each market.
Fills a venue pushes are sent the moment it booked them, by a task beside the
tick (`_forward_pushed_fills`), not at the next tick or after a requote.
Fills go to the router and the ledger fire-and-forget, and every delivery is
awaited at stop so none is lost.

Risk is the desk's, not the home venue's: every `timing.net_exposure_pull_s`
the actor asks the ledger, in one call for all its markets, for the net
unhedged exposure of each base asset and the home account's balances
(`InventoryLedgerActor.desk_exposure`), and the router for its netted hedges
in flight (`engine.market.DeskExposure`); the fills sent before the call are in
the answer, and the fills of its own markets that no hedge covers yet (hybrid
or net mode) are added on top until the next pull. Markets sharing an asset
skew on the same number. The external venues' books come with the reference
pull for every market, so each quoter prices its levels against the hedge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from decimal import Decimal
from typing import Any

import ray
from pydantic import SecretStr

from actors.context import RestartGate, RunContext, live_config
from actors.market_host import HostedMarket
from engine.config import AppConfig
from engine.log_redaction import guard_logs
from engine.market.exposure import DeskExposure
from engine.types import Fill
from engine.venues.errors import describe

log = logging.getLogger(__name__)

DELIVERY_ATTEMPTS = 30  # ~45 s of retries: longer than any actor restart
PUSH_RECHECK_S = 0.5  # the pushed-fill forwarder looks again at which markets it hosts


@ray.remote
class MarketActor:
    """Hosts the `HostedMarket`s of one group of markets (one market by default)."""

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
        guard_logs([*config.secret_values(), home_api_key, home_api_secret])
        self._config = config
        self._router = router
        self._ledger = ledger
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Future[Any]] = set()
        self._last_reference_pull_ns = 0
        self._exposure = DeskExposure()
        self._tick_due_ns = 0
        # Ray re-runs __init__ after a crash (max_restarts); nobody calls on_start
        # again, so the first call this incarnation gets (the driver's status poll)
        # starts it, under ids of its own
        self._gate = RestartGate()
        self._incarnation = f"r{secrets.token_hex(3)}" if self._gate.restarted else ""
        access = (home_url, home_api_key, home_api_secret)
        self._quoters = {
            s: HostedMarket(config, s, ctx, home_access=access, incarnation=self._incarnation)
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
            q.resume_position(Decimal(position))
        await self.on_start()
        live = await live_config(self._config)
        if live.config_hash != self._config.config_hash:  # applied after start
            await self.on_config(live)
        now = time.time_ns()
        await asyncio.gather(*(q.cancel_stale(now) for q in self._quoters.values()))
        log.warning(
            "market actor restarted (%s), inventory from the ledger: %s",
            self._incarnation,
            {q.symbol: str(q.quoter.position) for q in self._quoters.values()},
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

        async def close(quoter: Any) -> None:  # its last fills leave as it closes, not
            await quoter.close(now)  # after the slowest market's cancel
            self._send_fills()

        await asyncio.gather(*(close(q) for q in self._quoters.values()))
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

    async def on_restore_target(self, market: str, reason: str) -> float:
        return self._quoter(market).restore_target(reason)

    async def status(self, market: str) -> dict[str, Any]:
        await self._ensure_started()
        return self._quoter(market).status()

    async def statuses(self) -> list[dict[str, Any]]:
        """Every hosted market's status, in one call (the driver polls once a second)."""
        await self._ensure_started()
        return [q.status() for q in self._quoters.values()]

    def _quoter(self, market: str) -> HostedMarket:
        try:
            return self._quoters[market]
        except KeyError:
            raise KeyError(
                f"market {market!r} is not hosted here (hosted: {', '.join(self._quoters)})"
            ) from None

    # timer -------------------------------------------------------------------

    async def _run(self) -> None:
        forwarder = asyncio.create_task(self._forward_pushed_fills())
        try:
            await self._tick_forever()
        finally:
            forwarder.cancel()

    async def _tick_forever(self) -> None:
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
                    q.errors.append(describe(exc))
            tick_s = self._config.timing.market_tick_s
            self._tick_due_ns = time.time_ns() + int(tick_s * 1e9)  # what the sleep aims at
            await self._sleep_until_tick()

    async def _sleep_until_tick(self) -> None:
        left_s = (self._tick_due_ns - time.time_ns()) / 1e9
        await asyncio.sleep(max(0.0, left_s))

    async def _forward_pushed_fills(self) -> None:
        """Send fills a venue pushed to the router and ledger the moment the venue booked
        them, beside the tick: a requote in the middle of its REST round trips (tens of
        ms) must not hold a fill back from its hedge. No I/O here (the venue booked the
        fills already); the tick's poll still reads REST to catch up on anything missed."""
        while True:
            events = [e for q in self._quoters.values() if (e := q.fills_arrived) is not None]
            if not events:
                return  # no venue of ours pushes: the tick polls
            waits = [asyncio.ensure_future(e.wait()) for e in events]
            try:  # the timeout re-reads the hosted markets (one may have been removed)
                await asyncio.wait(
                    waits, timeout=PUSH_RECHECK_S, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for w in waits:
                    w.cancel()
            now = time.time_ns()
            for q in list(self._quoters.values()):
                try:
                    q.take_pushed(now)
                except Exception as exc:
                    self._settle([q], [exc])
            self._send_fills()

    async def on_timer(self, now: int) -> None:
        quoters = list(self._quoters.values())
        self._settle(
            quoters, await asyncio.gather(*(q.poll(now) for q in quoters), return_exceptions=True)
        )
        self._send_fills()  # hedge first: quoting can wait a few ms, exposure cannot
        if now - self._last_reference_pull_ns >= self._config.timing.reference_pull_s * 1e9:
            await self._pull_references(now)
        if now - self._exposure.answered_ns >= self._config.timing.net_exposure_pull_s * 1e9:
            await self._pull_exposure(now)
        self._push_exposure()
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
    def _settle(quoters: list[HostedMarket], results: list[Any]) -> None:
        """One market's failure stays its own: logged, shown in its status, others go on."""
        for q, res in zip(quoters, results, strict=True):
            if isinstance(res, Exception):
                log.error("market %s step failed", q.symbol, exc_info=res)
                q.errors.append(describe(res))

    async def _pull_references(self, now: int) -> None:
        """Every hosted market's reference mid and external books, one call each."""
        symbols = list(self._quoters)
        refs, books = await asyncio.gather(
            self._router.reference.remote(symbols), self._router.reference_books.remote(symbols)
        )
        for s, q in self._quoters.items():
            q.on_reference(now, refs.get(s), books.get(s))
        self._last_reference_pull_ns = now

    async def _pull_exposure(self, now: int) -> None:
        """The desk's net exposure per base asset and the home balances, one ledger call.

        A failed pull keeps the last answer (and the fills added since): quoting goes on.
        """
        assets = sorted({a for q in self._quoters.values() for a in (q.base, q.quote)})
        home = self._config.home_venue.id
        await asyncio.sleep(0)  # the fill deliveries just scheduled go out first
        try:
            answer, inflight = await asyncio.gather(
                self._ledger.desk_exposure.remote(assets, home),
                self._router.inflight_exposure.remote(assets),
            )
        except Exception as exc:
            log.warning("net exposure pull failed, quoting on the last one: %s", exc)
            return
        self._exposure.on_answer(now, answer, inflight)

    def _push_exposure(self) -> None:
        """Each quoter's inputs: its base asset's net exposure, what home can settle."""
        exposure = self._exposure
        if not exposure.known:
            return  # nothing known yet: the quoters stand in with their home fills
        for q in self._quoters.values():
            q.quoter.net_exposure = exposure.net(q.base)
            q.quoter.home_available = exposure.home_available(q.base, q.quote)

    def _send_fills(self) -> None:
        """One batch per hedge treatment for every hosted market's new fills."""
        by_pending: dict[bool, list[Fill]] = {}
        for q in self._quoters.values():
            if q.fills_out:
                fills = q.take_fills()
                if not q.hedge_pending:  # no hedge covers them yet: the desk's risk now
                    self._exposure.on_unhedged_fills(fills)
                by_pending.setdefault(q.hedge_pending, []).extend(fills)
        for hedge_pending, batch in by_pending.items():
            for send in (
                lambda b=batch: self._router.on_fills.remote(b),
                lambda b=batch, p=hedge_pending: self._ledger.on_fills.remote(b, p),
            ):
                # the first attempt leaves now, not when the delivery task first runs:
                # that waits behind whatever the loop has ready (a requote's answers)
                try:
                    first = send()
                except Exception as exc:  # submitting failed: the task retries
                    log.warning("fill delivery failed (submit): %s", exc)
                    first = None
                fut = asyncio.ensure_future(self._deliver(send, first))
                self._deliveries.add(fut)
                fut.add_done_callback(self._deliveries.discard)

    async def _deliver(self, send: Any, first: Any = None) -> None:
        """At least once: a batch is re-sent until it lands (both ends dedupe by fill id),
        so a router or ledger restarting mid-call loses no fill. `first`: the call
        already submitted, awaited as the first attempt."""
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                await (first if attempt == 0 and first is not None else send())
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
