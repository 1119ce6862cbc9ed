"""The live status of a run: a rich table per market on a terminal, a plain
progress line every few seconds otherwise (CI logs, pipes)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

PLAIN_EVERY_S = 5.0


class StatusView:
    def __init__(self, console: Console, duration_s: float) -> None:
        self._console = console
        self._duration = duration_s
        self._live: Live | None = None
        self._last_plain = 0.0
        self._steps: list[str] = []
        self._started = time.monotonic()

    def __enter__(self) -> StatusView:
        if self._console.is_terminal:
            self._live = Live(Table(), console=self._console, refresh_per_second=2, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def progress(self, step: str) -> None:
        """A start-up step begins (`run_graph`'s `on_progress`): the ~12 s before the first
        status frame say what is starting instead of staying silent."""
        self._steps.append(step)
        line = f"starting {'… '.join(self._steps)}… ({time.monotonic() - self._started:.0f}s)"
        if self._live is not None:
            self._live.update(Text(line))
        else:
            self._console.print(f"starting {step}…", highlight=False)

    def update(
        self, elapsed_s: float, markets: list[dict[str, Any]], router: dict[str, Any]
    ) -> None:
        if self._live is not None:
            self._live.update(self._table(elapsed_s, markets, router))
            return
        if time.monotonic() - self._last_plain < PLAIN_EVERY_S:
            return
        self._last_plain = time.monotonic()
        parts = [
            f"{m['market']} mid={_num(m['mid'])} spread={_num(m['spread_bps'])}bps "
            f"fills={m['fills']} pos={m['position']}{'' if m['quoting'] else ' NOT-QUOTING'}"
            for m in markets
        ]
        self._console.print(
            f"[{elapsed_s:5.0f}/{self._duration:g}s] "
            + " | ".join(parts)
            + f" | hedges={router.get('hedges', 0)} inflight={router.get('inflight', 0)}",
            highlight=False,
        )

    def _table(
        self, elapsed_s: float, markets: list[dict[str, Any]], router: dict[str, Any]
    ) -> Table:
        return status_table(f"marketmesh {elapsed_s:.0f}/{self._duration:g}s", markets, router)


def status_table(title: str, markets: list[dict[str, Any]], router: dict[str, Any]) -> Table:
    """One row per market plus venue health: shown live by `run` and by `status`."""
    t = Table(title=title)
    for col in ("market", "mid", "spread bps", "quoting", "fills", "position", "note"):
        t.add_column(col)
    for m in markets:
        note = f"paused: {m['paused']}" if m.get("paused") else (m["errors"] or [""])[-1][:60]
        t.add_row(
            m["market"],
            _num(m["mid"]),
            _num(m["spread_bps"]),
            "yes" if m["quoting"] else "[red]no[/red]",
            str(m["fills"]),
            m["position"],
            note,
        )
    venues = router.get("venues", {})
    streams = router.get("streams", {})

    def market_data(venue: str) -> str:  # a streaming venue: up, or polling while it is down
        s = streams.get(venue)
        if s is None:
            return ""
        return " stream" if s["up"] else " [yellow]polling (stream down)[/yellow]"

    health = ", ".join(
        f"{v}:{'ok' if ok else 'DOWN'}{market_data(v)}" for v, (ok, _) in venues.items()
    )
    t.caption = f"{hedge_counts(router)} | {health}"
    return t


def hedge_counts(router: dict[str, Any]) -> str:
    """The router's hedge outcomes in one phrase (the status caption, the run's summary)."""
    n = {k: router.get(k, 0) for k in ("hedges", "hedged", "partial", "skipped", "failed")}
    return (
        f"hedges {n['hedges']} (hedged {n['hedged']}, partial {n['partial']}, "
        f"skipped {n['skipped']}, failed {n['failed']})"
    )


def status_payload(control: Any, info: dict[str, Any], handles: dict[str, Any]) -> dict[str, Any]:
    """What `marketmesh status --json` prints and the operations page shows: the run, every
    market's status, the router's, the last alerts, and exposure per asset against limits."""
    import ray

    from actors.market import market_statuses

    markets = market_statuses(handles)
    router, alerts, config = ray.get(
        [
            handles["router"].status.remote(),
            control.alerts.remote(),
            control.current_config.remote(),
        ]
    )
    return {
        "run": info,
        "markets": markets,
        "router": router,
        "alerts": alerts,
        "exposure": exposure_vs_limits(markets, config),
    }


def exposure_vs_limits(markets: list[dict[str, Any]], config: Any) -> list[dict[str, Any]]:
    """Per base asset: the position the markets hold and the sum of their inventory limits
    (None when the config is unknown), so an operator sees how close each asset is."""
    limits = {m.symbol: m.inventory_limit for m in config.markets} if config is not None else {}
    out: dict[str, dict[str, Any]] = {}
    for m in markets:
        asset = m["market"].split("/")[0]
        row = out.setdefault(asset, {"asset": asset, "position": 0.0, "limit": None})
        row["position"] += float(m["position"])
        if m["market"] in limits:
            row["limit"] = (row["limit"] or 0.0) + limits[m["market"]]
    for row in out.values():
        limit = row["limit"]
        row["used"] = abs(row["position"]) / limit if limit else None
    return sorted(out.values(), key=lambda r: r["asset"])


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:,.2f}"
