from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import AssetProcessConfig, BookProfileConfig, SymbolRulesConfig, VenueConfig
from engine.sim.books import BookGenerator
from engine.sim.exchange import (
    CancelRejected,
    DuplicateOrder,
    FilterFailure,
    InsufficientBalance,
    MissingParameter,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    SimExchange,
    TimeInForce,
    UnexpectedParameter,
    UnknownSymbol,
)
from engine.sim.price import ReferencePrice
from engine.types import Side

REFRESH_NS = 250_000_000
BASE_NS = 1_700_000_000 * 10**9  # where the reference price path starts
SYMBOLS = ["BTC/USDT", "ETH/USDT"]
TAKER = Decimal("0.0008")
MAKER = Decimal("0.0002")
KEY = "key-a"
ASSETS = {
    "BTC": AssetProcessConfig(initial_price=65_000, vol_annual=0.0, jumps_per_day=0),
    "ETH": AssetProcessConfig(initial_price=3_200, vol_annual=0.0, jumps_per_day=0),
}


def make_venue(noise_bps: float = 0.8, balances: dict[str, str] | None = None) -> VenueConfig:
    return VenueConfig(
        id="okx-sim",
        kind="ccxt",
        exchange="binance",
        url="sim",
        taker_fee=float(TAKER),
        maker_fee=float(MAKER),
        balances={
            k: Decimal(v)
            for k, v in (balances or {"BTC": "5", "ETH": "80", "USDT": "600000"}).items()
        },
        book=BookProfileConfig(
            offset_bps=1.5,
            noise_bps=noise_bps,
            half_spread_bps=1.5,
            levels=25,
            level_spacing_bps=2.0,
            level_notional_quote=15_000,
            depth_growth=1.2,
        ),
        symbol_rules={
            "BTC/USDT": SymbolRulesConfig(
                tick_size=Decimal("0.1"), lot_size=Decimal("0.0001"), min_notional=Decimal("5")
            ),
            "ETH/USDT": SymbolRulesConfig(
                tick_size=Decimal("0.01"), lot_size=Decimal("0.001"), min_notional=Decimal("5")
            ),
        },
    )


def make_exchange(**kwargs) -> SimExchange:
    reference = ReferencePrice(ASSETS, seed=7, step_ms=100, start_ns=BASE_NS)
    return SimExchange(make_venue(**kwargs), reference, 7, "USDT", SYMBOLS)


def book_at(ts_ns: int, symbol: str = "BTC/USDT", **kwargs):
    reference = ReferencePrice(ASSETS, seed=7, step_ms=100, start_ns=BASE_NS)
    return BookGenerator(make_venue(**kwargs), reference, 7).book(symbol, ts_ns)


def _first_refresh(symbol: str) -> int:
    """The first start of a `symbol` refresh bucket after BASE_NS (each symbol of a venue
    refreshes on its own phase)."""
    gen = BookGenerator(
        make_venue(), ReferencePrice(ASSETS, seed=7, step_ms=100, start_ns=BASE_NS), 7
    )
    return gen.bucket_start(symbol, gen.bucket(symbol, BASE_NS) + 1)


T0 = _first_refresh("BTC/USDT")  # tests step whole refreshes from a boundary of BTC's


def fee(cost: Decimal, rate: Decimal) -> Decimal:
    return (cost * rate).quantize(Decimal("0.00000001"), rounding=ROUND_HALF_UP)


def market(side: Side, qty: str, symbol: str = "BTC/USDT", **kw) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.MARKET, quantity=Decimal(qty), **kw)


def limit(side: Side, qty: Decimal | str, price: Decimal | str, tif: TimeInForce, **kw):
    return OrderRequest(
        "BTC/USDT",
        side,
        OrderType.LIMIT,
        quantity=Decimal(qty),
        price=Decimal(price),
        time_in_force=tif,
        **kw,
    )


def free(ex: SimExchange, asset: str, account: str = KEY) -> Decimal:
    return ex.balances(account)[asset][0]


