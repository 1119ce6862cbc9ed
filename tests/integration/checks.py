"""What every full-graph run must satisfy, read back from its Parquet with DuckDB.

Shared by the core-loop, recovery and loopback tests: each returns the
offending rows (empty when the run is sound) so a failure shows what broke.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.config import AppConfig


def fills_not_booked_exactly_once(con: Any) -> list[tuple[Any, ...]]:
    bad = con.execute(
        """
        select f.fill_id, count(l.entry_id) as n
        from fills f left join ledger_entries l
          on l.ref = f.fill_id and l.kind = 'fill' and l.account = 'wallet'
         and l.asset = split_part(f.market, '/', 1)
        group by 1 having count(l.entry_id) <> 1
        """
    ).fetchall()
    dup_fills = con.execute(
        "select fill_id, count(*) from fills group by 1 having count(*) > 1"
    ).fetchall()
    dup_entries = con.execute(
        "select entry_id, count(*) from ledger_entries group by 1 having count(*) > 1"
    ).fetchall()
    return bad + dup_fills + dup_entries


def unbalanced_entry_sets(con: Any) -> list[tuple[Any, ...]]:
    return con.execute(
        "select ref, asset, sum(amount) s from ledger_entries group by 1, 2 having s <> 0"
    ).fetchall()


def fills_unhedged_without_reason(con: Any) -> list[tuple[Any, ...]]:
    """Fills whose hedge rows do not add up: executed, plus what a row says was left
    (skipped, rejected, expired, unknown, or the rest of a partial IOC), with a reason.

    Fills of a market that nets (hybrid hedges on record: the flagship default) have no
    hedge of their own when an opposite fill cancelled them; the netted books are held
    to account by `exposure_over_threshold` instead."""
    return con.execute(
        """
        select f.fill_id, f.amount, coalesce(sum(h.filled_amount), 0) as hedged,
               coalesce(sum(case when h.status in ('skipped','rejected','expired','unknown',
                                                   'partial')
                                 then h.amount - h.filled_amount end), 0) as unhedged,
               bool_and(h.status not in ('skipped','rejected','expired','unknown','partial')
                        or coalesce(h.reason, '') <> '') as reasons_ok,
               count(h.hedge_id) as n
        from fills f left join hedge_orders h on h.source_fill_id = f.fill_id
        where f.market not in (
            select distinct market from hedge_orders where reason like 'hybrid%'
        )
        group by 1, 2
        having n = 0 or not reasons_ok or hedged + unhedged < f.amount * 0.999999
        """
    ).fetchall()


def exposure_over_threshold(con: Any, cfg: AppConfig) -> list[tuple[str, float]]:
    positions = con.execute(
        f"""
        select asset, sum(amount) from ledger_entries
        where account = 'wallet' and kind <> 'opening' and asset <> '{cfg.quote_asset}'
        group by 1
        """
    ).fetchall()
    mids = dict(
        con.execute(
            "select split_part(market, '/', 1), arg_max(mid, ts) from book_samples group by 1"
        ).fetchall()
    )
    threshold = cfg.rebalancer.exposure_threshold_quote
    return [
        (asset, float(position))
        for asset, position in positions
        if abs(float(position)) * mids[asset] > threshold
    ]


def ledger_vs_venues(con: Any, result: Any) -> list[tuple[str, str, Decimal, Decimal]]:
    """(venue, asset, Parquet ledger, venue via ccxt) wherever they differ."""
    booked = {
        (venue, asset): amount
        for venue, asset, amount in con.execute(
            "select venue, asset, sum(amount) from ledger_entries where account = 'wallet' "
            "group by 1, 2"
        ).fetchall()
    }
    off = []
    for venue, assets in result.reconciliation.items():
        for asset, (_ledger, reported) in assets.items():
            ours = booked.get((venue, asset), Decimal(0))
            if ours != Decimal(reported):
                off.append((venue, asset, ours, Decimal(reported)))
    return off
