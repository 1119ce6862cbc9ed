"""Scale: 10/25/50 synthetic markets on one machine, lag, hedge latency and memory.

For each size N, writes the config of `bench/_scale_config.py` (N markets
`A01/USDT`…, three venue-sim hedge venues as in configs/local.yaml, 1 Hz
requote, synthetic takers) to a temporary YAML, starts a fresh local Ray
(`num_cpus=2`, no dashboard), runs the whole graph with `run_graph` and
prints:

* quote-cycle lag p50/p99: for each requote, the time the new quotes were
  placed minus the time the MarketActor's 100 ms tick was scheduled to start
  (wake-up lateness + polling fills + the reference pull from the router +
  policy + cancel/place). Read from `MarketActor.status()` (`quote_cycles`,
  `quote_lag_ms_recent`), after a warm-up. The 1 s requote timer is checked
  on those ticks, so a timer requote also waits up to one tick (0-100 ms,
  by design, not counted here);
* fill → hedge-order-sent p50/p99 (MarketActor saw the fill → the router
  dispatched the first child order), from the Parquet the run wrote, with the
  query of `bench/fill_to_hedge_latency.py`;
* fills/s over the run;
* hedges skipped on a stale book, and each hedge venue's REST request weight
  as a share of its key's budget (books stream over websockets by default for
  ccxt venues; REST is left for orders, balances and snapshots). The goal is
  on reads (books, balances, trades, order lookups, ccxt.pro's snapshots):
  order entry (weight 1 an order) grows with the hedges placed, is the same
  with streams or polling, and is printed apart, by call;
* memory, late in the run: RSS (and PSS, which does not double-count shared
  pages) summed over every Ray worker process plus raylet and gcs_server, and
  RSS per actor class (psutil, the copy Ray ships).

Each size runs once per `--markets-per-actor` value (1 = one MarketActor per
market, the default deployment; 10 = markets grouped ten to an actor), side
by side in one invocation.

    python bench/scale.py --sizes 10 25 50 --duration 30 --markets-per-actor 1 10
    python bench/scale.py --sizes 2 --duration 5        # smoke run
    python bench/scale.py --sizes 50 --markets-per-actor 10 --market-data stream poll \
        --book-model resting redraw   # issue 14: streams against polling, both book models
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
import yaml
from _scale_config import scale_config
from fill_to_hedge_latency import QUERY as FILL_TO_HEDGE_QUERY

from analytics.views import connect
from engine.config import VenueConfig, load_config
from engine.venues.ccxt_weights import depth_weight
from marketmesh.graph import run_graph

GIB = 1024**3
MIB = 1024**2
GOAL_MARKETS = 50
GOAL_LAG_P99_MS = 100.0
GOAL_MEMORY_GIB = 6.0
# the router's status counts a run reports; books_asked_again: a streamed book too old at
# a hedge, asked for again and waited for
ROUTER_COUNTS = (
    *("hedges", "hedged", "partial", "skipped", "failed", "rejected", "unknown"),
    "books_asked_again",
    "hedges_held",
)
GOAL_STALE_SKIPS = 0  # issue 14: with streamed books, no hedge skipped on a stale one
GOAL_REST_WEIGHT_PCT = 10.0  # issue 14: REST weight per key, % of its budget
NUM_CPUS = 2
RAY_AGENTS = ("DashboardAgent", "RuntimeEnvAgent")  # per-node daemons titled like workers
# hedges (or residuals) the router could not plan on any venue, by reason
STALE_QUERY = """
select count(*) from hedge_orders where run_id = $run_id and reason like '%stale book%'
"""
# age of the books each hedge decision used, per sent or left-out order row
BOOK_AGE_QUERY = """
select quantile_cont(book_age_ms, 0.5), quantile_cont(book_age_ms, 0.99)
from hedge_orders where run_id = $run_id and book_age_ms is not null
"""

UNROUTED_QUERY = """
select coalesce(left(regexp_replace(reason, '[0-9.]+s\\b', '<age>', 'g'), 110), '(no reason)')
    as why, count(*) as n
