"""The maker incentive program over the dataset: scores, payouts, and the bot's cost beside.

Scores follow `engine.incentives` (the rule and its sources are there) in
DuckDB over `maker_orders`, the per-owner resting orders recorded at each book
sample; the sample count per period comes from `book_samples`, so a sample at
which a maker rests nothing in band counts as zero. Payouts share the period's
budget (`IncentiveConfig.budget_quote_per_day`, pro rata for an hour) with
`engine.incentives.allocate`. `write_incentives` stores the rows as the
`incentives` table (one part set per run, replaced when recomputed).

Beside each market and period, what the bot's own liquidity cost: its PnL
turned around (`bot_cost_quote` = -PnL of its fills and hedges, as
`marketmesh sla` computes it) and its mean depth per side in band, so the
cost of a unit of depth from the bot and from paid users can be compared.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from engine.config import AppConfig, MarketConfig
from engine.incentives import allocate

PERIOD_S: dict[str, int] = {"hour": 3_600, "day": 86_400}

SCORES_SQL = """
with n as (
    select run_id, market, epoch_ns(ts) // $period_ns as period, count(*) as samples
    from book_samples where market = $market and run_id = $run_id group by all
),
o as (
    select run_id, market, ts, epoch_ns(ts) // $period_ns as period, owner, side,
           abs(price - mid) / mid * 1e4 as distance_bps, price * amount as notional
    from maker_orders where market = $market and run_id = $run_id and mid > 0
),
per_sample as (
    select run_id, market, period, ts, owner,
        coalesce(sum(notional * pow(($band - distance_bps) / $band, $exponent))
                 filter (where side = 'buy' and distance_bps < $band), 0) as qb,
        coalesce(sum(notional * pow(($band - distance_bps) / $band, $exponent))
                 filter (where side = 'sell' and distance_bps < $band), 0) as qa
    from o group by all
)
select
    p.period, p.owner, any_value(n.samples) as samples,
    100.0 * count_if(qb > 0 and qa > 0) / any_value(n.samples) as uptime_pct,
    sum(qb) / any_value(n.samples) as bid_score_quote,
    sum(qa) / any_value(n.samples) as ask_score_quote,
    sum(greatest(least(qb, qa), greatest(qb, qa) / $divisor)) / any_value(n.samples)
        as score_quote
from per_sample p join n using (run_id, market, period)
group by all
order by p.period, p.owner
"""

INCENTIVE_KEYS: tuple[str, ...] = (
    "market",
    "period",
    "owner",
    "samples",
    "uptime_pct",
    "bid_score_quote",
    "ask_score_quote",
    "score_quote",
    "share_pct",
    "payout_quote",
    "budget_quote",
)


def band_bps(market: MarketConfig) -> float:
    return market.incentives.band_bps or market.depth_band_bps


def runs_with_makers(con: duckdb.DuckDBPyConnection, market: str) -> list[str]:
    """Runs that recorded `market`'s maker orders, latest first."""
    rows = con.execute(
        "select run_id from maker_orders where market = $m group by run_id order by max(ts) desc",
        {"m": market},
    ).fetchall()
    return [str(r[0]) for r in rows]


def incentive_rows(
    con: duckdb.DuckDBPyConnection, market: MarketConfig, *, run_id: str, by: str = "day"
) -> list[dict[str, Any]]:
    """One row per period and user maker of `run_id`: scores, uptime, share and payout."""
    if by not in PERIOD_S:
        raise ValueError(f"by={by!r}: expected one of {', '.join(PERIOD_S)}")
    cfg = market.incentives
    period_s = PERIOD_S[by]
    cursor = con.execute(
        SCORES_SQL,
        {
            "market": market.symbol,
            "run_id": run_id,
            "period_ns": period_s * 1_000_000_000,
            "band": band_bps(market),
            "exponent": cfg.distance_exponent,
            "divisor": cfg.one_sided_divisor,
        },
    )
    names = [d[0] for d in cursor.description]
    scored = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    budget = cfg.budget_quote_per_day * period_s / 86_400
    out: list[dict[str, Any]] = []
    for period in sorted({r["period"] for r in scored}):
        rows = [r for r in scored if r["period"] == period]
        payouts = allocate(
            {r["owner"]: float(r["score_quote"]) for r in rows},
            {r["owner"]: float(r["uptime_pct"]) for r in rows},
            budget_quote=budget,
            min_uptime_pct=cfg.min_uptime_pct,
        )
        start = datetime.fromtimestamp(int(period) * period_s, tz=UTC)
        for r in rows:
            payout = payouts[r["owner"]]
            out.append(
                {
                    "market": market.symbol,
                    "period": start.isoformat(),
                    "period_start_ns": int(period) * period_s * 1_000_000_000,
                    "owner": r["owner"],
                    "samples": int(r["samples"]),
                    "uptime_pct": round(float(r["uptime_pct"]), 4),
                    "bid_score_quote": round(float(r["bid_score_quote"]), 4),
                    "ask_score_quote": round(float(r["ask_score_quote"]), 4),
                    "score_quote": round(float(r["score_quote"]), 4),
                    "share_pct": round(100.0 * payout / budget, 4) if budget > 0 else 0.0,
                    "payout_quote": round(payout, 4),
                    "budget_quote": round(budget, 4),
                }
            )
    return out


