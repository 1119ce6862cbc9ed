from decimal import Decimal

import pytest

from engine.config import (
    AssetProcessConfig,
    MarketConfig,
    SymbolRulesConfig,
    TakerFlowConfig,
    VenueConfig,
)
from engine.sim.exchange import CancelRejected, FilterFailure, InsufficientBalance, OrderNotFound
from engine.sim.home_exchange import (
    HomeExchange,
    HomeOrderStatus,
    HomeOrderType,
    PostOnlyWouldTake,
)
from engine.sim.price import ReferencePrice
from engine.types import Side

T0 = 1_700_000_000 * 10**9
MAKER, TAKER = Decimal("-0.0001"), Decimal("0.0004")
LIMIT, MARKET = HomeOrderType.LIMIT, HomeOrderType.MARKET
BTC = "BTC/USDT"


def make_home(rate_per_s: float = 0.0) -> HomeExchange:
    venue = VenueConfig(
        id="home",
        kind="ccxt",
        exchange="hollaex",
        url="sim",
        role="home",
        maker_fee=float(MAKER),
        taker_fee=float(TAKER),
        balances={"BTC": Decimal(2), "USDT": Decimal(200_000)},
        symbol_rules={BTC: SymbolRulesConfig(tick_size=Decimal("0.1"), lot_size=Decimal("0.001"))},
    )
    market = MarketConfig(
        symbol=BTC, taker_flow=TakerFlowConfig(rate_per_s=rate_per_s, mean_notional_quote=500)
    )
    assets = {"BTC": AssetProcessConfig(initial_price=65_000, vol_annual=0.0, jumps_per_day=0)}
    reference = ReferencePrice(assets, seed=7, step_ms=100, start_ns=T0)
    return HomeExchange(venue, [market], reference, seed=7)


def bal(home: HomeExchange, asset: str, account: str = "a") -> tuple[Decimal, Decimal]:
    return home.balances(account)[asset]


def test_a_resting_buy_locks_its_cost_and_cancel_releases_it():
    """A buy's fee is paid in the base it receives, so it locks exactly price * size."""
    home = make_home()
    order = home.place_order("a", BTC, Side.BUY, LIMIT, Decimal("1"), Decimal("60000"), T0)
    lock = Decimal(60_000)
    assert order.status is HomeOrderStatus.NEW
    assert bal(home, "USDT") == (Decimal(200_000) - lock, lock)
    assert home.book(BTC, 5) == ([(Decimal("60000.0"), Decimal("1"))], [])
    home.cancel_order("a", order.order_id, T0 + 1)
    assert bal(home, "USDT") == (Decimal(200_000), Decimal(0))
    assert order.status is HomeOrderStatus.CANCELED
    with pytest.raises(CancelRejected):
        home.cancel_order("a", order.order_id, T0 + 2)


def test_a_cross_between_two_accounts_books_maker_and_taker_exactly():
    home = make_home()
    ask = home.place_order("m", BTC, Side.SELL, LIMIT, Decimal("0.5"), Decimal("65000"), T0)
    taken = home.place_order("t", BTC, Side.BUY, MARKET, Decimal("0.2"), None, T0 + 1)
    cost = Decimal("0.2") * Decimal(65_000)
    # HollaEx charges the coin received (apidocs.hollaex.com: an xht-usdt buy's fee_coin
    # is xht): the taker buy pays BTC, the maker sell USDT
    assert taken.status is HomeOrderStatus.FILLED and taken.fee == Decimal("0.2") * TAKER
    assert ask.status is HomeOrderStatus.PARTIALLY_FILLED and ask.fee == cost * MAKER
    assert [t.fee_asset for t in home.trades("t", BTC)] == ["BTC"]
    assert bal(home, "BTC", "t") == (Decimal("2.2") - Decimal("0.2") * TAKER, Decimal(0))
    assert bal(home, "USDT", "t") == (Decimal(200_000) - cost, Decimal(0))
    assert bal(home, "BTC", "m") == (Decimal("1.5"), Decimal("0.3"))
    assert bal(home, "USDT", "m") == (Decimal(200_000) + cost - cost * MAKER, Decimal(0))
    [maker_trade] = home.trades("m", BTC)
    assert maker_trade.is_maker and maker_trade.order_id == ask.order_id


def test_post_only_that_would_take_is_refused_and_moves_nothing():
    home = make_home()
    home.place_order("m", BTC, Side.SELL, LIMIT, Decimal("0.5"), Decimal("65000"), T0)
    with pytest.raises(PostOnlyWouldTake):
        home.place_order(
            "a", BTC, Side.BUY, LIMIT, Decimal("0.1"), Decimal("65000"), T0, post_only=True
        )
    assert bal(home, "USDT") == (Decimal(200_000), Decimal(0))
    assert home.orders("a") == []


def test_refusals_name_the_reason():
    home = make_home()
    with pytest.raises(InsufficientBalance):
        home.place_order("a", BTC, Side.SELL, LIMIT, Decimal("3"), Decimal("70000"), T0)
    with pytest.raises(FilterFailure):
        home.place_order("a", BTC, Side.BUY, LIMIT, Decimal("0.0005"), Decimal("60000"), T0)
    with pytest.raises(FilterFailure):
        home.place_order("a", BTC, Side.BUY, LIMIT, Decimal("0.1"), Decimal("60000.05"), T0)
    home.place_order("m", BTC, Side.SELL, LIMIT, Decimal("2"), Decimal("120000"), T0)
    with pytest.raises(InsufficientBalance):  # 2 BTC at 120000 > 200k USDT
        home.place_order("a", BTC, Side.BUY, MARKET, Decimal("2"), None, T0)
    with pytest.raises(OrderNotFound):
        home.order("someone-else", home.orders("m")[0].order_id)


def test_synthetic_takers_fill_resting_quotes_and_balances_reconcile():
    home = make_home(rate_per_s=20.0)
    bid = home.place_order("a", BTC, Side.BUY, LIMIT, Decimal("1"), Decimal("64990"), T0)
    ask = home.place_order("a", BTC, Side.SELL, LIMIT, Decimal("1"), Decimal("65010"), T0)
    home.run_takers(T0)
    assert home.run_takers(T0 + 60 * 10**9) > 0
    trades = home.trades("a", BTC)
    assert trades and all(t.is_maker for t in trades)
    # stamped when the matching ran, not when each taker arrived in the minute before
    assert {t.ts_ns for t in trades} == {T0 + 60 * 10**9}
    btc, usdt = Decimal(2), Decimal(200_000)
    for t in trades:
        sign = 1 if t.side is Side.BUY else -1
        btc += sign * t.size - (t.fee if t.fee_asset == "BTC" else 0)
        usdt -= sign * t.price * t.size + (t.fee if t.fee_asset == "USDT" else 0)
    assert sum(bal(home, "BTC")) == btc and sum(bal(home, "USDT")) == usdt
    for order in (bid, ask):
        assert order.filled == sum(
            (t.size for t in trades if t.order_id == order.order_id), Decimal(0)
        )
