"""The whole story of one fill, from the dataset alone: `marketmesh explain`.

Given a fill id (or a hedge id, or an RFQ quote id) this reads the Parquet
views (`analytics.views.connect`) and assembles, as plain JSON-able dicts:

* the quote that was hit: a home quote by its client order id (`fills.order_id`)
  with the decision that placed it (decision id, policy, mid, inventory,
  volatility regime, guards, target and effective spread, config version) and
  the desk's exposure of the base asset just before; or the RFQ quote it was;
* the fill itself;
* the hedge: every venue's book as the slice was planned on and its age, the
  venues left out and why, the achieved all-in price against the optimum split
  and the best single venue (`hedge_quality`), child orders with client ids,
  limits, outcomes and executions, and any amount not sent with its reason;
* netting: for a fill no mirror hedge covered, the first hybrid or rebalancer
  hedge of its market / base asset after it;
* the ledger postings of the fill and of its hedges;
* the fill's PnL: spread capture, hedge cost (slippage against the decision
  mid, and fees) and markouts (`markouts` view).

Nothing is guessed: whatever the dataset does not hold is listed in
`missing`, naming the table and column it would come from.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb

from engine.quote_records import DECISION_INPUTS

Story = dict[str, Any]

QUOTE_INPUTS = DECISION_INPUTS
BENCHMARKS = (
    "fill_to_hedge_ms",
    "seen_to_hedge_ms",
    "achieved_all_in_price",
    "optimum_all_in_price",
    "vs_optimum_bps",
    "best_single_venue",
    "best_single_all_in_price",
    "saving_bps",
    "slippage_bps",
    "fees_quote",
)
MARKOUTS = (
    "effective_spread_bps",
    "mid_1s",
    "mid_5s",
    "mid_60s",
    "realised_spread_1s_bps",
    "realised_spread_5s_bps",
    "realised_spread_60s_bps",
    "adverse_selection_5s_bps",
)
_ATTEMPTS = re.compile(r"after (\d+) attempts")


class NotInDataset(LookupError):
    """The id asked about is in no row of the dataset."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def _table(con: duckdb.DuckDBPyConnection, table: str, where: str, params: list[Any]) -> list[Any]:
    """Rows of `table` matching `where`, oldest first, each with `ts_ns` (UTC ns)."""
    sql = f"select * exclude (date), epoch_ns(ts) as ts_ns from {table} where {where}"
    return _rows(con, sql + " order by ts", params)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"describe {table}").fetchall()}


