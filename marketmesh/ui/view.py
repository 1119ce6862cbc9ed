"""The operations page's state, from a `marketmesh status --json` payload; pure.

Numbers are passed through as the status has them (the page formats them and
keeps the raw value beside, so what it shows can be checked against the
status). Spread sparklines are drawn here as inline SVG: no script library,
nothing fetched from outside.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

SPARK_POINTS = 120  # one per refresh: two minutes at 1 s
SPARK_W, SPARK_H = 160, 32
LAST_ALERTS = 10


class SpreadHistory:
    """The last `SPARK_POINTS` spreads of every market, oldest first."""

    def __init__(self, points: int = SPARK_POINTS) -> None:
        self._points = points
        self._spreads: dict[str, deque[float | None]] = {}

    def add(self, markets: Iterable[dict[str, Any]]) -> None:
        for m in markets:
            series = self._spreads.setdefault(m["market"], deque(maxlen=self._points))
            series.append(m.get("spread_bps"))

    def of(self, market: str) -> list[float | None]:
        return list(self._spreads.get(market, ()))


def sparkline_svg(values: Sequence[float | None], target: float | None) -> str:
    """A polyline of `values` (gaps where None) with the target as a dashed line."""
    known = [v for v in values if v is not None]
    scale = known + ([target] if target is not None else [])
    if not scale:
        return f'<svg class="spark" width="{SPARK_W}" height="{SPARK_H}"></svg>'
    lo, hi = min(scale), max(scale)
    span = (hi - lo) or 1.0
    step = SPARK_W / max(1, len(values) - 1)

    def y(v: float) -> float:
        return round(SPARK_H - 2 - (v - lo) / span * (SPARK_H - 4), 1)

    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(f"{round(i * step, 1)},{y(v)}")
    lines = [
        f'<polyline fill="none" stroke="#2a7ae2" stroke-width="1.5" points="{" ".join(r)}"/>'
        for r in runs
        if r
    ]
    if target is not None:
        ty = y(target)
        lines.append(
            f'<line x1="0" x2="{SPARK_W}" y1="{ty}" y2="{ty}" stroke="#d9822b" '
            'stroke-dasharray="3,2"/>'
        )
    return (
        f'<svg class="spark" width="{SPARK_W}" height="{SPARK_H}" '
        f'viewBox="0 0 {SPARK_W} {SPARK_H}" role="img">{"".join(lines)}</svg>'
    )


def hedge_latency(router: dict[str, Any]) -> dict[str, Any]:
    """Fill -> first child order latency from the router's histogram: mean, and the
    bucket bound that 95 % of hedges stayed under (None past the last bound)."""
    counts = router.get("latency_counts") or []
    bounds = router.get("latency_buckets_s") or []
    total = sum(counts)
    out: dict[str, Any] = {"hedges_timed": total, "mean_ms": None, "p95_under_ms": None}
    if not total:
        return out
    out["mean_ms"] = router.get("latency_sum_s", 0.0) / total * 1e3
    seen = 0
    for i, n in enumerate(counts):
        seen += n
        if seen >= 0.95 * total:
            out["p95_under_ms"] = bounds[i] * 1e3 if i < len(bounds) else None
            break
    return out


def _market_row(m: dict[str, Any], history: SpreadHistory) -> dict[str, Any]:
    spread, target = m.get("spread_bps"), m.get("target_spread_bps")
    depth_target = m.get("depth_target_quote")
    bid, ask = m.get("bid_depth_band"), m.get("ask_depth_band")
    return {
        "market": m["market"],
        "mid": m.get("mid"),
        "spread_bps": spread,
        "target_spread_bps": target,
        "spread_ok": None if spread is None or target is None else spread <= target,
        "bid_depth_band": bid,
        "ask_depth_band": ask,
        "depth_target_quote": depth_target,
        "depth_ok": None
        if bid is None or ask is None or depth_target is None
        else min(bid, ask) >= depth_target,
        "quoting": m.get("quoting"),
        "paused": m.get("paused") or "",
        "policy": m.get("policy"),
        "vol_regime": m.get("vol_regime"),
        "position": m.get("position"),
        "fills": m.get("fills"),
        "last_error": (m.get("errors") or [""])[-1],
        "sparkline": sparkline_svg(history.of(m["market"]), target),
    }


def page_state(payload: dict[str, Any], history: SpreadHistory) -> dict[str, Any]:
    """What the page shows; `history` already holds this payload's spreads."""
    router = payload.get("router", {})
    run = payload.get("run", {})
    return {
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": {k: run.get(k) for k in ("run_id", "config_hash", "data_dir", "stopping")},
        "markets": [_market_row(m, history) for m in payload.get("markets", [])],
        "exposure": payload.get("exposure", []),
        "hedging": {
            **{
                k: router.get(k)
                for k in ("hedges", "hedged", "partial", "skipped", "failed", "inflight")
            },
            **hedge_latency(router),
        },
        "venues": [
            {"venue": v, "healthy": bool(ok_reason[0]), "reason": ok_reason[1]}
            for v, ok_reason in sorted(router.get("venues", {}).items())
        ],
        "alerts": [
            {k: a.get(k) for k in ("ts", "severity", "message", "action", "action_result")}
            for a in payload.get("alerts", [])[-LAST_ALERTS:]
        ][::-1],
    }
