"""How each hedge child order's first fill moved against the book it was decided on.

`saving_bps` compares a hedge's achieved all-in price with the best single venue's
on the books of the decision, so on one venue it is the move between that book and
the execution. This reads a run's Parquet back (`marketmesh run --data-dir D`) and
splits the child orders by how long the venue's book had to move: its age at the
decision (`hedge_orders.book_age_ms`) plus decision -> first fill. Past a venue's
refresh (100 ms on `configs/local.yaml`) the book the plan saw may be gone; a hedge
follows a taker who traded with the reference's move, and the hedge venues' books
catch up with that move at their next refresh, so a move there leans against us.

For each order, the first level's move in bps of the venue's decision touch, > 0
against us: a buy's lowest fill above the decision best ask, a sell's highest fill
below the decision best bid.

    python bench/hedge_moves.py D [--window-ms 100]
"""

from __future__ import annotations

import argparse

from analytics.views import connect

QUERY = """
with o as (
    select o.market, o.venue, o.side, o.book_age_ms, o.ts, o.run_id, o.client_order_id,
           b.best_ask as decision_ask, b.best_bid as decision_bid
    from hedge_orders o,
         unnest(from_json(o.decision_books,
                          '[{"venue": "varchar", "best_bid": "double", "best_ask": "double"}]'))
             as t(b)
    where o.venue is not null and b.venue = o.venue
),
f as (
    select run_id, client_order_id, min(price) as low, max(price) as high, min(ts) as first_ts
    from hedge_fills group by all
),
moves as (
    select o.market, o.book_age_ms + (epoch_ns(f.first_ts) - epoch_ns(o.ts)) / 1e6 as window_ms,
           case when o.side = 'buy' then (f.low - o.decision_ask) / o.decision_ask
                else (o.decision_bid - f.high) / o.decision_bid end * 1e4 as move_bps
    from o join f using (run_id, client_order_id)
)
select market,
       case when window_ms < $window then 'under' else 'past' end as refresh,
       count(*) as orders,
       count(*) filter (where move_bps > 1e-9) as against,
       count(*) filter (where abs(move_bps) <= 1e-9) as unmoved,
       count(*) filter (where move_bps < -1e-9) as for_us,
       avg(move_bps) as mean_move_bps
from moves group by all order by market, refresh desc
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="a run's --data-dir")
    parser.add_argument(
        "--window-ms", type=float, default=100.0, help="the hedge venues' book refresh"
    )
    args = parser.parse_args()
    rows = connect(args.data_dir).execute(QUERY, {"window": args.window_ms}).fetchall()
    if not rows:
        raise SystemExit(f"{args.data_dir}: no hedge child order with a fill and its books")
    print(
        f"book age at decision + decision -> first fill, under / past {args.window_ms:g} ms; "
        "first level's move against the decision touch (> 0: against us)"
    )
    print(
        f"{'market':<10} {'window':<6} {'orders':>6} {'against':>7} {'unmoved':>7} "
        f"{'for us':>6} {'mean bps':>9}"
    )
    for market, refresh, n, against, unmoved, for_us, mean in rows:
        print(
            f"{market:<10} {refresh:<6} {n:>6} {against:>7} {unmoved:>7} {for_us:>6} {mean:>9.3f}"
        )


if __name__ == "__main__":
    main()
