"""The maker incentive program's scoring rule and allocation, as pure functions.

How venue liquidity programs pay makers (dYdX v3 liquidity-provider rewards;
Polymarket liquidity rewards, whose order score is ((v - s) / v)^2 for an
order s away from mid in a band of v): every book sample, each user maker's
resting orders within the band score their notional times a weight that falls
with distance from mid,

    weight(d) = ((band - d) / band) ** distance_exponent     for d < band, else 0
    Q_bid, Q_ask = sum of notional * weight over the maker's bids, asks
    sample score = max(min(Q_bid, Q_ask), max(Q_bid, Q_ask) / one_sided_divisor)

so two-sided size near mid earns most and one side alone a fraction. A
period's score is the mean sample score over the period's book samples (a
sample without the maker's orders scores 0: time in book counts), and its
budget is shared pro rata among the makers whose two-sided uptime reaches
`min_uptime_pct`. `analytics.incentives` runs the same rule in DuckDB over
`maker_orders`; parameters are `engine.config.IncentiveConfig`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.types import Side


def order_weight(distance_bps: float, band_bps: float, distance_exponent: float) -> float:
    """1 at mid, falling to 0 at the band's edge; 0 beyond it."""
    if band_bps <= 0 or distance_bps >= band_bps:
        return 0.0
    return ((band_bps - max(0.0, distance_bps)) / band_bps) ** distance_exponent


def side_scores(
    orders: Iterable[tuple[Side, float, float]],
    mid: float,
    *,
    band_bps: float,
    distance_exponent: float,
) -> tuple[float, float]:
    """(Q_bid, Q_ask) of one maker's (side, price, amount) orders at one sample."""
    q_bid = q_ask = 0.0
    for side, price, amount in orders:
        distance = abs(price - mid) / mid * 1e4
        q = price * amount * order_weight(distance, band_bps, distance_exponent)
        if side is Side.BUY:
            q_bid += q
        else:
            q_ask += q
    return q_bid, q_ask


def sample_score(q_bid: float, q_ask: float, one_sided_divisor: float) -> float:
    """Two-sided size in full, one side alone divided by `one_sided_divisor`."""
    return max(min(q_bid, q_ask), max(q_bid, q_ask) / one_sided_divisor)


def allocate(
    scores: Mapping[str, float],
    uptime_pct: Mapping[str, float],
    *,
    budget_quote: float,
    min_uptime_pct: float,
) -> dict[str, float]:
    """Each maker's payout: the budget pro rata to the scores of those who qualify."""
    eligible = {
        owner: score
        for owner, score in scores.items()
        if score > 0 and uptime_pct.get(owner, 0.0) >= min_uptime_pct
    }
    total = sum(eligible.values())
    return {
        owner: (budget_quote * eligible[owner] / total if owner in eligible and total > 0 else 0.0)
        for owner in scores
    }