class _Assembler:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.missing: list[str] = []

    def need(self, row: dict[str, Any], fields: tuple[str, ...], table: str, what: str) -> None:
        """Name every field of `row` the dataset does not hold (absent column or null)."""
        for f in fields:
            if row.get(f) is None:
                self.missing.append(f"{what}: {table}.{f} not recorded")
                row.setdefault(f, None)

    # the quote ----------------------------------------------------------------

    def home_quote(self, fill: dict[str, Any]) -> dict[str, Any] | None:
        rows = _table(
            self.con,
            "quotes",
            "action = 'place' and run_id = ? and market = ? and client_order_id = ?",
            [fill["run_id"], fill["market"], fill["order_id"]],
        )
        if not rows:
            self.missing.append(
                f"quote: no quotes row placed with client_order_id {fill['order_id']!r}"
            )
            return None
        quote = rows[-1]
        self.need(quote, QUOTE_INPUTS, "quotes", "quote inputs")
        if quote.get("decision_id") is not None:
            ladder = _table(self.con, "quotes", "decision_id = ?", [quote["decision_id"]])
        else:
            ladder = _table(
                self.con,
                "quotes",
                "action = 'place' and market = ? and ts = ?::timestamptz",
                [quote["market"], quote["ts"]],
            )
        quote["ladder"] = [
            {k: r[k] for k in ("side", "level", "price", "amount", "client_order_id")}
            for r in ladder
        ]
        quote["effective_spread_bps"] = _ladder_spread_bps(ladder, quote.get("decision_mid"))
        if quote["effective_spread_bps"] is None:
            self.missing.append(
                "quote: effective spread needs both sides of the ladder and its decision mid"
            )
        quote["exposure"] = self.exposure_before(quote["market"], quote["ts_ns"])
        return quote

    def exposure_before(self, market: str, ts_ns: int) -> dict[str, Any] | None:
        base = market.split("/")[0]
        rows = _table(self.con, "exposure", "asset = ? and epoch_ns(ts) <= ?", [base, ts_ns])
        if not rows:
            self.missing.append(f"exposure: no exposure row of {base} at or before the quote")
            return None
        return {k: rows[-1][k] for k in ("ts", "asset", "net", "pending", "target", "threshold")}

    def rfq_quote(self, quote_id: str) -> dict[str, Any] | None:
        events = _table(self.con, "rfq_quotes", "quote_id = ?", [quote_id])
        if not events:
            return None
        quoted = next((e for e in events if e["event"] == "quoted"), None)
        if quoted is None:
            self.missing.append(f"rfq: no 'quoted' event of {quote_id} in rfq_quotes")
        return {"quote_id": quote_id, "quoted": quoted, "events": events}

    # the hedge ----------------------------------------------------------------

    def hedges(self, fill_id: str) -> list[dict[str, Any]]:
        rows = _table(
            self.con,
            "hedge_orders",
            "hedge_id = ? or source_fill_id = ?",
            [f"m-{fill_id}", fill_id],
        )
        by_id: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_id.setdefault(r["hedge_id"], []).append(r)
        return [self.hedge(hedge_id, orders) for hedge_id, orders in by_id.items()]

    def hedge(self, hedge_id: str, orders: list[dict[str, Any]]) -> dict[str, Any]:
        executions = _table(self.con, "hedge_fills", "hedge_id = ?", [hedge_id])
        sent = [o for o in orders if o.get("venue") is not None]
        children = [self.child(o, executions) for o in sent]
        skipped = [
            {k: o.get(k) for k in ("ts", "amount", "status", "reason")}
            for o in orders
            if o.get("venue") is None
        ]
        decisions = [
            {
                "ts": o["ts"],
                "books": json.loads(o["decision_books"]),
                "excluded_and_shortfalls": json.loads(o.get("plan_reasons") or "[]"),
            }
            for o in _unique_by(sent, "ts")
            if o.get("decision_books") is not None
        ]
        if sent and not decisions:
            self.missing.append(
                f"hedge {hedge_id}: hedge_orders.decision_books not recorded "
                "(venue books and exclusions at decision time)"
            )
        quality = _rows(self.con, "select * from hedge_quality where hedge_id = ?", [hedge_id])
        benchmarks = {k: quality[0].get(k) for k in BENCHMARKS} if quality else {}
        if sent:
            for k in ("optimum_all_in_price", "best_single_all_in_price"):
                if benchmarks.get(k) is None:
                    self.missing.append(f"hedge {hedge_id}: {k} not recorded")
        return {
            "hedge_id": hedge_id,
            "side": orders[0]["side"],
            "market": orders[0]["market"],
            "source_fill_id": orders[0].get("source_fill_id"),
            "reason": sent[0]["reason"] if sent else None,
            "decisions": decisions,
            "benchmarks": benchmarks,
            "children": children,
            "not_sent": skipped,
        }

    def child(self, order: dict[str, Any], executions: list[dict[str, Any]]) -> dict[str, Any]:
        cid = order.get("client_order_id")
        reason = order.get("reason") or ""
        attempts = _ATTEMPTS.search(reason)
        return {
            "ts": order["ts"],
            "venue": order["venue"],
            "client_order_id": cid,
            "type": order.get("type"),
            "amount": order.get("amount"),
            "limit_price": order.get("limit_price"),
            "decision_mid": order.get("decision_mid"),
            "status": order["status"],
            "filled_amount": order.get("filled_amount"),
            "reason": reason,
            "looked_up": "look" in reason,
            "attempts": int(attempts.group(1)) if attempts else None,
            "executions": [
                {k: e.get(k) for k in ("ts", "price", "amount", "cost", "fee", "fee_currency")}
                for e in executions
                if e.get("client_order_id") == cid
            ],
        }

    def netting(self, fill: dict[str, Any]) -> list[dict[str, Any]]:
        """The first hybrid hedge of the fill's market, and the first rebalancer hedge of
        its base asset, after the fill was seen: what took its exposure when no mirror
        hedge did. The dataset does not record which fills such a hedge covered."""
        seen = fill.get("seen_ts_ns") or fill["ts_ns"]
        base = fill["market"].split("/")[0]
        found = []
        for kind, where, params in (
            ("hybrid", "market = ? and reason like 'hybrid:%'", [fill["market"]]),
            ("rebalance", "market like ? and reason like 'rebalance%'", [f"{base}/%"]),
        ):
            rows = _table(
                self.con, "hedge_orders", f"{where} and epoch_ns(ts) >= ?", [*params, seen]
            )
            if rows:
                first = rows[0]["hedge_id"]
                hedge = self.hedge(first, [r for r in rows if r["hedge_id"] == first])
                after_s = (rows[0]["ts_ns"] - seen) / 1e9
                found.append({"kind": kind, "after_fill_s": after_s, **hedge})
                self.missing.append(
                    f"netting: which fills {kind} hedge {first} covered is not recorded"
                )
        if not found:
            self.missing.append(
                f"hedge: no hedge_orders row for m-{fill['fill_id']} or with source_fill_id "
                f"{fill['fill_id']!r}, and no hybrid or rebalance hedge of {base} after it"
            )
        return found

    # ledger and PnL -------------------------------------------------------------

    def ledger(self, fill_id: str, hedge_ids: list[str]) -> list[dict[str, Any]]:
        where = " or ".join(["ref = ?"] + ["starts_with(ref, ?)"] * len(hedge_ids))
        rows = _table(self.con, "ledger_entries", where, [fill_id, *(f"{h}:" for h in hedge_ids)])
        if fill_id and not any(r["ref"] == fill_id for r in rows):
            self.missing.append(f"ledger: no ledger_entries with ref {fill_id!r}")
        keys = ("ts", "entry_id", "ref", "venue", "account", "asset", "amount", "kind")
        return [{k: r.get(k) for k in keys} for r in rows]

    def pnl(self, fill: dict[str, Any], hedges: list[dict[str, Any]]) -> dict[str, Any]:
        sgn = 1.0 if fill["side"] == "buy" else -1.0
        mid = fill.get("mid")
        out: dict[str, Any] = {"capture_quote": None, "home_fee_quote": fill.get("fee")}
        if mid is None:
            self.missing.append("pnl: fills.mid not recorded, so no spread capture or markouts")
        else:
            out["capture_quote"] = sgn * (mid - fill["price"]) * fill["amount"]
        slippage = fees = 0.0
        costed = False
        for h in hedges:
            for c in h["children"]:
                for e in c["executions"]:
                    if not c["decision_mid"]:
                        self.missing.append(
                            f"pnl: child {c['client_order_id']} has no decision_mid"
                        )
                        continue
                    hs = 1.0 if h["side"] == "buy" else -1.0
                    slippage += hs * (e["price"] - c["decision_mid"]) * e["amount"]
                    fees += e.get("fee") or 0.0
                    costed = True
        out["hedge_slippage_quote"] = slippage if costed else None
        out["hedge_fees_quote"] = fees if costed else None
        if out["capture_quote"] is not None:
            out["net_quote"] = (
                out["capture_quote"] - (out["home_fee_quote"] or 0.0) - slippage - fees
            )
        marks = _rows(self.con, "select * from markouts where fill_id = ?", [fill["fill_id"]])
        out["markouts"] = {k: marks[0].get(k) for k in MARKOUTS} if marks else {}
        for k in ("mid_1s", "mid_5s", "mid_60s"):
            if mid is not None and out["markouts"].get(k) is None:
                self.missing.append(f"pnl: markout {k}: no book_samples row that long after")
        return out


