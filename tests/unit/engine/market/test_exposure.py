"""What a MarketActor quotes on between two ledger answers: the desk's net exposure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.market import DeskExposure
from engine.types import Fill, Liquidity, Side


def fill(market: str, side: Side, amount: str) -> Fill:
    return Fill(
        ts_ns=1, venue="home", market=market, fill_id=f"{market}{side}{amount}", order_id="o",
        side=side, price=Decimal(100), amount=Decimal(amount), fee=Decimal(0),
        fee_currency="USDT", liquidity=Liquidity.MAKER,
    )  # fmt: skip


def test_unknown_until_the_ledger_answers_then_its_answer_plus_own_unhedged_fills():
    desk = DeskExposure()
    assert not desk.known and desk.home_available("ETH", "USDT") is None
    desk.on_answer(5, {"ETH": (-0.5, 140.0), "USDT": (0.0, 1_990_000.0), "BTC": (0.01, 10.0)})
    assert desk.known and desk.net("ETH") == -0.5
    assert desk.home_available("ETH", "USDT") == (140.0, 1_990_000.0)
    # fills a hybrid market sent after the pull: every market on ETH sees them at once
    desk.on_unhedged_fills([fill("ETH/USDT", Side.BUY, "2"), fill("ETH/BTC", Side.SELL, "0.5")])
    assert desk.net("ETH") == pytest.approx(1.0)
    assert desk.net("BTC") == 0.01  # a cross's quote leg is the rebalancer's, not its skew
    desk.on_answer(10, {"ETH": (1.0, 139.0)})  # the next answer includes them: replaced
    assert desk.net("ETH") == 1.0 and desk.net("SOL") == 0.0


def test_a_net_hedge_in_flight_counts_before_the_ledger_books_it():
    # a 6.6 ETH sale netted into one hedge going out in TWAP slices: flat from the start
    desk = DeskExposure()
    desk.on_answer(1, {"ETH": (-6.6, 150.0), "USDT": (0.0, 2e6)}, {"ETH": 6.6, "USDT": 0.0})
    assert desk.net("ETH") == pytest.approx(0.0)
