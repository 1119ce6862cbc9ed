"""The driver's alert loop: observe the graph, evaluate `engine.alerts`, act, record.

Runs inside the driver's status loop (once a second): the driver already
polls every market and the router, so alerting adds no actor and no extra
hop. Every alert is written to the `alerts` table with the action taken and
its result, kept in RunControl for `marketmesh status`, and POSTed to the
webhook when one is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import ray

from actors.context import RunContext
from analytics.writer import PartWriter
from engine.alerts import Alert, AlertMonitor, MarketObservation, Observation, builtin_rules
from engine.config import AlertAction, AppConfig

log = logging.getLogger(__name__)


class GraphMonitor:
    def __init__(self, config: AppConfig, ctx: RunContext, handles: Mapping[str, Any]) -> None:
        self._config = config
        self._handles = handles
        self._monitor = AlertMonitor(config.alerts.rules + builtin_rules(config.alerts))
        self._writer = PartWriter(
            ctx.data_dir,
            "alerts",
            writer_id="driver",
            run_id=ctx.run_id,
            config_hash=ctx.config_hash,
        )
        self._exposure: dict[str, tuple[float, float]] = {}
        self._pnl: float | None = None
        self._pnl_peak: float | None = None
        self._last_exposure = 0.0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook")
        self.kill_switch = ""
        self.fired: list[dict[str, Any]] = []

    def reconfigure(self, config: AppConfig) -> None:
        """A new config version: its alert rules start afresh, its hash tags the rows."""
        self._config = config
        self._monitor = AlertMonitor(config.alerts.rules + builtin_rules(config.alerts))
        self._writer.retag(config.config_hash)

    @property
    def active(self) -> bool:
        return True  # the built-in storage rules always watch

    def tick(self, markets: list[dict[str, Any]], router: dict[str, Any]) -> list[dict[str, Any]]:
        """One evaluation; returns the alerts fired now (as rows)."""
        now_s = time.monotonic()
        if now_s - self._last_exposure >= self._config.timing.exposure_poll_s:
            self._last_exposure = now_s
            self._exposure = self._read_exposure()
        obs = Observation(
            ts_ns=time.time_ns(),
            markets=[
                MarketObservation(
                    market=m["market"],
                    quoting=bool(m["quoting"]),
                    spread_bps=m["spread_bps"],
                    target_spread_bps=float(m["target_spread_bps"]),
                    bid_depth_quote=float(m["bid_depth_band"] or 0.0),
                    ask_depth_quote=float(m["ask_depth_band"] or 0.0),
                    depth_target_quote=float(m["depth_target_quote"]),
                    reference_age_s=float(m["reference_age_s"] or 0.0),
                )
                for m in markets
                if not m.get("paused")  # a paused market is not breaching, it is off
            ],
            venues={v: (ok, why) for v, (ok, why) in router.get("venues", {}).items()},
            streams={
                v: (bool(s["up"]), str(s.get("reason") or ""))
                for v, s in router.get("streams", {}).items()
            },
            # partial hedges are mostly lot-rounding residuals the rebalancer nets;
            # a failure executed nothing for a fault (`engine.hedging.failed`), not for
            # having nothing left a venue could trade
            hedge_failures=int(router.get("failed", 0)),
            exposure=self._exposure,
            max_reference_age_s=self._config.risk.max_book_age_s,
            pnl_quote=self._pnl,
            pnl_peak_quote=self._pnl_peak,
            storage_failing_s=self._storage(markets, router),
        )
        rows = [self._act(a) for a in self._monitor.evaluate(obs)]
        self.fired.extend(rows)
        return rows

    def _storage(self, markets: list[dict[str, Any]], router: dict[str, Any]) -> dict[str, float]:
        """How long each actor's Parquet writes have been failing (0 when they work)."""
        out = {f"market {m['market']}": float(m["storage"]["failing_for_s"])
               for m in markets if "storage" in m}  # fmt: skip
        if "storage" in router:
            out["router"] = float(router["storage"]["failing_for_s"])
        try:
            ledger = ray.get(self._handles["ledger"].storage_status.remote(), timeout=5)
            out["ledger"] = float(ledger["failing_for_s"])
        except Exception as exc:  # the ledger restarting: judged on the next tick
            log.debug("ledger storage status unavailable: %s", exc)
        return out

    def close(self) -> None:
        self._writer.flush()
        self._pool.shutdown(wait=True)

    def _read_exposure(self) -> dict[str, tuple[float, float]]:
        quote = self._config.quote_asset
        assets = sorted({m.base for m in self._config.markets} - {quote})
        refs = ray.get(self._handles["router"].reference.remote([f"{a}/{quote}" for a in assets]))
        mids = {s.split("/")[0]: mid for s, (mid, _) in refs.items()}
        exposures, pnl = ray.get(
            [
                self._handles["ledger"].exposure.remote(mids),
                self._handles["ledger"].equity_change.remote(mids),
            ]
        )
        self._pnl = pnl
        self._pnl_peak = pnl if self._pnl_peak is None else max(self._pnl_peak, pnl)
        return {e.asset: (float(e.gap), float(e.threshold)) for e in exposures}

    def _act(self, alert: Alert) -> dict[str, Any]:
        action = alert.rule.action
        action_name = f"{action.value}_revert" if alert.reverts else action.value
        try:
            result = self._dispatch(action, alert)
        except Exception as exc:  # an action that fails is itself worth an alert row
            result = f"failed: {type(exc).__name__}: {exc}"
        row = {
            "ts": alert.ts_ns,
            "alert_id": alert.alert_id,
            "severity": "info" if alert.reverts else alert.rule.severity,
            "source": "monitor",
            "kind": alert.kind.value,
            "market": alert.market,
            "venue": alert.venue,
            "message": alert.message,
            "value": alert.value,
            "threshold": alert.threshold,
            "action": action_name,
            "action_result": result,
        }
        self._writer.append([row])
        log.warning("ALERT %s -> %s: %s", alert.message, action_name, result)
        if self._config.alerts.webhook_url is not None:
            self._pool.submit(self._post, row)
        return row

    def _dispatch(self, action: AlertAction, alert: Alert) -> str:
        markets = (
            [alert.market]
            if alert.market
            else sorted(k.removeprefix("market:") for k in self._handles if k.startswith("market:"))
        )
        if action is AlertAction.WIDEN and alert.reverts:
            restored = ray.get(
                [
                    self._handles[f"market:{m}"].on_restore_target.remote(m, alert.alert_id)
                    for m in markets
                ]
            )
            return ", ".join(
                f"{m} target back to {t:.2f} bps" for m, t in zip(markets, restored, strict=True)
            )
        if action is AlertAction.WIDEN:
            widened = ray.get(
                [
                    self._handles[f"market:{m}"].on_widen.remote(
                        m, alert.rule.widen_factor, alert.alert_id
                    )
                    for m in markets
                ]
            )
            return ", ".join(
                f"{m} target {t:.2f} bps" for m, t in zip(markets, widened, strict=True)
            )
        if action is AlertAction.PAUSE_MARKET:
            ray.get(
                [self._handles[f"market:{m}"].on_pause.remote(m, alert.alert_id) for m in markets]
            )
            return "paused " + ", ".join(markets)
        if action in (AlertAction.HEDGE_NOW, AlertAction.REBALANCE):
            self._handles["rebalancer"].on_timer.remote()
            return "rebalance cycle started"
        if action is AlertAction.KILL_SWITCH:
            every = [k for k in self._handles if k.startswith("market:")]
            ray.get(
                [
                    self._handles[k].on_pause.remote(k.removeprefix("market:"), alert.alert_id)
                    for k in every
                ]
            )
            self.kill_switch = alert.alert_id
            return "all quotes cancelled; graph stopping"
        return "notified" if self._config.alerts.webhook_url else "logged (no webhook configured)"

    def _post(self, row: dict[str, Any]) -> None:
        url = self._config.alerts.webhook_url
        assert url is not None
        timeout = aiohttp.ClientTimeout(total=self._config.alerts.webhook_timeout_s)

        async def post() -> None:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    url.get_secret_value(),
                    data=json.dumps(row, default=str),
                    headers={"Content-Type": "application/json"},
                    allow_redirects=False,  # a redirect could carry the alert elsewhere
                ) as resp,
            ):
                if resp.status >= 300:
                    log.warning("alert webhook answered HTTP %s (not followed)", resp.status)

        try:
            asyncio.run(post())
        except Exception as exc:  # the URL may hold a token: never log it
            log.warning("alert webhook failed: %s", type(exc).__name__)
