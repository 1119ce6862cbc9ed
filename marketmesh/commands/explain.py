"""`marketmesh explain FILL_ID`: the whole story of one fill, from the dataset alone."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from engine.quote_records import DECISION_INPUTS


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if value == "":
        return "(none)"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def _kv(row: dict[str, Any] | None, keys: tuple[str, ...], indent: str = "  ") -> list[str]:
    if not row:
        return []
    return [f"{indent}{k}: {_fmt(row.get(k))}" for k in keys if k in row]


def _hedge_lines(h: dict[str, Any], indent: str = "  ") -> list[str]:
    lines = [f"{indent}hedge {h['hedge_id']} ({h['side']} {h['market']}, {_fmt(h['reason'])})"]
    for d in h["decisions"]:
        lines.append(f"{indent}  decision at {d['ts']}: venue books")
        for b in d["books"]:
            lines.append(
                f"{indent}    {b['venue']}: bid {_fmt(b['best_bid'])} ask {_fmt(b['best_ask'])} "
                f"age {_fmt(b['age_ms'])} ms, taker fee {_fmt(b['taker_fee'])}, "
                f"available {_fmt(b['available'])}"
            )
        for why in d["excluded_and_shortfalls"]:
            lines.append(f"{indent}    left out / short: {why}")
    if h["benchmarks"]:
        lines.append(f"{indent}  split vs benchmarks:")
        lines += _kv(h["benchmarks"], tuple(h["benchmarks"]), indent + "    ")
    for c in h["children"]:
        lines.append(
            f"{indent}  child {c['client_order_id']} @ {c['venue']}: {c['type']} order "
            f"{_fmt(c['amount'])} limit {_fmt(c['limit_price'])} -> {c['status']} "
            f"filled {_fmt(c['filled_amount'])}"
            + (f" ({c['reason']})" if c["reason"] else "")
            + (" [looked up]" if c["looked_up"] else "")
            + (f" [{c['attempts']} attempts]" if c["attempts"] else "")
        )
        for e in c["executions"]:
            lines.append(
                f"{indent}    execution {_fmt(e['amount'])} @ {_fmt(e['price'])} "
                f"fee {_fmt(e['fee'])} {_fmt(e['fee_currency'])}"
            )
    for s in h["not_sent"]:
        lines.append(f"{indent}  not sent {_fmt(s['amount'])} ({s['status']}): {s['reason']}")
    return lines


def render_story(story: dict[str, Any]) -> str:
    """The story as text sections, every missing piece named at the end."""
    title = story.get("fill_id") or story.get("focus")
    out = [f"explain {title} ({story['kind']})"]
    if story.get("quote"):
        q = story["quote"]
        out.append(f"quote hit: {q['side']} level {q['level']} {_fmt(q['amount'])} @ {q['price']}")
        out += _kv(q, ("ts", "client_order_id", "config_hash", *_QUOTE_KEYS))
        ladder = ", ".join(f"{r['side']} {r['price']}x{r['amount']}" for r in q["ladder"])
        out.append(f"  ladder: {ladder}")
        if q.get("exposure"):
            out.append("  exposure before: " + ", ".join(_kv(q["exposure"], _EXPOSURE, "")))
    if story.get("rfq"):
        out.append(f"rfq quote {story['rfq']['quote_id']}:")
        for e in story["rfq"]["events"]:
            out.append(
                f"  {e['ts']} {e['event']} client {_fmt(e['client'])} {_fmt(e['side'])} "
                f"{_fmt(e['size'])} @ {_fmt(e['price'])} (mid {_fmt(e['mid_price'])}, walked "
                f"{_fmt(e['walked_price'])}, deviation {_fmt(e['deviation_bps'])} bps)"
                + (f" {e['reason']}" if e.get("reason") else "")
            )
    if story.get("fill"):
        out.append("fill:")
        out += _kv(story["fill"], _FILL_KEYS)
    if story.get("hedges"):
        out.append("hedge:")
        for h in story["hedges"]:
            out += _hedge_lines(h)
    for n in story.get("netting", []):
        out.append(
            f"netting: the first {n['kind']} hedge after the fill ({_fmt(n['after_fill_s'])} s "
            "later; which fills it covered is not recorded):"
        )
        out += _hedge_lines(n)
    if story.get("ledger"):
        out.append("ledger postings:")
        for p in story["ledger"]:
            out.append(f"  {p['entry_id']} {p['venue']} {p['account']} {p['asset']} {p['amount']}")
    if story.get("pnl"):
        pnl = story["pnl"]
        out.append("pnl:")
        out += _kv(pnl, tuple(k for k in pnl if k != "markouts"))
        out += _kv(pnl["markouts"], tuple(pnl["markouts"]))
    out.append("missing:" if story["missing"] else "missing: nothing")
    out += [f"  MISSING {m}" for m in story["missing"]]
    return "\n".join(out)


_QUOTE_KEYS = (*DECISION_INPUTS[:-2], "effective_spread_bps", *DECISION_INPUTS[-2:])
_EXPOSURE = ("ts", "asset", "net", "pending", "target", "threshold")
_FILL_KEYS = (
    "ts",
    "seen_ts",
    "market",
    "order_id",
    "side",
    "price",
    "amount",
    "fee",
    "fee_currency",
    "liquidity",
    "mid",
)


def register(app: typer.Typer) -> None:
    @app.command()
    def explain(
        fill_id: Annotated[str | None, typer.Argument(help="the fill to explain")] = None,
        hedge: Annotated[str | None, typer.Option(help="explain by hedge id instead")] = None,
        rfq: Annotated[str | None, typer.Option(help="explain by RFQ quote id instead")] = None,
        data_dir: Annotated[str, typer.Option(help="Parquet dataset (path or URI)")] = "./data",
        json_out: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    ) -> None:
        """Why a fill happened and what followed: quote, hedge, ledger, PnL (dataset only)."""
        from pathlib import Path

        from analytics.explain import NotInDataset, explain_fill, explain_hedge, explain_rfq
        from analytics.views import connect

        asked = [x for x in (fill_id, hedge, rfq) if x is not None]
        if len(asked) != 1:
            typer.secho("give one of: FILL_ID, --hedge HEDGE_ID, --rfq QUOTE_ID", err=True)
            raise typer.Exit(2)
        if "://" not in data_dir and not Path(data_dir).exists():
            typer.secho(f"--data-dir {data_dir}: no such directory", err=True)
            raise typer.Exit(2)
        con = connect(data_dir)
        try:
            if hedge is not None:
                story = explain_hedge(con, hedge)
            elif rfq is not None:
                story = explain_rfq(con, rfq)
            else:
                story = explain_fill(con, asked[0])
        except NotInDataset as exc:
            typer.secho(str(exc), err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from None
        typer.echo(json.dumps(story, default=str) if json_out else render_story(story))
