"""Market-level rules applied to every policy's ladder, in this order.

1. Volatility guard: when short-term sigma reaches `widen_ratio` times its
   long-run level the ladder is widened by `widen_factor` around mid; at
   `pause_ratio` the market quotes nothing until sigma calms down.
2. Spread SLA: the touch-to-touch spread is clamped to `max_spread_bps`
   (both sides pulled toward their centre by the same amount, deeper levels
   with them); a one-sided ladder keeps its touch within half of it from mid.
   Then no side quotes through the reference mid: a bid touch above mid (or
   an ask below it), which a model's reservation price can ask for at large
   inventory, moves its side back to mid. So bid < ask always.
3. Inventory limit: at or past `inventory_limit` only the side that brings
   inventory back is quoted.
4. Step back toward user liquidity: once users' own resting depth inside the
   band meets `depth_target_quote` on a side, the bot scales that side down
   so its share of the band's depth is `bot_share_target`
   (bot = share / (1 - share) * users); below the target it quotes in full.
   With `handover.step_back: fill_missing` it quotes only the depth users
   leave missing against the target instead (`engine.quoting.step_back`).

The stale-reference guard lives in the MarketActor (no quotes off a book
older than `risk.max_book_age_s`), since it decides whether to call a policy at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum

from engine.config import MarketConfig, StepBackMode, VolGuardConfig
from engine.quoting.base import QuoteContext
from engine.quoting.step_back import fill_missing
from engine.types import QuoteLevel, Side


class VolRegime(StrEnum):
    NORMAL = "normal"
    WIDEN = "widen"
    PAUSE = "pause"


def vol_regime(
    short_sigma: float | None, long_sigma: float | None, samples: int, cfg: VolGuardConfig
) -> VolRegime:
    """NORMAL until `min_samples` returns are seen; then by short / long sigma ratio."""
    if short_sigma is None or long_sigma is None or samples < cfg.min_samples:
        return VolRegime.NORMAL
    if long_sigma <= 0:
        return VolRegime.PAUSE if short_sigma > 0 else VolRegime.NORMAL
    ratio = short_sigma / long_sigma
    if ratio >= cfg.pause_ratio:
        return VolRegime.PAUSE
    if ratio >= cfg.widen_ratio:
        return VolRegime.WIDEN
    return VolRegime.NORMAL


def regime_breach_reason(regime: VolRegime) -> str | None:
    """Why the guard moved quotes off the configured target, as the SLA names it:
    its widening pushes the spread out of the target, its pause takes quotes down."""
    return {VolRegime.WIDEN: "vol_widen", VolRegime.PAUSE: "vol_pause"}.get(regime)


def guarded_target_spread_bps(market: MarketConfig, regime: VolRegime) -> float:
    """The spread the market quotes to under `regime`: the target, times the guard's
    `widen_factor` while it widens (capped like the ladder by `max_spread_bps`)."""
    if regime is VolRegime.WIDEN:
        return min(market.target_spread_bps * market.vol_guard.widen_factor, market.max_spread_bps)
    return market.target_spread_bps


def widen(levels: Sequence[QuoteLevel], mid: float, factor: float) -> list[QuoteLevel]:
    """Every level's distance from mid multiplied by `factor`."""
    return [replace(q, price=mid + (q.price - mid) * factor) for q in levels]


def _touch(levels: Sequence[QuoteLevel], side: Side) -> float | None:
    prices = [q.price for q in levels if q.side is side]
    if not prices:
        return None
    return max(prices) if side is Side.BUY else min(prices)


def clamp_spread(
    levels: Sequence[QuoteLevel], mid: float, max_spread_bps: float
) -> list[QuoteLevel]:
    """Touches on their own side of mid and at most `max_spread_bps` of mid apart.

    A side whose touch is through the mid moves back to it; then an excess
    spread is taken half from each side, as far as each can move before mid.
    Each side moves as a block, so the ladder's shape is kept.
    """
    bid, ask = _touch(levels, Side.BUY), _touch(levels, Side.SELL)
    max_spread = mid * max_spread_bps / 1e4
    bid_shift = min(0.0, mid - bid) if bid is not None else 0.0
    ask_shift = max(0.0, mid - ask) if ask is not None else 0.0
    if bid is not None and ask is not None:
        b, a = bid + bid_shift, ask + ask_shift
        excess = (a - b) - max_spread
        if excess > 0:
            up = min(excess / 2.0, mid - b)
            down = min(excess - up, a - mid)
            up = excess - down
            bid_shift += up
            ask_shift -= down
    elif bid is not None:
        bid_shift += max(0.0, (mid - bid - bid_shift) - max_spread / 2.0)
    elif ask is not None:
        ask_shift -= max(0.0, (ask + ask_shift - mid) - max_spread / 2.0)
    if bid_shift == 0.0 and ask_shift == 0.0:
        return list(levels)
    return [
        replace(q, price=q.price + (bid_shift if q.side is Side.BUY else ask_shift)) for q in levels
    ]