def test_market_buy_walks_the_levels_and_moves_balances_exactly():
    ex = make_exchange()
    asks = book_at(T0).asks
    qty = asks[0].amount + asks[1].amount + Decimal("0.0003")
    order = ex.place_order(KEY, market(Side.BUY, str(qty)), T0)

    assert order.status is OrderStatus.FILLED and order.executed_qty == qty
    assert [(f.price, f.qty) for f in order.fills] == [
        (asks[0].price, asks[0].amount),
        (asks[1].price, asks[1].amount),
        (asks[2].price, Decimal("0.0003")),
    ]
    cost = sum((f.price * f.qty for f in order.fills), Decimal(0))
    fees = sum((fee(f.qty, TAKER) for f in order.fills), Decimal(0))
    assert order.cumulative_quote_qty == cost
    # Binance charges the received asset: a buy pays its fee in the base
    assert [f.fee for f in order.fills] == [fee(f.qty, TAKER) for f in order.fills]
    assert all(f.fee_asset == "BTC" and not f.is_maker for f in order.fills)
    assert ex.balances(KEY)["BTC"] == (Decimal(5) + qty - fees, Decimal(0))
    assert ex.balances(KEY)["USDT"] == (Decimal(600_000) - cost, Decimal(0))


def test_market_sell_pays_the_fee_in_quote_and_gives_up_exactly_the_quantity():
    ex = make_exchange()
    bid = book_at(T0).bids[0]
    order = ex.place_order(KEY, market(Side.SELL, "0.0100"), T0)
    assert order.fills[0].price == bid.price
    cost = bid.price * Decimal("0.01")
    assert free(ex, "BTC") == Decimal("4.99")
    assert free(ex, "USDT") == Decimal(600_000) + cost - fee(cost, TAKER)


def test_ioc_limit_with_partial_liquidity_expires_with_what_it_got():
    ex = make_exchange()
    asks = book_at(T0).asks
    order = ex.place_order(KEY, limit(Side.BUY, "5", asks[1].price, TimeInForce.IOC), T0)
    assert order.status is OrderStatus.EXPIRED
    assert order.executed_qty == asks[0].amount + asks[1].amount < order.orig_qty
    assert ex.open_orders(KEY, "BTC/USDT", T0) == []
    assert ex.balances(KEY)["USDT"][1] == 0  # nothing stays locked


def test_consumed_liquidity_stays_consumed_until_the_next_refresh():
    ex = make_exchange()
    best = book_at(T0).asks[0]
    first = ex.place_order(KEY, limit(Side.BUY, best.amount, best.price, TimeInForce.IOC), T0)
    assert first.executed_qty == best.amount
    _, asks, _ = ex.depth("BTC/USDT", T0 + 1, 5)
    assert asks[0].price > best.price  # the level is gone from the venue's depth

    later_same_bucket = T0 + REFRESH_NS - 1
    again = ex.place_order(
        "key-b", limit(Side.BUY, best.amount, best.price, TimeInForce.IOC), later_same_bucket
    )
    assert again.status is OrderStatus.EXPIRED and again.executed_qty == 0

    next_bucket = T0 + REFRESH_NS
    fresh = book_at(next_bucket).asks[0]
    refilled = ex.place_order(
        "key-b", limit(Side.BUY, fresh.amount, fresh.price, TimeInForce.IOC), next_bucket
    )
    assert refilled.executed_qty == fresh.amount


def test_fok_that_cannot_fill_entirely_does_nothing():
    ex = make_exchange()
    asks = book_at(T0).asks
    before = ex.balances(KEY)
    order = ex.place_order(KEY, limit(Side.BUY, "5", asks[1].price, TimeInForce.FOK), T0)
    assert order.status is OrderStatus.EXPIRED and order.fills == ()
    assert ex.balances(KEY) == before
    _, after_asks, _ = ex.depth("BTC/USDT", T0, 1)
    assert after_asks[0] == asks[0]  # and took no liquidity


def test_market_buy_by_quote_amount_spends_at_most_the_budget():
    ex = make_exchange()
    request = OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET, quote_order_qty=Decimal("20000"))
    order = ex.place_order(KEY, request, T0)
    assert order.status is OrderStatus.FILLED
    assert Decimal("19900") < order.cumulative_quote_qty <= Decimal("20000")
    assert order.orig_qty == order.executed_qty
    assert order.executed_qty % Decimal("0.0001") == 0


