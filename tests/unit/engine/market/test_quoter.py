"""The quoter's decision: what the MarketActor and the exact backtest do with the home book."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.config import MarketConfig
from engine.market import QuoteAction, Quoter
from engine.quoting import QuoteContext, apply_market_rules, build_policy, round_quotes
from engine.types import Fill, Liquidity, MarketSpec, Side

S = 10**9
T0 = 1_750_000_000 * S
SPEC = MarketSpec("BTC/USDT", Decimal("0.01"), Decimal("0.00001"), min_notional=Decimal("1"))
MARKET = MarketConfig(
    symbol="BTC/USDT",
    tier="flagship",
    levels=3,
    level_spacing_bps=4,
    order_notional_quote=60_000,
    inventory_limit=1.0,
)


class Book:
    """A home venue as a decision reads it: what rests, and users' depth."""

    def __init__(self, quotes=(), user_depth=(0.0, 0.0)) -> None:
        self.quotes = list(quotes)
        self.user_depth = user_depth
        self.depth_asked = 0

    def open_quotes(self):
        return self.quotes

    def user_depth_within(self, mid: float, bps: float):
        self.depth_asked += 1
        return self.user_depth


def quoter(market: MarketConfig = MARKET, **kw) -> Quoter:
    return Quoter(market, SPEC, max_book_age_s=5.0, started_ns=T0, **kw)


def fill(side: Side, amount: str, n: int = 1) -> Fill:
    return Fill(
        ts_ns=T0,
        venue="home",
        market="BTC/USDT",
        fill_id=f"f{n}",
        order_id=f"o{n}",
        side=side,
        price=Decimal("65000"),
        amount=Decimal(amount),
        fee=Decimal(0),
        fee_currency="USDT",
        liquidity=Liquidity.MAKER,
    )


def test_no_reference_no_decision():
    assert quoter().decide(T0, Book()).action is QuoteAction.IDLE


def test_first_decision_places_the_policys_ladder_after_the_rules_on_the_grid():
    q = quoter()
    assert q.on_reference(T0, (65_000.0, T0))
    decision = q.decide(T0, Book())
    assert decision.action is QuoteAction.REPLACE
    ctx = QuoteContext(
        ts_ns=T0, mid=65_000.0, inventory=0.0, market=MARKET, sigma_bps_per_sqrt_s=None
    )
    expected = round_quotes(apply_market_rules(build_policy(MARKET).desired_quotes(ctx), ctx), SPEC)
    assert list(decision.quotes) == expected
    sides = [s for s, _, _ in decision.quotes]
    assert sides == [Side.BUY] * 3 + [Side.SELL] * 3
    best_bid, best_ask = decision.quotes[0][1], decision.quotes[3][1]
    assert (best_ask - best_bid) / Decimal(65_000) * 10_000 <= Decimal(MARKET.target_spread_bps)


def test_holds_a_ladder_that_still_matches_then_requotes_when_the_mid_moves_or_the_timer_is_due():
    q = quoter()
    q.on_reference(T0, (65_000.0, T0))
    placed = q.decide(T0, Book()).quotes
    live = Book(placed)
    t1 = T0 + S // 4
    q.on_reference(t1, (65_000.0 * (1 + 0.5e-4), t1))  # 0.5 bps: inside the 2 bps tolerance
    assert q.decide(t1, live).action is QuoteAction.HOLD
    t2 = T0 + S // 2
    q.on_reference(t2, (65_000.0 * (1 + 5e-4), t2))  # 5 bps: the ladder drifted
    moved = q.decide(t2, live)
    assert moved.action is QuoteAction.REPLACE and moved.quotes != placed
    t3 = t2 + int(MARKET.requote_interval_s * S)
    assert q.decide(t3, Book(moved.quotes)).action is QuoteAction.REPLACE  # the timer


