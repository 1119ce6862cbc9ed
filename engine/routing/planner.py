"""Turning a hedge need into child orders inside the safety limits.

The plan is decided from the venues' latest books only (no I/O, `now_ns`
passed in), so the router, a test and a replay all plan the same hedge the
same way. Every child is an IOC limit at the worst price the split reached on
its venue, so it can never trade beyond the slippage bound, and its client
order id is derived from the hedge id and the venue's leg number, so a retry
of the same hedge never sends a second order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from types import MappingProxyType

from engine.config import RiskConfig
from engine.routing.reasons import Reason, ReasonKind, about_venue
from engine.routing.split import TOLERANCE, best_split
from engine.routing.walk import taking_side, walk_book
from engine.types import BookSnapshot, ChildOrder, HedgeIntent, MarketSpec, Side

_NO_EXCLUSIONS: Mapping[str, str] = MappingProxyType({})
_MAX_LEG = 10**9  # keeps client ids within 36 characters
_DUST = ReasonKind.DUST  # what the grid or a venue's minimum leaves: nothing to trade
_SNAP = Decimal("1e-9")  # relative: an allocation this close under a lot multiple is that multiple


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """What the router knows about one venue for this hedge.

    `available` is the most base the venue can sell (sell) or the most quote it
    can spend including the fee (buy); None means not limited.
    """

    venue: str
    book: BookSnapshot
    taker_fee: float
    spec: MarketSpec
    available: float | None


@dataclass(frozen=True, slots=True)
class HedgePlan:
    """The child orders for one intent, and why any amount was left unplanned."""

    intent: HedgeIntent
    children: tuple[ChildOrder, ...]
    residual: float
    reasons: tuple[str, ...]

    @property
    def planned(self) -> float:
        return sum(c.amount for c in self.children)


@dataclass(frozen=True, slots=True)
class _Usable:
    quote: VenueQuote
    mid: float
    bound: Decimal
    levels: list[tuple[float, float]]


HEDGE_ORDER_PREFIX = "mm"  # every hedge child order's client id starts with it


def client_order_id(hedge_id: str, leg: int) -> str:
    """Deterministic venue-safe client id: `mm` + 24 hex of sha1(hedge id) + `-leg`.

    At most 36 characters from [A-Za-z0-9_-], which every venue we route to
    accepts (Binance allows 36), whatever characters the hedge id holds.
    """
    if not 0 <= leg < _MAX_LEG:
        raise ValueError(f"leg must be in [0, {_MAX_LEG}), got {leg}")
    digest = hashlib.sha1(hedge_id.encode()).hexdigest()[:24]
    return f"{HEDGE_ORDER_PREFIX}{digest}-{leg}"


def plan_hedge(
    intent: HedgeIntent,
    venues: Sequence[VenueQuote],
    risk: RiskConfig,
    now_ns: int,
    *,
    excluded: Mapping[str, str] = _NO_EXCLUSIONS,
) -> HedgePlan:
    """Plan IOC child orders for `intent` across `venues`.

    Venues in `excluded` (with the router's reason), with a stale book, a book
    for another symbol or an empty side are left out. Each venue's side is cut
    to the levels within `risk.max_slippage_bps` of that venue's mid, the amount
    is split with `best_split`, and each leg is rounded to the venue's grid and
    capped at `risk.max_notional_per_trade` and at what the venue's balance can
    cover at the limit price. Legs are numbered by the venue's position among
    all venues seen (quoted or excluded) sorted by id, so a venue keeps its leg
    number, and its client id, when other venues drop out.
    `reasons` names every venue left out and every shortfall.
    """
    if not math.isfinite(intent.amount) or intent.amount < 0:
        raise ValueError(f"intent.amount must be a finite number >= 0, got {intent.amount!r}")
    ids = [q.venue for q in venues]
    if len(set(ids)) != len(ids):
        raise ValueError(f"venues: each venue id may appear once, got {sorted(ids)}")
    side = Side(intent.side)
    legs = {v: i for i, v in enumerate(sorted(set(ids) | set(excluded)))}
    reasons: list[str] = [about_venue(v, excluded[v]) for v in sorted(excluded)]
    usable: dict[str, _Usable] = {}
    for q in sorted(venues, key=lambda q: q.venue):
        if q.venue in excluded:
            continue
        why = _unusable(q, intent, side, risk, now_ns)
        if why:
            reasons.append(why)
            continue
        mid = q.book.mid
        assert mid is not None  # _unusable rejects one-sided books
        bound = _slippage_bound(q.book, side, risk.max_slippage_bps)
        levels = _routable_levels(q, side, bound, intent.amount)
        if not levels:
            reasons.append(f"no depth within {risk.max_slippage_bps:g} bps of mid: {q.venue}")
            continue
        usable[q.venue] = _Usable(q, mid, bound, levels)
    if intent.amount == 0:
        return HedgePlan(intent, (), 0.0, tuple(reasons))
    if not usable:
        if venues and not any(q.spec.takes(intent.amount, q.book.mid) for q in venues):
            # dust: no venue could take it even with a young book, so it is not the
            # venues' state that leaves it (a fault) but the grid (nothing to trade)
            reasons.append(
                Reason(f"below venue minimum: {intent.amount:.10g} under every venue's", _DUST)
            )
        else:
            reasons.append("no usable venue")
        return HedgePlan(intent, (), intent.amount, tuple(reasons))

    allocation = _split(side, intent.amount, usable, reasons, risk)
    children: list[ChildOrder] = []
    for venue, amount in allocation.items():
        child = _child(intent, side, usable[venue], amount, legs[venue], risk, reasons)
        if child is not None:
            children.append(child)
    planned = sum((_dec(c.amount) for c in children), Decimal(0))
    residual = max(Decimal(0), _dec(intent.amount) - planned)
    return HedgePlan(intent, tuple(children), float(residual), tuple(reasons))


def _unusable(
    q: VenueQuote, intent: HedgeIntent, side: Side, risk: RiskConfig, now_ns: int
) -> str | None:
    if q.book.symbol != intent.symbol:
        return f"wrong book: {q.venue} sent {q.book.symbol} for {intent.symbol}"
    age_s = (now_ns - q.book.ts_ns) / 1e9
    if age_s > risk.max_book_age_s:
        return Reason(f"stale book: {q.venue} {age_s:.1f}s", ReasonKind.STALE_BOOK)
    for name, levels in (("bids", q.book.bids), ("asks", q.book.asks)):
        if not levels:
            return f"empty book: {q.venue} has no {name}"
    return None


def _split(
    side: Side, amount: float, usable: Mapping[str, _Usable], reasons: list[str], risk: RiskConfig
) -> dict[str, float]:
    """`best_split` on the truncated books; attribute any shortfall to depth, balance, minimum."""
    key = "asks" if side is Side.BUY else "bids"
    books: dict[str, dict] = {v: {key: u.levels} for v, u in usable.items()}
    fees = {v: u.quote.taker_fee for v, u in usable.items()}
    balances = {
        v: max(0.0, u.quote.available) for v, u in usable.items() if u.quote.available is not None
    }
    minimums = {v: u.quote.spec.minimum_at(u.mid) for v, u in usable.items()}
    allocation = best_split(side, amount, books, fees, balances, minimums)
    planned = sum(allocation.values())
    if planned >= amount - TOLERANCE:
        return allocation
    by_depth = sum(best_split(side, amount, books, fees).values())
    by_balance = sum(best_split(side, amount, books, fees, balances).values())
    if by_depth < amount - TOLERANCE:
        reasons.append(
            f"insufficient depth within {risk.max_slippage_bps:g} bps: "
            f"{by_depth:.10g} of {amount:.10g}"
        )
    if by_balance < by_depth - TOLERANCE:
        reasons.append(f"insufficient balance: {by_balance:.10g} of {by_depth:.10g}")
    if planned < by_balance - TOLERANCE:
        reasons.append(
            Reason(f"below venue minimum: {by_balance - planned:.10g} left unplanned", _DUST)
        )
    return allocation


def _child(
    intent: HedgeIntent,
    side: Side,
    usable: _Usable,
    amount: float,
    leg: int,
    risk: RiskConfig,
    reasons: list[str],
) -> ChildOrder | None:
    """Round one venue's allocation to its grid inside the limits; None if nothing is left."""
    q, spec = usable.quote, usable.quote.spec
    exact = _dec(amount)
    # float sums in the split can land a hair under a lot multiple: snap those up
    wanted = _round_down(exact * (1 + _SNAP), spec.lot_size)
    # the limit must reach what is sent: a snapped-up size may end on the next level
    limit = _marginal_limit(side, usable, float(max(exact, wanted)), risk)
    if limit <= 0:
        reasons.append(
            Reason(f"below venue minimum: {q.venue} limit price rounds to {limit}", _DUST)
        )
        return None
    size = wanted
    cap = _round_down(_dec(risk.max_notional_per_trade) / limit, spec.lot_size)
    if size > cap:
        reasons.append(
            f"max_notional_per_trade: {q.venue} leg capped at {cap} of {wanted} "
            f"({risk.max_notional_per_trade:g} quote at {limit})"
        )
        size = cap
    if q.available is not None:
        # a venue locks a limit order's worst case (limit x amount), not the expected cost
        per_unit = limit * (1 + _dec(q.taker_fee)) if side is Side.BUY else Decimal(1)
        afford = _round_down(_dec(max(0.0, q.available)) / per_unit, spec.lot_size)
        if size > afford:
            reasons.append(
                f"insufficient balance: {q.venue} leg capped at {afford} of {size} "
                f"({q.available:.10g} available)"
            )
            size = afford
    if 0 < size < exact:
        # a leg cut by rounding or caps may need fewer levels: its limit is its own marginal, which
        # only tightens a buy (caps above still hold); a sell keeps it if the cap allows
        tighter = _marginal_limit(side, usable, float(size), risk)
        if side is Side.BUY or size * tighter <= _dec(risk.max_notional_per_trade):
            limit = tighter
    if size <= 0 or size < spec.min_amount or size * limit < spec.min_notional:
        reasons.append(
            Reason(
                f"below venue minimum: {q.venue} leg {size} at {limit} "
                f"(min amount {spec.min_amount}, min notional {spec.min_notional})",
                _DUST,
            )
        )
        return None
    if exact - wanted > exact * _SNAP and size == wanted:
        reasons.append(Reason(f"lot rounding: {q.venue} {amount:.10g} -> {size}", _DUST))
    return ChildOrder(
        hedge_id=intent.hedge_id,
        client_order_id=client_order_id(intent.hedge_id, leg),
        venue=q.venue,
        symbol=intent.symbol,
        side=side,
        amount=float(size),
        limit_price=float(limit),
        order_type="limit",
        time_in_force="IOC",
        decision_mid=usable.mid,
        source_fill_id=intent.source_fill_id,
    )


def _slippage_bound(book: BookSnapshot, side: Side, max_slippage_bps: float) -> Decimal:
    """The worst price within `max_slippage_bps` of the venue's mid, in exact decimals.

    Decimal so a level exactly on the bound counts as inside it, whatever the
    binary rounding of `mid * (1 + bps)` would say.
    """
    mid = (_dec(book.bids[0][0]) + _dec(book.asks[0][0])) / 2
    return mid * (1 + side.sign * _dec(max_slippage_bps) / 10_000)


def _marginal_limit(side: Side, usable: _Usable, amount: float, risk: RiskConfig) -> Decimal:
    """The IOC limit for taking `amount`: the walk's marginal price, plus the tolerance."""
    marginal = walk_book(usable.levels, amount).marginal_price
    # room for the book to move between decision and arrival; the bound still caps it
    marginal *= 1 + side.sign * risk.limit_tolerance_bps / 10_000
    return _limit_price(side, marginal, usable.bound, usable.quote.spec.tick_size)


def _routable_levels(
    q: VenueQuote, side: Side, bound: Decimal, amount: float
) -> list[tuple[float, float]]:
    """The venue's levels a plan may take: best first, reachable inside the bound, and
    only as deep as `amount` needs (levels sit further out the deeper they are, so the
    first unreachable level ends the list)."""
    levels: list[tuple[float, float]] = []
    depth = 0.0
    for price, size in taking_side(q.book.as_ccxt(), side):
        if depth >= amount or not _reachable(side, price, bound, q.spec.tick_size):
            break
        levels.append((price, size))
        depth += size
    return levels


def _reachable(side: Side, price: float, bound: Decimal, tick: Decimal) -> bool:
    """True when a limit on the tick grid and inside the bound can take a level at `price`.

    A level off the grid (between ticks) needs the next tick outward; if that
    tick is beyond the bound, an IOC at the bound would rest short of the level
    and fill nothing, so the level is not routable.
    """
    if side is Side.BUY:
        return _round(_dec(price), tick, ROUND_CEILING) <= _round(bound, tick, ROUND_FLOOR)
    return _round(_dec(price), tick, ROUND_FLOOR) >= _round(bound, tick, ROUND_CEILING)


def _limit_price(side: Side, marginal: float, bound: Decimal, tick: Decimal) -> Decimal:
    """The marginal price on the tick grid, rounded outward only while inside the bound.

    A buy rounds up (never below the level it must reach) but not above the
    bound; a sell rounds down but not below it. Safety wins when they clash.
    """
    if side is Side.BUY:
        return min(_round(_dec(marginal), tick, ROUND_CEILING), _round(bound, tick, ROUND_FLOOR))
    return max(_round(_dec(marginal), tick, ROUND_FLOOR), _round(bound, tick, ROUND_CEILING))


def _dec(value: float) -> Decimal:
    """A float as the decimal it prints as (shortest repr), not its binary expansion."""
    return Decimal(repr(float(value)))


def _round(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def _round_down(value: Decimal, step: Decimal) -> Decimal:
    return _round(value, step, ROUND_FLOOR)