def test_gtc_rests_locks_funds_and_cancel_releases_them():
    ex = make_exchange()
    price = book_at(T0).bids[5].price
    order = ex.place_order(
        KEY, limit(Side.BUY, "1", price, TimeInForce.GTC, client_order_id="rest-1"), T0
    )
    assert order.status is OrderStatus.NEW and order.fills == ()
    locked = price  # the fee is paid in the BTC received: nothing reserved on top
    assert ex.balances(KEY)["USDT"] == (Decimal(600_000) - locked, locked)
    assert [o.order_id for o in ex.open_orders(KEY, None, T0)] == [order.order_id]

    canceled = ex.cancel_order(KEY, "BTC/USDT", T0 + 1, client_order_id="rest-1")
    assert canceled.status is OrderStatus.CANCELED
    assert ex.balances(KEY)["USDT"] == (Decimal(600_000), Decimal(0))
    assert ex.open_orders(KEY, "BTC/USDT", T0 + 1) == []
    with pytest.raises(CancelRejected):
        ex.cancel_order(KEY, "BTC/USDT", T0 + 2, order_id=order.order_id)


def test_resting_order_fills_as_maker_when_a_later_book_crosses_it():
    ex = make_exchange(noise_bps=6.0)
    price = book_at(T0, noise_bps=6.0).asks[0].price - Decimal("0.1")
    order = ex.place_order(KEY, limit(Side.BUY, "0.05", price, TimeInForce.GTC), T0)
    assert order.status is OrderStatus.NEW
    crossing = next(
        T0 + i * REFRESH_NS
        for i in range(1, 2_000)
        if book_at(T0 + i * REFRESH_NS, noise_bps=6.0).asks[0].price <= price
    )
    assert ex.order(KEY, "BTC/USDT", crossing - 1, order_id=order.order_id).executed_qty == 0

    done = ex.order(KEY, "BTC/USDT", crossing, order_id=order.order_id)
    assert done.executed_qty > 0
    assert all(f.price == price and f.is_maker for f in done.fills)
    assert [f.fee for f in done.fills] == [fee(f.qty, MAKER) for f in done.fills]
    assert all(f.fee_asset == "BTC" for f in done.fills)
    cost = done.cumulative_quote_qty
    fees = sum((f.fee for f in done.fills), Decimal(0))
    usdt_free, usdt_locked = ex.balances(KEY)["USDT"]
    btc_free, _ = ex.balances(KEY)["BTC"]
    assert btc_free == Decimal(5) + done.executed_qty - fees
    if done.status is OrderStatus.FILLED:
        assert usdt_locked == 0
        assert usdt_free == Decimal(600_000) - cost
    else:
        assert usdt_free + usdt_locked == Decimal(600_000) - cost


def test_insufficient_balance_is_refused_and_changes_nothing():
    ex = make_exchange()
    before = ex.balances(KEY)
    with pytest.raises(InsufficientBalance) as buy:
        ex.place_order(KEY, limit(Side.BUY, "10", "66000", TimeInForce.IOC), T0)
    assert buy.value.asset == "USDT"
    with pytest.raises(InsufficientBalance) as sell:
        ex.place_order(KEY, market(Side.SELL, "5.0001"), T0)
    assert sell.value.asset == "BTC"
    with pytest.raises(InsufficientBalance):
        ex.place_order(KEY, market(Side.BUY, "9.5"), T0)
    assert ex.balances(KEY) == before
    assert ex.trades(KEY, "BTC/USDT", T0) == []


@pytest.mark.parametrize(
    ("request_", "filter_name"),
    [
        (market(Side.BUY, "0.00015"), "LOT_SIZE"),
        (market(Side.BUY, "0"), "LOT_SIZE"),
        (limit(Side.BUY, "0.01", "65000.05", TimeInForce.GTC), "PRICE_FILTER"),
        (limit(Side.BUY, "0.0001", "40000", TimeInForce.GTC), "NOTIONAL"),
        (market(Side.SELL, "0.001", symbol="ETH/USDT"), "NOTIONAL"),
    ],
)
def test_filter_failures_name_the_filter(request_, filter_name):
    ex = make_exchange()
    with pytest.raises(FilterFailure) as err:
        ex.place_order(KEY, request_, T0)
    assert err.value.filter_name == filter_name
    assert str(err.value) == f"Filter failure: {filter_name}"