def test_a_partly_filled_level_is_replenished_before_the_timer():
    q = quoter()
    q.on_reference(T0, (65_000.0, T0))
    placed = list(q.decide(T0, Book()).quotes)
    side, price, amount = placed[3]
    placed[3] = (side, price, amount / 2)  # a taker took half the best ask
    assert q.decide(T0 + S // 10, Book(placed)).action is QuoteAction.REPLACE


def test_a_stale_reference_takes_every_quote_down_and_quotes_nothing():
    q = quoter()
    q.on_reference(T0, (65_000.0, T0))
    placed = q.decide(T0, Book()).quotes
    late = T0 + 6 * S  # max_book_age_s 5
    assert q.decide(late, Book(placed)).action is QuoteAction.CANCEL
    assert q.decide(late, Book()).action is QuoteAction.IDLE


def test_a_reference_counts_once_per_observation():
    q = quoter()
    assert q.on_reference(T0, (65_000.0, T0))
    assert not q.on_reference(T0 + S, (65_000.0, T0))  # the router had nothing newer
    assert not q.on_reference(T0 + S, None)
    assert q.on_reference(T0 + 2 * S, (65_010.0, T0 + 2 * S))
    assert q.sigma_long.samples == 1  # two observations: one return


def test_inventory_from_fills_skews_the_ladder_down_when_long():
    flat, long = quoter(), quoter()
    for q in (flat, long):
        q.on_reference(T0, (65_000.0, T0))
    long.on_fills([fill(Side.BUY, "0.3")])
    assert long.position == Decimal("0.3")
    a, b = flat.decide(T0, Book()).quotes, long.decide(T0, Book()).quotes
    assert b[0][1] < a[0][1] and b[3][1] < a[3][1]  # both touches lower: sell more, buy less


def test_widen_raises_the_target_up_to_the_cap_and_requotes_now():
    q = quoter()
    q.on_reference(T0, (65_000.0, T0))
    q.decide(T0, Book())
    assert q.widen(1.5) == pytest.approx(12.0)
    assert q.timer_due(T0 + 1)
    assert q.widen(10.0) == MARKET.max_spread_bps
    quotes = q.decide(T0 + 1, Book()).quotes
    spread_bps = (quotes[3][1] - quotes[0][1]) / Decimal(65_000) * 10_000
    assert spread_bps > Decimal(MARKET.target_spread_bps)


def test_users_depth_is_read_only_when_asked_for():
    reading, skipping = quoter(), quoter(read_user_depth=False)
    for q in (reading, skipping):
        q.on_reference(T0, (65_000.0, T0))
    a, b = Book(), Book()
    reading.decide(T0, a)
    skipping.decide(T0, b)
    assert a.depth_asked == 1 and b.depth_asked == 0


def test_rows_carry_the_reference_mid_and_the_configured_targets():
    q = quoter()
    q.on_reference(T0, (65_000.0, T0))
    (row,) = q.fill_rows([fill(Side.SELL, "0.01")], T0 + 5)
    assert row["mid"] == 65_000.0 and row["seen_ts"] == T0 + 5
    sample = q.sample_row(T0, [(64_990.0, 0.5)], [(65_010.0, 0.5)], [], [])
    assert sample["target_spread_bps"] == MARKET.target_spread_bps
    assert sample["spread_bps"] == pytest.approx(20 / 65_000 * 1e4)


def test_a_widened_target_is_sampled_beside_the_configured_one_and_restores():
    """Issue 13: the SLA grades the configured target; the widened one is its own column."""
    q = quoter()
    q.on_reference(T0, (65_000.0, T0))
    quotes = q.decide(T0, Book()).quotes
    bids = [(float(p), float(a)) for s, p, a in quotes if s is Side.BUY]
    asks = [(float(p), float(a)) for s, p, a in quotes if s is Side.SELL]
    normal = q.sample_row(T0, bids, asks, bids, asks)
    assert normal["quote_state"] == "normal" and normal["reference_mid"] == 65_000.0
    assert normal["effective_target_spread_bps"] == MARKET.target_spread_bps
    q.widen(1.5)
    row = q.sample_row(T0, bids, asks, bids, asks)
    assert row["target_spread_bps"] == row["configured_target_spread_bps"] == 8.0
    assert row["effective_target_spread_bps"] == pytest.approx(12.0)
    assert row["quote_state"] == "target_widened"
    assert q.sample_row(T0, bids, [], bids, [])["quote_state"] == "one_sided"
    assert q.sample_row(T0, bids, asks, bids, asks, paused=True)["quote_state"] == "paused"
    assert q.restore_target() == MARKET.target_spread_bps
    assert q.timer_due(T0 + 1)  # requotes at the configured target now
    assert q.sample_row(T0, bids, asks, bids, asks)["effective_target_spread_bps"] == 8.0
    stale = q.sample_row(T0 + 6 * S, bids, asks, bids, asks)
    assert stale["quote_state"] == "stale_reference"


def test_fill_rows_price_the_home_taker_fee_on_maker_fills_only():
    q = quoter()
    q.home_taker_fee = 0.001
    (maker,) = q.fill_rows([fill(Side.BUY, "0.1")], T0)
    assert maker["taker_fee_quote"] == pytest.approx(6.5)
    taker = fill(Side.SELL, "0.1", n=2)
    object.__setattr__(taker, "liquidity", Liquidity.TAKER)
    assert q.fill_rows([taker], T0)[0]["taker_fee_quote"] is None


def test_the_desk_net_exposure_not_the_home_fills_drives_the_skew():
    # the home fills are long 0.3 BTC, but the hedge sold it: the desk is flat, quotes flat
    flat, hedged = quoter(), quoter()
    for q in (flat, hedged):
        q.on_reference(T0, (65_000.0, T0))
    hedged.on_fills([fill(Side.BUY, "0.3")])
    hedged.net_exposure = 0.0
    assert hedged.decide(T0, Book()).quotes == flat.decide(T0, Book()).quotes
    # long on net (a hybrid hedge still waiting): skewed down as before
    hedged.net_exposure = 0.3
    long = hedged.decide(T0 + 2 * S, Book()).quotes
    assert long[0][1] < flat.decide(T0 + 2 * S, Book()).quotes[0][1]


def test_no_quote_exceeds_what_the_home_account_can_settle():
    q = quoter()
    q.on_reference(T0, (65_000.0, T0))
    q.home_available = (0.4, 30_000.0)  # 0.4 BTC to sell, 30000 USDT to buy with
    quotes = q.decide(T0, Book()).quotes
    bids = [(p, a) for s, p, a in quotes if s is Side.BUY]
    asks = [(p, a) for s, p, a in quotes if s is Side.SELL]
    assert sum(p * a for p, a in bids) <= Decimal(30_000)
    assert sum(a for _, a in asks) <= Decimal("0.4")
    assert bids[0][1] >= asks[0][1] * Decimal("0.9")  # the touch kept, the deepest cut


def test_fills_carry_the_hedge_cost_expected_when_their_quote_was_placed():
    from engine.quoting import ExternalBook
    from engine.types import BookSnapshot

    book = BookSnapshot(
        "binance", "BTC/USDT", T0, bids=((64_995.0, 10.0),), asks=((65_005.0, 10.0),)
    )
    q = quoter()
    q.external = ExternalBook(book, 10.0, 1e6, 0.0004, venue_books=((book, 0.0004),))
    q.on_reference(T0, (65_000.0, T0))
    decision = q.decide(T0, Book())
    # a hedge sells at 64995 less 4 bps fee, plus the 0.5 bps buffer: ~5.27 bps of mid
    expected = (65_000 - 64_995 * (1 - 0.0004)) / 65_000 * 1e4 + 0.5
    assert decision.hedge_costs_bps[0] == pytest.approx(expected)
    side, price, _ = decision.quotes[0]
    hit = Fill(
        ts_ns=T0, venue="home", market="BTC/USDT", fill_id="h1", order_id="o1", side=side,
        price=price, amount=Decimal("0.01"), fee=Decimal(0), fee_currency="USDT",
        liquidity=Liquidity.MAKER,
    )  # fmt: skip
    (row,) = q.fill_rows([hit], T0)
    assert row["expected_hedge_cost_bps"] == pytest.approx(expected)
