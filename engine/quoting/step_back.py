"""Step back to fill only what users leave missing (the handover stage's rule).

Per side of the band: users rest `user_depth_quote` within `depth_band_bps` of
mid; the SLA wants `depth_target_quote` there. The bot aims the side's total at
target * (1 + headroom), so it quotes in band only

    missing = max(0, target * (1 + headroom) - users)

scaling its ladder's levels by one factor (its shape is kept) and never above
what the policy wanted. Its touch keeps at least `min_touch_quote` so the
spread target holds whatever users' own spread is. As users grow, the bot's
share of the band's depth falls toward min_touch / (users + min_touch); when a
user withdraws, the next decision (one quote cycle) sees the gap and fills it.
`headroom` covers what takers eat from the band between two decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.types import QuoteLevel, Side


def in_band(price: float, side: Side, mid: float, band_bps: float) -> bool:
    if side is Side.BUY:
        return price >= mid * (1 - band_bps / 1e4)
    return price <= mid * (1 + band_bps / 1e4)


def missing_depth_quote(user_depth_quote: float, target_quote: float, headroom: float) -> float:
    """What the bot must rest in band on one side so the total meets the target with room."""
    return max(0.0, target_quote * (1.0 + headroom) - user_depth_quote)


def fill_missing_side(
    levels: Sequence[QuoteLevel],
    side: Side,
    *,
    mid: float,
    band_bps: float,
    user_depth_quote: float,
    target_quote: float,
    headroom: float,
    min_touch_quote: float,
) -> list[QuoteLevel]:
    """`side`'s levels of `levels` scaled to the missing depth, touch floored (others untouched)."""
    mine = [q for q in levels if q.side is side]
    if not mine:
        return list(levels)
    bot_in_band = sum(q.price * q.amount for q in mine if in_band(q.price, side, mid, band_bps))
    wanted = missing_depth_quote(user_depth_quote, target_quote, headroom)
    scale = 1.0 if bot_in_band <= 0 else min(1.0, wanted / bot_in_band)
    pick = max if side is Side.BUY else min
    touch = pick(mine, key=lambda q: q.price)
    out = []
    for q in levels:
        if q.side is not side:
            out.append(q)
            continue
        amount = q.amount * scale
        if q is touch and q.price > 0:
            amount = max(amount, min(q.amount, min_touch_quote / q.price))
        out.append(replace(q, amount=amount))
    return out


def fill_missing(
    levels: Sequence[QuoteLevel],
    *,
    mid: float,
    band_bps: float,
    user_bid_depth_quote: float,
    user_ask_depth_quote: float,
    target_quote: float,
    headroom: float,
    min_touch_quote: float,
) -> list[QuoteLevel]:
    """Both sides of the ladder stepped back to what users leave missing."""
    out = list(levels)
    for side, users in ((Side.BUY, user_bid_depth_quote), (Side.SELL, user_ask_depth_quote)):
        out = fill_missing_side(
            out,
            side,
            mid=mid,
            band_bps=band_bps,
            user_depth_quote=users,
            target_quote=target_quote,
            headroom=headroom,
            min_touch_quote=min_touch_quote,
        )
    return out