def test_client_order_id_is_refused_only_while_its_order_is_open():
    """Binance: newClientOrderId "A unique id among open orders" (POST /api/v3/order,
    https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints)."""
    ex = make_exchange()
    price = book_at(T0).bids[5].price
    resting = ex.place_order(
        KEY, limit(Side.BUY, "0.01", price, TimeInForce.GTC, client_order_id="mm-1"), T0
    )
    with pytest.raises(DuplicateOrder):
        ex.place_order(KEY, market(Side.BUY, "0.01", client_order_id="mm-1"), T0 + 1)
    ex.cancel_order(KEY, "BTC/USDT", T0 + 2, order_id=resting.order_id)
    again = ex.place_order(KEY, market(Side.BUY, "0.01", client_order_id="mm-1"), T0 + 3)
    assert again.status is OrderStatus.FILLED and again.order_id != resting.order_id
    assert ex.order(KEY, "BTC/USDT", T0 + 4, client_order_id="mm-1").order_id == again.order_id
    other_account = ex.place_order("key-b", market(Side.BUY, "0.01", client_order_id="mm-1"), T0)
    assert other_account.client_order_id == "mm-1"


def test_unknown_symbol_and_unknown_orders():
    ex = make_exchange()
    with pytest.raises(UnknownSymbol):
        ex.place_order(KEY, market(Side.BUY, "1", symbol="XRP/USDT"), T0)
    with pytest.raises(UnknownSymbol):
        ex.depth("XRP/USDT", T0, 5)
    with pytest.raises(OrderNotFound):
        ex.order(KEY, "BTC/USDT", T0, order_id=42)
    placed = ex.place_order(KEY, market(Side.BUY, "0.01", client_order_id="mm-2"), T0)
    with pytest.raises(OrderNotFound):  # orders are private to their account
        ex.order("key-b", "BTC/USDT", T0, order_id=placed.order_id)
    with pytest.raises(OrderNotFound):
        ex.order(KEY, "ETH/USDT", T0, client_order_id="mm-2")
    assert ex.order(KEY, "BTC/USDT", T0, client_order_id="mm-2").order_id == placed.order_id
    with pytest.raises(CancelRejected):
        ex.cancel_order(KEY, "BTC/USDT", T0, order_id=placed.order_id)  # already filled


def test_malformed_requests_are_refused():
    ex = make_exchange()
    with pytest.raises(MissingParameter):
        ex.place_order(KEY, OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT), T0)
    with pytest.raises(MissingParameter):
        ex.place_order(KEY, OrderRequest("BTC/USDT", Side.BUY, OrderType.MARKET), T0)
    with pytest.raises(UnexpectedParameter):
        ex.place_order(KEY, market(Side.BUY, "0.01", price=Decimal("65000")), T0)
    with pytest.raises(UnexpectedParameter):
        ex.place_order(KEY, market(Side.BUY, "0.01", quote_order_qty=Decimal("650")), T0)
    assert ex.trades(KEY, "BTC/USDT", T0) == []


def test_accounts_are_separate_per_api_key():
    ex = make_exchange()
    ex.place_order(KEY, market(Side.BUY, "0.5"), T0)
    assert ex.balances("key-b") == {
        "BTC": (Decimal(5), Decimal(0)),
        "ETH": (Decimal(80), Decimal(0)),
        "USDT": (Decimal(600_000), Decimal(0)),
    }


