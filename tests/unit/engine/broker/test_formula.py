"""engine/broker/formula.py: HollaEx-style formulas and the pair they price."""

from __future__ import annotations

import pytest

from engine.broker import FormulaError, parse_formula


def test_single_venue():
    f = parse_formula("binance-sim:BTC/USDT")
    assert f.pair == "BTC/USDT"
    assert f.venues == ("binance-sim",)
    assert f.symbols == ("BTC/USDT",)


def test_cross_and_constant_compose():
    f = parse_formula("a:BTC/USDT / b,c:ETH/USDT * 1.001")
    assert f.pair == "BTC/ETH"
    assert [t.divide for t in f.terms] == [False, True, False]
    assert f.terms[1].sources == ("b", "c")
    assert f.terms[2].constant == pytest.approx(1.001)
    assert parse_formula("a:ETH/BTC * *:BTC/USDT").pair == "ETH/USDT"
    assert parse_formula("*:BTC/USDT").terms[0].consolidated


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a:BTC/USDT * b:ETH/USDT", "cannot multiply a price in USDT by ETH/USDT"),
        ("a:BTC/USDT / b:ETH/BTC", "cannot divide a price in USDT by ETH/BTC"),
        ("a:BTC/USDT / ", "is not BASE/QUOTE"),
        ("a:BTCUSDT", "is not BASE/QUOTE"),
        ("1.01 * a:BTC/USDT", "must start with a venue"),
        ("a:BTC/USDT * -2", "must be positive"),
        ("a:BTC/USDT * x", "neither venue:BASE/QUOTE nor a number"),
        ("a b:BTC/USDT", "bad venue list"),
        ("a:BTC/USDT / a:BTC/USDT", "names no pair"),
    ],
)
def test_bad_formulas_name_the_problem(text, reason):
    with pytest.raises(FormulaError, match=reason):
        parse_formula(text)