def bot_cost_rows(
    con: duckdb.DuckDBPyConnection, market: str, *, run_id: str, by: str = "day"
) -> list[dict[str, Any]]:
    """Per period: the bot's cost (-PnL), its share and mean depth per side in band."""
    from analytics.sla import sla_summary

    depth = {
        int(p): float(d or 0.0)
        for p, d in con.execute(
            "select epoch_ns(ts) // $period_ns, "
            "avg((coalesce(bot_bid_depth_band, 0) + coalesce(bot_ask_depth_band, 0)) / 2) "
            "from book_samples where market = $m and run_id = $r group by 1",
            {"period_ns": PERIOD_S[by] * 1_000_000_000, "m": market, "r": run_id},
        ).fetchall()
    }
    out = []
    for row in sla_summary(con, market=market, run_id=run_id, by=by):
        start = datetime.fromisoformat(row["period"])
        period = int(start.timestamp()) // PERIOD_S[by]
        pnl = row.get("pnl_quote") or 0.0
        out.append(
            {
                "market": market,
                "period": row["period"],
                "bot_cost_quote": round(-pnl, 4),
                "bot_share_pct": row.get("bot_share_pct"),
                "bot_depth_quote": round(depth.get(period, 0.0), 4),
                "fills": row.get("fills", 0),
            }
        )
    return out


def program_summary(
    incentives: list[dict[str, Any]], bot: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per market and period: what paying users cost per unit of depth against the bot.

    `user_cost_per_depth` is payouts / the paid makers' summed score (quote paid
    per quote of weighted two-sided depth held all period); `bot_cost_per_depth`
    is the bot's cost / its mean depth per side in band. Lower is cheaper.
    """
    out = []
    for b in bot:
        rows = [r for r in incentives if r["market"] == b["market"] and r["period"] == b["period"]]
        paid = sum(r["payout_quote"] for r in rows)
        paid_score = sum(r["score_quote"] for r in rows if r["payout_quote"] > 0)
        user_unit = paid / paid_score if paid_score > 0 else None
        bot_unit = b["bot_cost_quote"] / b["bot_depth_quote"] if b["bot_depth_quote"] > 0 else None
        out.append(
            {
                **b,
                "makers": len(rows),
                "payout_quote": round(paid, 4),
                "user_score_quote": round(paid_score, 4),
                "user_cost_per_depth": None if user_unit is None else round(user_unit, 6),
                "bot_cost_per_depth": None if bot_unit is None else round(bot_unit, 6),
                "paying_users_cheaper": (
                    None if user_unit is None or bot_unit is None else user_unit < bot_unit
                ),
            }
        )
    return out


def write_incentives(
    data_dir: str, rows: list[dict[str, Any]], *, run_id: str, config_hash: str
) -> int:
    """Store `rows` as the `incentives` table, replacing this run's earlier parts."""
    from analytics.writer import PartWriter

    writer_id = f"incentives-{run_id}"
    if "://" not in data_dir:
        for old in Path(data_dir, "incentives").glob(f"**/part-{writer_id}-*.parquet"):
            old.unlink()
    writer = PartWriter(
        data_dir, "incentives", writer_id=writer_id, run_id=run_id, config_hash=config_hash
    )
    writer.append(
        [
            {
                **{k: r[k] for k in INCENTIVE_KEYS},
                "ts": r["period_start_ns"],
            }
            for r in rows
        ]
    )
    writer.flush()
    return len(rows)


def config_markets(cfg: AppConfig, market: str | None) -> list[MarketConfig]:
    return [m for m in cfg.markets if market is None or m.symbol == market]