taker_orders = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.sampled_from(["market", "ioc", "fok", "quote"]),
        st.sampled_from(SYMBOLS),
        st.integers(min_value=1, max_value=40_000),  # lots
        st.floats(min_value=-5, max_value=40),  # limit distance beyond the touch, bps
        st.integers(min_value=0, max_value=3 * REFRESH_NS),  # time to the next order
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(orders=taker_orders)
def test_balances_move_exactly_by_the_trades_and_never_go_negative(orders):
    ex = make_exchange(balances={"BTC": "0.5", "ETH": "8", "USDT": "60000"})
    start = {a: f for a, (f, _) in ex.balances(KEY).items()}
    ts = T0
    for side, kind, symbol, lots, distance_bps, dt in orders:
        ts += dt
        lot = ex.rules(symbol).lot_size
        qty = lot * lots
        _, asks, _ = ex.depth(symbol, ts, 1)
        bids, _, _ = ex.depth(symbol, ts, 1)
        touch = (asks if side is Side.BUY else bids)[0].price
        tick = ex.rules(symbol).tick_size
        sign = 1 if side is Side.BUY else -1
        price = (touch * (1 + Decimal(sign * distance_bps) / 10_000) / tick).quantize(1) * tick
        if kind == "market":
            request = OrderRequest(symbol, side, OrderType.MARKET, quantity=qty)
        elif kind == "quote":
            request = OrderRequest(symbol, side, OrderType.MARKET, quote_order_qty=qty * touch)
        else:
            tif = TimeInForce.IOC if kind == "ioc" else TimeInForce.FOK
            request = OrderRequest(
                symbol, side, OrderType.LIMIT, quantity=qty, price=price, time_in_force=tif
            )
        try:
            order = ex.place_order(KEY, request, ts)
        except (InsufficientBalance, FilterFailure):
            continue
        assert order.executed_qty == sum((f.qty for f in order.fills), Decimal(0))
        for asset, (free_now, locked) in ex.balances(KEY).items():
            assert free_now >= 0 and locked == 0, asset

    expected = dict(start)
    for symbol in SYMBOLS:
        base, quote = symbol.split("/")
        for t in ex.trades(KEY, symbol, ts):
            sign = 1 if t.side is Side.BUY else -1
            assert t.fee == fee(t.qty if t.side is Side.BUY else t.price * t.qty, TAKER)
            assert t.fee_asset == (base if t.side is Side.BUY else quote)
            expected[base] += sign * t.qty
            expected[quote] += -sign * t.price * t.qty
            expected[t.fee_asset] -= t.fee
    assert {a: f for a, (f, _) in ex.balances(KEY).items()} == expected


def test_fill_share_caps_a_taker_on_the_lot_grid_and_expires_the_rest():
    ex = make_exchange()
    order = ex.place_order(KEY, market(Side.BUY, "0.0100"), T0, fill_share=0.37)
    assert order.status is OrderStatus.EXPIRED
    assert order.executed_qty == Decimal("0.0037") and order.orig_qty == Decimal("0.0100")
    fees = sum((f.fee for f in order.fills), Decimal(0))
    assert ex.balances(KEY)["BTC"] == (Decimal(5) + Decimal("0.0037") - fees, Decimal(0))


def test_fill_share_on_a_gtc_rests_the_remainder_with_its_funds_locked():
    ex = make_exchange()
    ask = book_at(T0).asks[0]
    order = ex.place_order(
        KEY, limit(Side.SELL, "0.0100", ask.price, TimeInForce.GTC), T0, fill_share=0.5
    )
    assert order.status is OrderStatus.NEW and order.executed_qty == 0  # a sell at the ask
    bid = book_at(T0).bids[0]
    crossing = ex.place_order(
        KEY, limit(Side.SELL, "0.0100", bid.price, TimeInForce.GTC), T0, fill_share=0.5
    )
    assert crossing.status is OrderStatus.PARTIALLY_FILLED
    assert crossing.executed_qty == Decimal("0.0050")
    # 0.0100 + 0.0050 locked, 0.0050 sold
    assert ex.balances(KEY)["BTC"] == (Decimal(5) - Decimal("0.0200"), Decimal("0.0150"))


def test_credit_and_debit_move_free_funds_exactly_and_refuse_overdrafts():
    ex = make_exchange()
    ex.debit(KEY, "BTC", Decimal("1.25"))
    ex.credit(KEY, "SOL", Decimal("3.5"))
    assert free(ex, "BTC") == Decimal("3.75") and free(ex, "SOL") == Decimal("3.5")
    with pytest.raises(InsufficientBalance):
        ex.debit(KEY, "BTC", Decimal("3.75000001"))
    assert free(ex, "BTC") == Decimal("3.75")