def quoted_sides(inventory: float, limit: float) -> tuple[bool, bool]:
    """(bids, asks) allowed at `inventory`: long at the limit sells only, short buys only."""
    return inventory < limit, inventory > -limit


def one_sided_at_limit(
    levels: Sequence[QuoteLevel], inventory: float, limit: float
) -> list[QuoteLevel]:
    """Long at the limit: asks only; short at the limit: bids only."""
    bids, asks = quoted_sides(inventory, limit)
    if bids and asks:
        return list(levels)
    return [q for q in levels if (q.side is Side.BUY and bids) or (q.side is Side.SELL and asks)]


def step_back_scale(
    user_depth_quote: float,
    bot_depth_quote: float,
    depth_target_quote: float,
    bot_share_target: float,
) -> float:
    """Factor in [0, 1] for the bot's size on one side of the band.

    1 while users' depth is below the target (or the share target is 100 %);
    otherwise the factor that makes bot / (bot + users) = `bot_share_target`.
    Users alone then meet the target, so the band's depth never drops below it.
    """
    if (
        bot_share_target >= 1.0
        or bot_depth_quote <= 0
        or user_depth_quote <= 0
        or user_depth_quote < depth_target_quote
    ):
        return 1.0
    wanted = bot_share_target / (1.0 - bot_share_target) * user_depth_quote
    return min(1.0, wanted / bot_depth_quote)


def _depth_in_band(levels: Sequence[QuoteLevel], side: Side, mid: float, band_bps: float) -> float:
    bound = mid * (1 - band_bps / 1e4) if side is Side.BUY else mid * (1 + band_bps / 1e4)
    return sum(
        q.price * q.amount
        for q in levels
        if q.side is side and (q.price >= bound if side is Side.BUY else q.price <= bound)
    )


def apply_market_rules(
    levels: Sequence[QuoteLevel], ctx: QuoteContext, regime: VolRegime = VolRegime.NORMAL
) -> list[QuoteLevel]:
    """The policy's ladder after the volatility, spread, inventory and step-back rules."""
    m: MarketConfig = ctx.market
    if regime is VolRegime.PAUSE:
        return []
    out = list(levels)
    if regime is VolRegime.WIDEN:
        out = widen(out, ctx.mid, m.vol_guard.widen_factor)
    out = clamp_spread(out, ctx.mid, m.max_spread_bps)
    out = one_sided_at_limit(out, ctx.inventory, m.inventory_limit)
    target = m.depth_target_quote or 0.0
    if m.handover.step_back is StepBackMode.FILL_MISSING:
        out = fill_missing(
            out,
            mid=ctx.mid,
            band_bps=m.depth_band_bps,
            user_bid_depth_quote=ctx.user_bid_depth_quote,
            user_ask_depth_quote=ctx.user_ask_depth_quote,
            target_quote=target,
            headroom=m.handover.headroom,
            min_touch_quote=m.handover.min_touch_quote,
        )
        return [q for q in out if q.price > 0 and q.amount > 0]
    scales = {
        side: step_back_scale(
            user,
            _depth_in_band(out, side, ctx.mid, m.depth_band_bps),
            target,
            m.bot_share_target,
        )
        for side, user in (
            (Side.BUY, ctx.user_bid_depth_quote),
            (Side.SELL, ctx.user_ask_depth_quote),
        )
    }
    if scales[Side.BUY] < 1.0 or scales[Side.SELL] < 1.0:
        out = [replace(q, amount=q.amount * scales[q.side]) for q in out]
    return [q for q in out if q.price > 0 and q.amount > 0]


def within_settlement(
    levels: Sequence[QuoteLevel], base_available: float, quote_available: float
) -> list[QuoteLevel]:
    """The ladder cut to what the home account can settle: the bids' total quote at most
    `quote_available`, the asks' total base at most `base_available`.

    A hard guard, independent of the exposure the policy quotes on: the desk's net
    exposure can be flat while the home account has sold its base (hedged elsewhere);
    the rebalancer moves funds back, and until then no quote promises what the home
    account lacks. Levels are filled best first, so the deepest are cut first.
    """
    left = {Side.BUY: max(quote_available, 0.0), Side.SELL: max(base_available, 0.0)}
    out: list[QuoteLevel] = []
    for q in levels:
        need = q.price * q.amount if q.side is Side.BUY else q.amount
        take = min(need, left[q.side])
        left[q.side] -= take
        if take <= 0:
            continue
        if take < need:
            q = replace(q, amount=take / q.price if q.side is Side.BUY else take)
        out.append(q)
    return out
