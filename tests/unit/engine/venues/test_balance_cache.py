from decimal import Decimal

from engine.types import Execution, Side
from engine.venues.balance_cache import after_executions

D = Decimal


def _ex(side: Side, amount: str, cost: str, fee: str, fee_currency: str) -> Execution:
    return Execution(1, "h", "c", "v", "BTC/USDT", side, D(amount), D(cost), D(fee), fee_currency)


def test_executions_move_base_quote_and_fee_exactly():
    start = {"BTC": D("1.5"), "USDT": D("100000"), "BNB": D("2")}
    after = after_executions(
        start,
        [
            _ex(Side.BUY, "0.10000001", "6500.00065", "0.0000001", "BTC"),
            _ex(Side.SELL, "0.3", "19499.7", "7.8", "USDT"),
            _ex(Side.SELL, "0.01", "650", "0.001", "BNB"),
        ],
    )
    assert after == {
        "BTC": D("1.5") + D("0.10000001") - D("0.0000001") - D("0.3") - D("0.01"),
        "USDT": D("100000") - D("6500.00065") + D("19499.7") - D("7.8") + D("650"),
        "BNB": D("1.999"),
    }
    assert start["BTC"] == D("1.5")  # the input is not changed


def test_a_new_asset_starts_from_zero():
    assert after_executions({}, [_ex(Side.BUY, "1", "65000", "0", "")]) == {
        "BTC": D("1"),
        "USDT": D("-65000"),
    }
