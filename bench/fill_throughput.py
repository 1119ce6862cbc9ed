"""Fill throughput of the hedge path, and fill -> hedge-order-ready latency at 100 fills/s.

Measured in process on the code the router actor runs, without Ray or venue
I/O: for each fill batch, `engine.ledger.Ledger.post_fill`, the
`engine.hedging.HedgingDesk` (mirror: a hedge per fill; netted: hybrid at a
zero threshold, a hedge per market per batch), the consolidated mid that
sizes TWAP slices, `engine.hedging.execution.plan_slice` over the three hedge
venues of `configs/local.yaml` (their generated books, 25 levels a side,
refreshed every 250 ms as the venues refresh them, and their balances), the
child orders' executions posted to the ledger as if filled at their limit,
and every row the router and the ledger write (fills, hedge_orders,
hedge_fills, ledger_entries; `engine.hedging.records`, with each slice's
decision benchmarks and achieved price) buffered in
`analytics.writer.PartWriter`s and flushed to Parquet.

* throughput: fills arrive in batches (`--batch`, as MarketActors batch
  them every 50 ms); figures for one process, and for `--procs` processes
  each running the whole path on its own shard of markets (how the path
  would spread over 2 cores; the actor graph today has one router and one
  ledger actor, see BENCHMARKS.md);
* latency: fills paced at `--rate` per second, one at a time; the time from a
  fill's scheduled arrival to its child orders being ready to send (what the
  router does before `execute.remote`), including any wait behind ledger
  posting and Parquet flushes (every `--flush-s`). A new 250 ms bucket's
  books are generated between fills, as the venue actors push snapshots
  (`--books-on-fill-path` charges them to the bucket's first fill instead).

Writers flush in the background (`PartWriter(..., background=True)`: the
buffer is swapped and written on a worker thread, as the actors would), so a
flush costs the path only the swap and the worker's share of the GIL.
`--inline-flush` writes on the calling thread instead (the actors today), to
compare the two in one run.

    python bench/fill_throughput.py --fills 20000 --procs 2 --rate 100 --seconds 20

`--gc-compare` measures only the latency, CPython's default collector against
the hot-path policy the router and ledger actors apply after start-up
(`engine.gc_policy.GcPolicy`: freeze, larger young generation), alternating
`--rounds` times in one process; `--load-procs N` keeps N busy processes
running meanwhile (a loaded machine), stopped at the end.

    python bench/fill_throughput.py --gc-compare --rounds 3 --rate 100 --seconds 20 --load-procs 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from analytics.writer import PartWriter
from engine.config import AppConfig, HedgeMode, load_config
from engine.gc_policy import GcPolicy, restore
from engine.hedging import HedgingDesk
from engine.hedging.execution import VenueState, plan_slice, reference_mid, slice_benchmarks
from engine.hedging.modes import with_hedge_mode
from engine.hedging.records import execution_rows, slice_rows
from engine.ledger import Ledger, entry_rows
from engine.quote_records import fill_row
from engine.routing.planner import VenueQuote
from engine.routing.slicing import slice_schedule
from engine.sim.books import BookGenerator
from engine.sim.price import ReferencePrice
from engine.types import ChildOrderResult, Execution, Fill, MarketSpec, Side, split_symbol

REPO = Path(__file__).resolve().parents[1]
START_NS = 1_767_225_600 * 10**9
DEPTH = 25
BOOK_REFRESH_NS = 250_000_000
MAX_BOOK_AGE_S = 5.0  # books are re-stamped at each fill: always fresh


class HedgePath:
    """Ledger + router planning + Parquet writers for one shard of markets."""

    def __init__(
        self,
        cfg: AppConfig,
        markets: list[str],
        data_dir: str,
        writer_id: str,
        *,
        background: bool = True,
    ) -> None:
        self.cfg = cfg
        self.markets = markets
        self.reference = ReferencePrice(
            cfg.sim.assets, seed=cfg.sim.seed, step_ms=cfg.sim.step_ms, start_ns=START_NS
        )
        self.books = {
            v.id: BookGenerator(v, self.reference, cfg.sim.seed) for v in cfg.hedge_venues
        }
        self.venues = {v.id: v for v in cfg.hedge_venues}
        self.ledger = Ledger(cfg.quote_asset)
        for v in cfg.venues:
            self.ledger.open_balances(v.id, v.balances, START_NS)
        self.writers = {
            t: PartWriter(
                data_dir,
                t,
                writer_id=writer_id,
                run_id="bench",
                config_hash="bench",
                background=background,
            )
            for t in ("fills", "hedge_orders", "hedge_fills", "ledger_entries")
        }
        self._quotes: dict[tuple[str, int], list[VenueQuote]] = {}
        self.balances = {
            v.id: {a: Decimal(x) for a, x in v.balances.items()} for v in cfg.hedge_venues
        }
        # the router's desk: mirror hedges each fill; hybrid at threshold 0 hedges each
        # market's net as soon as a batch arrives
        self.desk = HedgingDesk(with_hedge_mode(cfg, HedgeMode.MIRROR))
        self.netting_desk = HedgingDesk(
            with_hedge_mode(cfg, HedgeMode.HYBRID, threshold_quote=0.0, max_age_s=1.0)
        )

    def refresh_books(self, ts_ns: int) -> None:
        """Every market's books for the refresh bucket of `ts_ns`: the snapshots the
        router's refresh timer receives from the venue actors between fills."""
        for market in self.markets:
            self.quotes(market, ts_ns)

    def quotes(self, symbol: str, ts_ns: int) -> list[VenueQuote]:
        """Every venue's book for the refresh bucket of `ts_ns` (built once per bucket)."""
        key = (symbol, ts_ns // BOOK_REFRESH_NS)
        cached = self._quotes.get(key)
        if cached is None:
            if any(k[1] != key[1] for k in self._quotes):
                self._quotes = {}  # a new refresh bucket: every venue's books changed
            cached = []
            for venue, gen in self.books.items():
                rules = self.venues[venue].rules_for(symbol)
                spec = MarketSpec(symbol, rules.tick_size, rules.lot_size, rules.lot_size,
                                  rules.min_notional)  # fmt: skip
                book = gen.snapshot(symbol, key[1] * BOOK_REFRESH_NS, DEPTH)
                cached.append(VenueQuote(venue, book, self.venues[venue].taker_fee, spec, None))
            self._quotes[key] = cached
        return [
            VenueQuote(q.venue, _at(q.book, ts_ns), q.taker_fee, q.spec, q.available)
            for q in cached
        ]

    def views(self, symbol: str, ts_ns: int) -> list[VenueState]:
        """Every venue as the router's snapshot shows it: book, balances, fee, grid."""
        return [
            VenueState(
                q.venue,
                True,
                "",
                {symbol: q.book},
                self.balances[q.venue],
                q.taker_fee,
                {symbol: q.spec},
            )
            for q in self.quotes(symbol, ts_ns)
        ]

    def on_fills(self, fills: list[Fill], on_ready: Any = None, *, netted: bool = False) -> int:
        """The whole path for a batch; returns the number of child orders planned.

        `on_ready(fill)` is called once a fill's child orders are ready to send.
        `netted`: the batch's fills are netted per market and each market's net is
        hedged once (hybrid mode firing on the batch), instead of one hedge per fill.
        """
        postings = []
        fill_rows, order_rows, exec_rows = [], [], []
        children = 0
        desk = self.netting_desk if netted else self.desk
        ts = fills[-1].ts_ns
        by_id = {f.fill_id: f for f in fills}
        for fill in fills:
            postings += self.ledger.post_fill(fill)
            fill_rows.append(fill_row(fill, None, fill.ts_ns))
        for hedge in desk.on_fills(fills, ts, lambda s: _mid(self.views(s, ts), s, ts)):
            if hedge.cut_to_ledger_gap:
                base = split_symbol(hedge.intent.symbol)[0]
                gap = self.ledger.position(base)
                hedge = desk.cut_to_gap(hedge, gap)
            intent = hedge.to_send
            at = ts if netted else by_id[intent.source_fill_id or ""].ts_ns
            views = self.views(intent.symbol, at)
            mid = _mid(views, intent.symbol, at)
            for piece in slice_schedule(intent, mid, self.cfg.risk, at):
                planned = plan_slice(intent, piece, views, self.cfg.risk, at)
                children += len(planned.children)
                if on_ready is not None:
                    on_ready(intent)
                bench = slice_benchmarks(
                    piece.intent, planned.quotes, at, self.cfg.risk.max_book_age_s
                )
                results = []
                for c in planned.children:
                    amount = Decimal(repr(c.amount))
                    cost = amount * Decimal(repr(c.limit_price))
                    ex = Execution(at, c.hedge_id, c.client_order_id, c.venue, c.symbol, c.side,
                                   amount, cost, Decimal(0), self.cfg.quote_asset,
                                   trade_id=c.client_order_id)  # fmt: skip
                    postings += self.ledger.post_execution(ex)
                    results.append(ChildOrderResult(c, "filled", (ex,)))
                plan = planned.plan
                order_rows += slice_rows(
                    intent, piece.intent.reason, results, plan.residual, plan.reasons, at, bench
                )
                exec_rows += execution_rows((e for r in results for e in r.executions), at)
        self.writers["fills"].append(fill_rows)
        self.writers["hedge_orders"].append(order_rows)
        self.writers["hedge_fills"].append(exec_rows)
        self.writers["ledger_entries"].append(entry_rows(postings))
        return children

    def flush(self) -> None:
        """Hand every buffer to its writer (inline: write it here and now)."""
        for w in self.writers.values():
            w.flush()

    def close(self) -> None:
        """Write what is left and wait for every write in flight."""
        for w in self.writers.values():
            w.close()


def _mid(views: list[VenueState], symbol: str, ts_ns: int) -> float | None:
    """The consolidated mid the router sizes slices and triggers by."""
    ref = reference_mid({v.venue: v for v in views}, symbol, ts_ns, MAX_BOOK_AGE_S)
    return ref[0] if ref is not None else None


def _at(book: Any, ts_ns: int) -> Any:
    return type(book)(book.venue, book.symbol, ts_ns, book.bids, book.asks)


def make_fills(cfg: AppConfig, markets: list[str], n: int, seed: int, rate: float) -> list[Fill]:
    """`n` fills over `markets`, `rate` per second, sizes as the config's taker flow."""
    rng = np.random.default_rng(seed)
    reference = ReferencePrice(
        cfg.sim.assets, seed=cfg.sim.seed, step_ms=cfg.sim.step_ms, start_ns=START_NS
    )
    out = []
    for i in range(n):
        ts = START_NS + int(i / rate * 1e9)
        market = cfg.market(markets[i % len(markets)])
        mid = reference.price(split_symbol(market.symbol)[0], ts)
        lot = cfg.home_venue.rules_for(market.symbol).lot_size
        notional = market.taker_flow.mean_notional_quote * float(rng.lognormal(-0.32, 0.8))
        amount = max(lot, (Decimal(repr(notional / mid)) / lot).to_integral_value() * lot)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        price = Decimal(repr(round(mid, 2)))
        out.append(Fill(ts, "home", market.symbol, f"f{seed}-{i}", f"o{i}", side, price, amount,
                        Decimal(0), cfg.quote_asset))  # fmt: skip
    return out


def throughput_worker(
    args: tuple[str, list[str], int, int, int, str, bool, bool],
) -> tuple[int, float, float]:
    """(fills, wall seconds, CPU seconds of this process, worker thread included)."""
    config, markets, n, batch, seed, data_dir, netted, background = args
    cfg = load_config(config)
    path = HedgePath(cfg, markets, data_dir, writer_id=f"w{seed}", background=background)
    fills = make_fills(cfg, markets, n, seed, rate=20_000.0)
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(fills), batch):
        path.on_fills(fills[i : i + batch], netted=netted)
        if (i // batch) % 20 == 19:
            path.flush()
    path.close()  # sustained: the clock stops once every part is on disk
    return n, time.perf_counter() - started, time.process_time() - cpu


def throughput(
    config: str, n: int, batch: int, procs: int, netted: bool, background: bool
) -> tuple[float, float, float]:
    """Fills/s of 1 process, fills per CPU-second of that process, fills/s of `procs`.

    Per CPU-second is what one core does when it is not shared: on a machine
    other work is loading, wall-clock fills/s is that times the core's share.
    """
    cfg = load_config(config)
    markets = [m.symbol for m in cfg.markets]
    with tempfile.TemporaryDirectory(prefix="mm-tput-") as data_dir:
        job = (config, markets, n, batch, 1, data_dir, netted, background)
        _, seconds, cpu_seconds = throughput_worker(job)
        single, single_cpu = n / seconds, n / cpu_seconds
        shards = [markets[i::procs] for i in range(procs)]
        jobs = [
            (config, s, n // procs, batch, 10 + i, data_dir, netted, background)
            for i, s in enumerate(shards)
        ]
        with mp.get_context("spawn").Pool(procs) as pool:
            wall = time.perf_counter()
            results = pool.map(throughput_worker, jobs)
            wall = time.perf_counter() - wall
        # sustained: all fills over the slowest worker's processing time (start-up excluded)
        multi = sum(r[0] for r in results) / max(r[1] for r in results)
    return single, single_cpu, multi


def latency(
    config: str,
    rate: float,
    seconds: float,
    flush_s: float,
    background: bool,
    books_on_fill_path: bool = False,
) -> tuple[list[float], list[float]]:
    """Per-fill latency in ms, and how long each flush held the path in ms.

    The venues' books for a new 250 ms bucket (≈4 ms to generate three venues'
    books: the simulated venues' work, not the router's) are built before the
    fill is due, as snapshots arrive between fills; `books_on_fill_path`
    charges them to the bucket's first fill instead (the accounting before).
    """
    cfg = load_config(config)
    markets = [m.symbol for m in cfg.markets]
    fills = make_fills(cfg, markets, int(rate * seconds), 3, rate)
    out: list[float] = []
    flushes: list[float] = []
    with tempfile.TemporaryDirectory(prefix="mm-lat-") as data_dir:
        path = HedgePath(cfg, markets, data_dir, writer_id="lat", background=background)
        path.on_fills(fills[:5])  # warm caches outside the measurement
        start = time.perf_counter()
        last_flush = start
        for i, fill in enumerate(fills[5:]):
            due = start + i / rate
            if not books_on_fill_path:
                path.refresh_books(fill.ts_ns)
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            path.on_fills([fill], lambda _f, due=due: out.append((time.perf_counter() - due) * 1e3))
            if time.perf_counter() - last_flush >= flush_s:
                flushed = time.perf_counter()
                path.flush()  # inline, the next fill waits behind the write; else only the swap
                last_flush = time.perf_counter()
                flushes.append((last_flush - flushed) * 1e3)
        path.close()
    return out, flushes


def _burn(stop_at: float) -> None:
    x = 0
    while time.monotonic() < stop_at:
        x = (x * 31 + 7) % 1_000_003


def gc_compare(args: argparse.Namespace) -> None:
    """p50/p99 fill -> hedge orders ready, default GC vs GcPolicy, alternating rounds."""
    policy = GcPolicy()
    budget = args.rounds * 2 * (args.seconds + 30) + 60
    ctx = mp.get_context("spawn")
    burners = [
        ctx.Process(target=_burn, args=(time.monotonic() + budget,), daemon=True)
        for _ in range(args.load_procs)
    ]
    for b in burners:
        b.start()
    results: dict[str, list[tuple[float, float]]] = {"default": [], "policy": []}
    try:
        for r in range(args.rounds):
            for label in ("default", "policy"):
                state = policy.apply() if label == "policy" else None
                try:
                    lat, _ = latency(args.config, args.rate, args.seconds, args.flush_s, True)
                finally:
                    if state is not None:
                        restore(state)
                q = statistics.quantiles(lat, n=100)
                results[label].append((statistics.median(lat), q[98]))
                print(
                    f"round {r + 1} {label:>7}: p50 {results[label][-1][0]:.3f} ms, "
                    f"p99 {q[98]:.3f} ms over {len(lat)} fills",
                    flush=True,
                )
    finally:
        for b in burners:
            b.terminate()
    print(
        f"side by side, median of {args.rounds} rounds at {args.rate:g} fills/s, "
        f"{args.load_procs} busy processes:"
    )
    for label, rows in results.items():
        p50 = statistics.median(x for x, _ in rows)
        p99 = statistics.median(y for _, y in rows)
        print(f"  {label:>7} GC: p50 {p50:.3f} ms, p99 {p99:.3f} ms")
    p99_policy = statistics.median(y for _, y in results["policy"])
    print(
        f"goal p99 <= 5 ms at {args.rate:g} fills/s with the policy: "
        f"{'met' if p99_policy <= 5.0 else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "local.yaml"))
    parser.add_argument("--fills", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--flush-s", type=float, default=5.0)
    parser.add_argument(
        "--inline-flush",
        action="store_true",
        help="write Parquet on the calling thread (as the actors do today) instead of a worker",
    )
    parser.add_argument(
        "--books-on-fill-path",
        action="store_true",
        help="charge generating the venues' books of a new 250 ms bucket to its first fill",
    )
    parser.add_argument(
        "--gc-compare",
        action="store_true",
        help="latency only: default collector vs the actors' GcPolicy, side by side",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load-procs", type=int, default=0, help="busy processes meanwhile")
    args = parser.parse_args()
    if args.gc_compare:
        gc_compare(args)
        return
    background = not args.inline_flush
    flush_mode = "background flush" if background else "inline flush"
    netted_single = 0.0
    for netted, label in ((False, "mirror: one hedge per fill"), (True, "netted per batch")):
        single, single_cpu, multi = throughput(
            args.config, args.fills, args.batch, args.procs, netted, background
        )
        if netted:
            netted_single = single
        print(
            f"throughput, {label}, batches of {args.batch}, {flush_mode}: "
            f"1 process {single:,.0f} fills/s ({single_cpu:,.0f} per CPU-second), "
            f"{args.procs} processes (market shards) {multi:,.0f} fills/s"
        )
    lat, flushes = latency(
        args.config, args.rate, args.seconds, args.flush_s, background, args.books_on_fill_path
    )
    q = statistics.quantiles(lat, n=100)
    print(
        f"fill -> hedge orders ready at {args.rate:g} fills/s over {len(lat)} fills, "
        f"{flush_mode}: p50 {statistics.median(lat):.3f} ms, p99 {q[98]:.3f} ms, "
        f"max {max(lat):.3f} ms; {len(flushes)} Parquet flushes held the path "
        f"{max(flushes, default=0.0):.1f} ms at most"
    )
    goals = [
        ("throughput, netted, 1 process >= 20,000 fills/s", netted_single >= 20_000),
        ("p99 <= 5 ms at 100 fills/s", q[98] <= 5.0),
    ]
    for name, ok in goals:
        print(f"goal {name}: {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