def _unique_by(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    out = []
    for r in rows:
        if r[key] not in seen:
            seen.add(r[key])
            out.append(r)
    return out


def _ladder_spread_bps(ladder: list[dict[str, Any]], mid: float | None) -> float | None:
    bids = [r["price"] for r in ladder if r["side"] == "buy"]
    asks = [r["price"] for r in ladder if r["side"] == "sell"]
    if not bids or not asks or not mid:
        return None
    return (min(asks) - max(bids)) / mid * 1e4


def explain_fill(con: duckdb.DuckDBPyConnection, fill_id: str) -> Story:
    """The story of fill `fill_id` (see the module docstring); `NotInDataset` if no such fill."""
    fills = _rows(
        con,
        "select * exclude (date), epoch_ns(ts) as ts_ns, epoch_ns(seen_ts) as seen_ts_ns "
        "from fills where fill_id = ? order by ts",
        [fill_id],
    )
    if not fills:
        raise NotInDataset(f"fill {fill_id!r}: not in the fills table")
    fill = fills[0]
    a = _Assembler(con)
    if len(fills) > 1:
        a.missing.append(f"fill: {len(fills)} fills rows with this id (redelivered); first shown")
    rfq = a.rfq_quote(fill["order_id"]) if fill.get("order_id") else None
    quote = None if rfq is not None else a.home_quote(fill)
    hedges = a.hedges(fill_id)
    netting = [] if hedges else a.netting(fill)
    ledger = a.ledger(fill_id, [h["hedge_id"] for h in hedges])
    return {
        "fill_id": fill_id,
        "config_hash": fill["config_hash"],
        "run_id": fill["run_id"],
        "kind": "rfq" if rfq is not None else "home",
        "quote": quote,
        "rfq": rfq,
        "fill": fill,
        "hedges": hedges,
        "netting": netting,
        "ledger": ledger,
        "pnl": a.pnl(fill, hedges),
        "missing": a.missing,
    }


def explain_hedge(con: duckdb.DuckDBPyConnection, hedge_id: str) -> Story:
    """The story of the fill a hedge was made for, or of the hedge alone (rebalance)."""
    orders = _table(con, "hedge_orders", "hedge_id = ?", [hedge_id])
    if not orders:
        raise NotInDataset(f"hedge {hedge_id!r}: not in the hedge_orders table")
    source = orders[0].get("source_fill_id")
    if source and _table(con, "fills", "fill_id = ?", [source]):
        return {**explain_fill(con, source), "focus": hedge_id}
    a = _Assembler(con)
    hedge = a.hedge(hedge_id, orders)
    a.missing.append(f"fill: hedge {hedge_id} has no source fill in the fills table")
    return {
        "fill_id": None,
        "focus": hedge_id,
        "kind": "hedge",
        "hedges": [hedge],
        "ledger": a.ledger("", [hedge_id]),
        "missing": a.missing,
    }


def explain_rfq(con: duckdb.DuckDBPyConnection, quote_id: str) -> Story:
    """The story of an RFQ quote: its fill's when it was accepted, else its events."""
    fills = _table(con, "fills", "order_id = ?", [quote_id])
    if fills:
        return {**explain_fill(con, fills[0]["fill_id"]), "focus": quote_id}
    a = _Assembler(con)
    rfq = a.rfq_quote(quote_id)
    if rfq is None:
        raise NotInDataset(f"rfq quote {quote_id!r}: not in the rfq_quotes table")
    a.missing.append(f"fill: no fill with order_id {quote_id!r} (the quote was not executed)")
    return {"fill_id": None, "focus": quote_id, "kind": "rfq", "rfq": rfq, "missing": a.missing}