from hedge_orders where run_id = $run_id and venue is null
group by 1 order by n desc limit 3
"""


@dataclass
class MemorySample:
    elapsed_s: float
    ray_rss: int = 0  # workers + raylet + gcs_server
    ray_pss: int = 0
    other_ray_rss: int = 0  # dashboard agent, log monitor, runtime-env agent, ...
    venue_sim_rss: int = 0
    driver_rss: int = 0
    per_class: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    per_class_pss: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    cpu_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # user+sys


@dataclass
class SizeResult:
    n_markets: int
    markets_per_actor: int
    duration_s: float
    lags_ms: list[float]
    dropped_lags: int
    fills: int
    hedged: int
    hedge_p50_ms: float | None
    hedge_p99_ms: float | None
    memory: MemorySample | None
    cores: dict[str, float]  # CPU cores busy per process of a class, between two samples
    reconciled: bool
    market_errors: int
    load_1m: float  # the machine's 1-minute load average at the end (2 cores, shared)
    hedge_outcomes: dict[str, int]  # the router's counts: hedges, hedged, partial, skipped
    venue_down: dict[str, int]  # status polls in which the router saw the venue unhealthy
    unrouted: list[tuple[str, int]]  # hedge_orders rows with no venue: (reason, count)
    stale_skips: int = 0  # hedge_orders rows whose reason names a stale book
    book_age_ms: tuple[float | None, float | None] = (None, None)  # p50, p99 at decision
    # per hedge venue: REST weight spent per minute of the run, in % of the key's budget
    rest_weight_pct: dict[str, float] = field(default_factory=dict)
    # per hedge venue: the venue's own highest 1-minute count for the IP (X-MBX-USED-WEIGHT-1M),
    # in % of the budget: every client on the machine, ccxt.pro's book snapshots too
    venue_used_peak_pct: dict[str, float] = field(default_factory=dict)
    market_data: dict[str, str] = field(default_factory=dict)  # venue -> stream / poll
    # per hedge venue: REST weight of reads (books, balances, trades, order lookups, and
    # ccxt.pro's book snapshots), order entry left out; % of the budget in the busiest
    # minute at most (runs under a minute: all of it)
    read_weight_pct: dict[str, float] = field(default_factory=dict)
    # per hedge venue: REST weight spent by each call over the run (where the weight went)
    weight_by_operation: dict[str, dict[str, float]] = field(default_factory=dict)
    mode: str = "default"  # --market-data and --book-model of this run

    @property
    def fills_per_s(self) -> float:
        return self.fills / self.duration_s


ORDER_ENTRY = frozenset({"create_order", "cancel_order"})
DEFAULT_BOOK_DEPTH = int(VenueConfig.model_fields["book_depth"].default)


def read_weight(
    weight: dict[str, Any], stream: dict[str, Any] | None, n_symbols: int, depth: int | None
) -> float:
    """REST weight a hedge venue spent reading: its own calls but order entry, plus the
    book snapshots ccxt.pro reads outside its budget (one a symbol a connection, one a
    resync; Binance weighs `GET /api/v3/depth` by its limit)."""
    own = sum(w for op, w in weight.get("by_operation", {}).items() if op not in ORDER_ENTRY)
    if not stream:
        return own
    snapshots = stream.get("connects", 0) * n_symbols + stream.get("resyncs", 0)
    return own + snapshots * depth_weight(depth or DEFAULT_BOOK_DEPTH)


def by_call(weights: dict[str, float]) -> dict[str, float]:
    """Weight per call, summed over the symbols (`fetch_order_book A01/USDT` and the
    rest of the 50 books are one line)."""
    out: dict[str, float] = {}
    for op, w in weights.items():
        call = op.split(" ", 1)[0]
        out[call] = out.get(call, 0.0) + w
    return out


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None without data."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


class LagCollector:
    """New quote-cycle lags from successive `MarketActor.status()` dicts, after a warm-up.

    Each status carries a cycle counter and the last 64 lags, so the new ones
    are the counter's delta (more than 64 between two polls are counted as dropped).
    """

    def __init__(self, warmup_s: float) -> None:
        self.warmup_s = warmup_s
        self.seen: dict[str, int] = {}
        self.lags_ms: list[float] = []
        self.dropped = 0

    def on_status(self, elapsed_s: float, statuses: list[dict[str, Any]]) -> None:
        for st in statuses:
            market, cycles = st["market"], st.get("quote_cycles")
            if cycles is None:
                raise RuntimeError("MarketActor.status() has no quote_cycles (actors/market.py)")
            if elapsed_s >= self.warmup_s and market in self.seen:
                new = cycles - self.seen[market]
                recent = st["quote_lag_ms_recent"]
                taken = recent[len(recent) - min(new, len(recent)) :] if new > 0 else []
                self.lags_ms.extend(taken)
                self.dropped += new - len(taken)
            if elapsed_s >= self.warmup_s or market not in self.seen:
                self.seen[market] = cycles


def actor_class(cmdline: list[str]) -> str | None:
    """`ray::MarketActor.status` → MarketActor; `ray::IDLE` → IDLE; None if not a worker."""
    if not cmdline or not cmdline[0].startswith("ray::"):
        return None
    return cmdline[0].removeprefix("ray::").split(".")[0].split(" ")[0] or None


def sample_memory(elapsed_s: float, with_pss: bool) -> MemorySample:
    """Every process under this driver: Ray's (workers, raylet, gcs) and venue-sim's."""
    import psutil  # the copy Ray ships: `import ray` (done above) puts it on sys.path

    out = MemorySample(elapsed_s)
    me = psutil.Process()
    out.driver_rss = me.memory_info().rss
    mine = me.cpu_times()
    out.cpu_s["driver"] = mine.user + mine.system
    for proc in me.children(recursive=True):
        try:
            cmdline = proc.cmdline()
            name = proc.name()
            rss = proc.memory_info().rss
            cpu = proc.cpu_times()
            pss = proc.memory_full_info().pss if with_pss else 0
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        cls = actor_class(cmdline)
        if cls is not None and cls not in RAY_AGENTS:
            out.per_class[cls].append(rss)
            out.per_class_pss[cls].append(pss)
            out.cpu_s[cls] += cpu.user + cpu.system
        elif name in ("raylet", "gcs_server"):
            out.per_class[name].append(rss)
            out.per_class_pss[name].append(pss)
            out.cpu_s[name] += cpu.user + cpu.system
        elif "venue-sim" in cmdline:
            out.venue_sim_rss += rss
            out.cpu_s["venue-sim"] += cpu.user + cpu.system
            continue
        else:
            out.other_ray_rss += rss
            continue
        out.ray_rss += rss
        out.ray_pss += pss
    return out


def cores_per_process(samples: list[MemorySample]) -> dict[str, float]:
    """CPU cores each process of a class kept busy between the first and last sample."""
    if len(samples) < 2 or samples[-1].elapsed_s <= samples[0].elapsed_s:
        return {}
    first, last = samples[0], samples[-1]
    span_s = last.elapsed_s - first.elapsed_s
    return {
        cls: (last.cpu_s[cls] - first.cpu_s.get(cls, 0.0)) / span_s / count
        for cls in last.cpu_s
        if (count := len(last.per_class.get(cls, [])) or 1)
        == (len(first.per_class.get(cls, [])) or 1)
    }


def run_size(
    n: int,
    *,
    per_actor: int,
    duration_s: float,
    warmup_s: float,
    taker_rate: float,
    work: Path,
    market_data: str | None = None,
    book_depth: int | None = None,
    book_model: str = "resting",
) -> SizeResult:
    config_path = work / f"scale-{n}.yaml"
    mapping = scale_config(
        n,
        taker_rate_per_s=taker_rate,
        num_cpus=NUM_CPUS,
        markets_per_actor=per_actor,
        market_data=market_data,
        book_depth=book_depth,
        book_model=book_model,
    )
    config_path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    cfg = load_config(config_path)
    data_dir = work / f"data-{n}"
    data_dir.mkdir()
    lags = LagCollector(warmup_s)
    memory: list[MemorySample] = []

    venue_down: dict[str, int] = defaultdict(int)

    def on_status(elapsed_s: float, statuses: list[dict[str, Any]], router: Any) -> None:
        lags.on_status(elapsed_s, statuses)
        for venue, (healthy, _reason) in router.get("venues", {}).items():
            venue_down[venue] += 0 if healthy else 1
        late = elapsed_s >= duration_s * 0.7
        due = not memory or elapsed_s - memory[-1].elapsed_s >= 5.0
        if elapsed_s >= warmup_s and (due or (late and len(memory) < 2)):
            memory.append(sample_memory(elapsed_s, with_pss=late))

    ray.init(
        address="local",
        num_cpus=NUM_CPUS,
        include_dashboard=False,
        namespace="marketmesh",
        log_to_driver=False,
    )
    try:
        result = run_graph(
            cfg,
            config_path=config_path,
            duration_s=duration_s,
            data_dir=str(data_dir),
            on_status=on_status,
        )
    finally:
        ray.shutdown()
    con = connect(str(data_dir))
    # by name: the latency bench's query grows columns (its legs) in front of these
    row = con.execute(
        f"select n, engine_p50_ms, engine_p99_ms from ({FILL_TO_HEDGE_QUERY})",
        {"run_id": result.run_id},
    ).fetchone()
    unrouted = con.execute(UNROUTED_QUERY, {"run_id": result.run_id}).fetchall()
    hedged, h50, h99 = (row[0], row[1], row[2]) if row else (0, None, None)
    (stale,) = con.execute(STALE_QUERY, {"run_id": result.run_id}).fetchone() or (0,)
    ages = con.execute(BOOK_AGE_QUERY, {"run_id": result.run_id}).fetchone() or (None, None)
    minutes = (result.end_ns - result.start_ns) / 60e9
    weights = result.router_status.get("rest_weight", {})
    rest_weight_pct = {  # what the hedge venue's own requests spent, per minute on average
        venue: 100.0 * w["weight"] / minutes / w["limit_per_min"]
        for venue, w in weights.items()
        if minutes > 0 and w.get("limit_per_min")
    }
    streams = result.router_status.get("streams", {})
    read_weight_pct = {  # reads only: order entry is trading, the same in both modes
        venue: 100.0
        * read_weight(w, streams.get(venue), n, book_depth)
        / max(1.0, minutes)
        / w["limit_per_min"]
        for venue, w in weights.items()
        if w.get("limit_per_min")
    }
    venue_used_peak_pct = {  # the venue's busiest minute for the IP, snapshots included
        venue: 100.0 * w.get("venue_used_peak", 0.0) / w["limit_per_min"]
        for venue, w in weights.items()
        if w.get("limit_per_min")
    }
    late = [m for m in memory if m.ray_pss] or memory
    return SizeResult(
        n_markets=n,
        markets_per_actor=per_actor,
        duration_s=duration_s,
        lags_ms=lags.lags_ms,
        dropped_lags=lags.dropped,
        fills=sum(int(st["fills"]) for st in result.market_status),
        hedged=int(hedged or 0),
        hedge_p50_ms=h50,
        hedge_p99_ms=h99,
        memory=max(late, key=lambda m: m.ray_rss) if late else None,
        cores=cores_per_process(memory),
        reconciled=result.reconciled,
        market_errors=sum(len(st.get("errors") or []) for st in result.market_status),
        load_1m=os.getloadavg()[0],
        hedge_outcomes={
            k: int(v)
            for k, v in result.router_status.items()
            if isinstance(v, int) and k in ROUTER_COUNTS
        },
        venue_down=dict(venue_down),
        unrouted=[(str(reason), int(n)) for reason, n in unrouted],
        stale_skips=int(stale or 0),
        book_age_ms=(ages[0], ages[1]),
        mode=f"{market_data or 'default'}, {book_model} books",
        rest_weight_pct=rest_weight_pct,
        weight_by_operation={v: dict(w.get("by_operation", {})) for v, w in weights.items()},
        venue_used_peak_pct=venue_used_peak_pct,
        read_weight_pct=read_weight_pct,
        market_data={
            v: f"{st.get('market_data', '')} (reconnects {st.get('reconnects', 0)}, "
            f"resyncs {st.get('resyncs', 0)}, stale {st.get('stale', 0)})"
            for v, st in result.router_status.get("streams", {}).items()
        },
    )


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f} ms"


def report(r: SizeResult) -> str:
    p50, p99 = percentile(r.lags_ms, 50), percentile(r.lags_ms, 99)
    lines = [
        f"== {r.n_markets} markets, {r.markets_per_actor} per MarketActor, "
        f"market data {r.mode}, {r.duration_s:.0f} s",
        f"  quote-cycle lag  p50 {_ms(p50)}  p99 {_ms(p99)}  "
        f"max {_ms(max(r.lags_ms, default=None))}  ({len(r.lags_ms)} requotes"
        + (f", {r.dropped_lags} not seen" if r.dropped_lags else "")
        + ")",
        f"  fill -> hedge-order-sent  p50 {_ms(r.hedge_p50_ms)}  p99 {_ms(r.hedge_p99_ms)}  "
        f"({r.hedged} hedged fills)",
        f"  fills/s {r.fills_per_s:.2f} ({r.fills} fills)  reconciled {r.reconciled}  "
        f"market errors {r.market_errors}  load average {r.load_1m:.1f} on {os.cpu_count()} cores",
        f"  router hedge outcomes {r.hedge_outcomes}; status polls with a venue unhealthy "
        f"{r.venue_down}",
        *(f"  not routed ({n}x): {reason}" for reason, n in r.unrouted),
        f"  hedges skipped on stale books {r.stale_skips} (book age at decision "
        f"p50 {_ms(r.book_age_ms[0])}, p99 {_ms(r.book_age_ms[1])}); "
        "REST weight, % of the key's budget (own requests per minute / venue's busiest minute): "
        + (
            ", ".join(
                f"{v} {pct:.1f} / {r.venue_used_peak_pct.get(v, float('nan')):.1f} %"
                for v, pct in sorted(r.rest_weight_pct.items())
            )
            or "n/a"
        )
        + "; reads (order entry left out): "
        + ", ".join(f"{v} {pct:.1f} %" for v, pct in sorted(r.read_weight_pct.items()))
        + "; REST weight by call: "
        + "; ".join(
            f"{v} "
            + ", ".join(
                f"{op} {w:.0f}" for op, w in sorted(by_call(ops).items(), key=lambda x: -x[1])
            )
            for v, ops in sorted(r.weight_by_operation.items())
        )
        + (
            "; market data " + ", ".join(f"{v} {md}" for v, md in sorted(r.market_data.items()))
            if r.market_data
            else "; market data: REST polling"
        ),
    ]
    m = r.memory
    if m is not None:
        lines.append(
            f"  memory at {m.elapsed_s:.0f} s: Ray workers+raylet+gcs RSS "
            f"{m.ray_rss / GIB:.2f} GiB (PSS {m.ray_pss / GIB:.2f} GiB); other Ray daemons "
            f"{m.other_ray_rss / MIB:.0f} MiB, venue-sim {m.venue_sim_rss / MIB:.0f} MiB, "
            f"driver {m.driver_rss / MIB:.0f} MiB; CPU venue-sim "
            f"{r.cores.get('venue-sim', float('nan')):.3f} cores, driver "
            f"{r.cores.get('driver', float('nan')):.3f} cores; all of it "
            f"{sum(c * (len(m.per_class.get(k, [])) or 1) for k, c in r.cores.items()):.2f} cores"
        )
        for cls, rss in sorted(m.per_class.items(), key=lambda kv: -sum(kv[1])):
            pss = m.per_class_pss.get(cls) or [0]
            lines.append(
                f"    {cls:<22} x{len(rss):<3} RSS mean {statistics.mean(rss) / MIB:6.0f} MiB  "
                f"max {max(rss) / MIB:6.0f} MiB  total {sum(rss) / MIB:7.0f} MiB  "
                f"PSS mean {statistics.mean(pss) / MIB:6.0f} MiB  "
                f"CPU {r.cores.get(cls, float('nan')):.3f} cores each"
            )
    return "\n".join(lines)


def summary(results: list[SizeResult]) -> str:
    head = (
        "| markets | per actor | market data | lag p50 | lag p99 | fill→hedge p99 | fills/s "
        "| Ray RSS | Ray PSS | MarketActor RSS / PSS (mean) | MarketActor CPU |"
    )
    rows = [head, "|" + "---|" * 11]
    for r in results:
        m = r.memory
        market_rss = m.per_class.get("MarketActor") if m else None
        market_pss = (m.per_class_pss.get("MarketActor") if m else None) or [0]
        rows.append(
            f"| {r.n_markets} | {r.markets_per_actor} | {r.mode} | "
            f"{_ms(percentile(r.lags_ms, 50))} | "
            f"{_ms(percentile(r.lags_ms, 99))} | {_ms(r.hedge_p99_ms)} | "
            f"{r.fills_per_s:.2f} | "
            + (f"{m.ray_rss / GIB:.2f} GiB | {m.ray_pss / GIB:.2f} GiB | " if m else "n/a | n/a | ")
            + (
                f"{statistics.mean(market_rss) / MIB:.0f} / "
                f"{statistics.mean(market_pss) / MIB:.0f} MiB |"
                if market_rss
                else "n/a |"
            )
            + f" {r.cores.get('MarketActor', float('nan')):.3f} cores |"
        )
    goal = [r for r in results if r.n_markets == GOAL_MARKETS]
    for r in goal:
        p99 = percentile(r.lags_ms, 99)
        rss = r.memory.ray_rss / GIB if r.memory else None
        lag_ok = p99 is not None and p99 <= GOAL_LAG_P99_MS
        mem_ok = rss is not None and rss <= GOAL_MEMORY_GIB
        rows.append(
            f"goal at {GOAL_MARKETS} markets, {r.markets_per_actor} per actor, {r.mode}: "
            f"lag p99 {_ms(p99)} "
            f"{'MET' if lag_ok else 'MISSED'} (<= {GOAL_LAG_P99_MS:.0f} ms); "
            f"memory {'n/a' if rss is None else f'{rss:.2f} GiB'} "
            f"{'MET' if mem_ok else 'MISSED'} (<= {GOAL_MEMORY_GIB:.0f} GiB)"
        )
        weight = max(r.read_weight_pct.values(), default=None)
        weight_ok = weight is not None and weight <= GOAL_REST_WEIGHT_PCT
        peak = max(r.venue_used_peak_pct.values(), default=None)  # the venue's own count
        rows.append(
            f"  hedges skipped on stale books {r.stale_skips} "
            f"{'MET' if r.stale_skips <= GOAL_STALE_SKIPS else 'MISSED'} ({GOAL_STALE_SKIPS}); "
            "REST weight on reads, busiest venue "
            f"{'n/a' if weight is None else f'{weight:.1f} %'} of its budget "
            f"{'MET' if weight_ok else 'MISSED'} (<= {GOAL_REST_WEIGHT_PCT:.0f} %); "
            "with order entry, the venue's busiest minute "
            f"{'n/a' if peak is None else f'{peak:.1f} %'}"
        )
    if not goal:
        rows.append(f"goal ({GOAL_MARKETS} markets) not measured in this run")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--runs", type=int, default=1, help="runs per size")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted")
    parser.add_argument("--taker-rate", type=float, default=0.5, help="taker arrivals/s/market")
    parser.add_argument(
        "--markets-per-actor",
        type=int,
        nargs="+",
        default=[1, 10],
        help="markets hosted by one MarketActor; each value is run for every size",
    )
    parser.add_argument(
        "--market-data",
        choices=["default", "stream", "poll"],
        nargs="+",
        default=["default"],
        help="hedge venues' books: websocket streams, REST polling, or the config default "
        "(stream for ccxt venues); each value is run for every size, side by side",
    )
    parser.add_argument(
        "--book-depth",
        type=int,
        default=None,
        help="levels a hedge venue reads of each book (default: the config's 50); "
        "streamed, venue-sim's diff events carry that many levels a side",
    )
    parser.add_argument(
        "--book-model",
        choices=["redraw", "resting"],
        nargs="+",
        default=["resting"],
        help="venue-sim's book model: resting (the default: the touch follows the mid, deeper "
        "levels rest, so an event carries a few changes as a real venue's does) or redraw "
        "(every level changes each 250 ms refresh, the local config's model); each value is "
        "run for every size, side by side",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep each run's Parquet under this new or empty directory, one folder a run, "
        "for DuckDB (`marketmesh sla --data-dir DIR/<run>/data-<markets>`); default: a temporary "
        "one",
    )
    args = parser.parse_args()
    if args.book_depth is not None and not 5 <= args.book_depth <= 5_000:
        parser.error(
            f"--book-depth must be 5 to 5000 (a venue's book_depth), got {args.book_depth}"
        )
    if args.data_dir is not None and args.data_dir.exists() and any(args.data_dir.iterdir()):
        parser.error(f"--data-dir {args.data_dir} is not empty: runs would mix with its files")
    warmup_s = min(args.warmup, args.duration / 3)
    print(f"bench/scale.py: local Ray num_cpus={NUM_CPUS}", flush=True)
    results = []
    with _work_root(args.data_dir) as tmp:
        runs = [
            (n, per_actor, i, model, mode)
            for n in args.sizes
            for per_actor in args.markets_per_actor
            for i in range(args.runs)
            for model in args.book_model
            for mode in args.market_data  # innermost: the modes alternate, side by side
        ]
        for n, per_actor, i, model, mode in runs:
            work = Path(tmp) / f"{n}-{per_actor}-{i}-{model}-{mode}"
            work.mkdir(parents=True)
            r = run_size(
                n,
                per_actor=per_actor,
                duration_s=args.duration,
                warmup_s=warmup_s,
                taker_rate=args.taker_rate,
                work=work,
                market_data=None if mode == "default" else mode,
                book_depth=args.book_depth,
                book_model=model,
            )
            results.append(r)
            print(f"run {i + 1}/{args.runs} " + report(r), flush=True)
    print(summary(results), flush=True)
    if any(r.fills == 0 or not r.lags_ms for r in results):
        sys.exit("no fills or no requote measured in some run: the figures are not valid")


@contextlib.contextmanager
def _work_root(keep: Path | None) -> Iterator[str]:
    """Where the runs write: `keep` (left in place) or a temporary directory."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield str(keep)
        return
    with tempfile.TemporaryDirectory(prefix="mm-scale-") as tmp:
        yield tmp


if __name__ == "__main__":
    main()
