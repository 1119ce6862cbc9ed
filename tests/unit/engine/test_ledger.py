from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.schemas import schema_for
from engine.ledger import Account, Ledger, Posting, UnbalancedEntryError, entry_rows
from engine.types import Execution, Fill, Side, split_symbol

D = Decimal


def _fill(fill_id="f1", side=Side.BUY, price="100", amount="0.5", fee="0.05", fee_ccy="USDT"):
    return Fill(10, "home", "BTC/USDT", fill_id, "o1", side, D(price), D(amount), D(fee), fee_ccy)


def _execution(side=Side.SELL, amount="3", cost="10", fee="0.01", fee_ccy="USDT", ts_ns=20):
    return Execution(
        ts_ns, "m-f1", "c1", "okx", "BTC/USDT", side, D(amount), D(cost), D(fee), fee_ccy, "x9"
    )


def _by_ref(postings):
    out = {}
    for p in postings:
        out.setdefault(p.ref, []).append(p)
    return out


def test_fill_posts_both_legs_and_the_fee_hand_computed():
    ledger = Ledger("USDT")
    ledger.open_balances("home", {"BTC": D("1"), "USDT": D("1000")}, 5)
    postings = ledger.post_fill(_fill())
    assert [(p.entry_id, p.account, p.asset, p.amount) for p in postings] == [
        ("f1:0", Account.WALLET, "BTC", D("0.5")),
        ("f1:1", Account.COUNTERPARTY, "BTC", D("-0.5")),
        ("f1:2", Account.WALLET, "USDT", D("-50.0")),
        ("f1:3", Account.COUNTERPARTY, "USDT", D("50.0")),
        ("f1:4", Account.WALLET, "USDT", D("-0.05")),
        ("f1:5", Account.FEES, "USDT", D("0.05")),
    ]
    assert {(p.kind, p.venue, p.ts_ns, p.ref) for p in postings} == {("fill", "home", 10, "f1")}
    assert ledger.balance("home", "BTC") == D("1.5")
    assert ledger.balance("home", "USDT") == D("949.95")
    assert ledger.positions() == {"BTC": D("0.5"), "USDT": D("-50.05")}
    assert ledger.balances() == {("home", "BTC"): D("1.5"), ("home", "USDT"): D("949.95")}


def test_opening_books_equity_once_per_venue_and_is_not_a_position():
    ledger = Ledger("USDT")
    first = ledger.open_balances("okx", {"USDT": D("600000"), "BTC": D("5"), "ETH": D(0)}, 1)
    assert [(p.account, p.asset, p.amount) for p in first] == [
        (Account.WALLET, "BTC", D(5)),
        (Account.EQUITY, "BTC", D(-5)),
        (Account.WALLET, "USDT", D(600000)),
        (Account.EQUITY, "USDT", D(-600000)),
    ]
    assert all(p.kind == "opening" for p in first)
    assert ledger.open_balances("okx", {"BTC": D("7")}, 2) == []
    assert ledger.balance("okx", "BTC") == D(5)
    assert ledger.position("BTC") == 0 and ledger.position("DOGE") == 0


def test_execution_books_its_exact_cost_and_zero_fees_are_skipped():
    ledger = Ledger("USDT")
    postings = ledger.post_execution(_execution(amount="3", cost="10", fee="0"))
    assert {(p.account, p.asset, p.amount) for p in postings} == {
        (Account.WALLET, "BTC", D(-3)),
        (Account.COUNTERPARTY, "BTC", D(3)),
        (Account.WALLET, "USDT", D(10)),
        (Account.COUNTERPARTY, "USDT", D(-10)),
    }
    assert all(p.kind == "hedge" and p.venue == "okx" for p in postings)
    assert ledger.balance("okx", "USDT") == D(10)  # not 3 * (10 / 3)


def test_fee_in_base_and_fee_without_currency():
    ledger = Ledger("USDT")
    ledger.post_fill(_fill(fee="0.0005", fee_ccy="BTC"))
    assert ledger.balance("home", "BTC") == D("0.4995")
    ledger.post_execution(_execution(side=Side.BUY, amount="1", cost="100", fee="0.1", fee_ccy=""))
    assert ledger.balance("okx", "USDT") == D("-100.1")  # unreported fee currency: quote


def test_every_event_is_idempotent():
    ledger = Ledger("USDT")
    assert ledger.post_fill(_fill())
    assert ledger.post_fill(_fill()) == []
    ex = _execution()
    assert ledger.post_execution(ex)
    assert ledger.post_execution(ex) == []
    assert ledger.post_executions([ex]) == []  # same identity as the first of a batch
    assert ledger.post_execution(ex, key="trade-1")
    assert ledger.post_execution(ex, key="trade-1") == []
    assert len(_by_ref(ledger.postings)) == 3


def test_identical_executions_of_one_order_count_twice_in_a_batch_once_on_redelivery():
    ledger = Ledger("USDT")
    batch = [_execution(), _execution(), _execution(amount="1", cost="4")]
    assert len(_by_ref(ledger.post_executions(batch))) == 3
    assert ledger.post_executions(batch) == []
    assert ledger.balance("okx", "BTC") == D(-7)


def test_bad_inputs_raise():
    ledger = Ledger("USDT")
    with pytest.raises(ValueError, match="amount"):
        ledger.post_fill(_fill(amount="-1"))
    with pytest.raises(ValueError, match="finite"):
        ledger.post_fill(_fill(price="NaN"))
    with pytest.raises(ValueError, match="symbol"):
        ledger.post_fill(replace(_fill(), market="BTCUSDT"))


def test_replay_rebuilds_state_and_keeps_idempotency():
    ledger = Ledger("USDT")
    ledger.open_balances("home", {"BTC": D(1), "USDT": D(1000)}, 1)
    ledger.post_fill(_fill())
    ledger.post_execution(_execution())
    # rows read back from storage carry plain strings for the account
    stored = [replace(p, account=p.account.value) for p in ledger.postings]
    again = Ledger.replay("USDT", stored)
    assert again.balances() == ledger.balances() and again.positions() == ledger.positions()
    assert again.postings == ledger.postings
    assert again.post_fill(_fill()) == [] and again.post_execution(_execution()) == []
    assert again.open_balances("home", {"BTC": D(9)}, 2) == []


def test_replay_refuses_an_unbalanced_entry():
    ledger = Ledger("USDT")
    postings = list(ledger.post_fill(_fill()))
    postings[0] = replace(postings[0], amount=D("0.6"))
    with pytest.raises(UnbalancedEntryError, match="f1"):
        Ledger.replay("USDT", postings)


# properties -------------------------------------------------------------------

VENUES = ["home", "binance", "okx"]
SYMBOLS = ["BTC/USDT", "ETH/USDT", "ETH/BTC"]
amounts = st.decimals(min_value=0, max_value=1000, places=8, allow_nan=False)
prices = st.decimals(min_value=D("0.00000001"), max_value=100000, places=8, allow_nan=False)
fees = st.decimals(min_value=-1, max_value=10, places=8, allow_nan=False)


@st.composite
def events(draw):
    out = []
    for i in range(draw(st.integers(0, 25))):
        venue, symbol = draw(st.sampled_from(VENUES)), draw(st.sampled_from(SYMBOLS))
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        fee_ccy = draw(st.sampled_from([*split_symbol(symbol), "BNB", ""]))
        amount, fee = draw(amounts), draw(fees)
        if draw(st.booleans()):
            price = draw(prices)
            out.append(Fill(i, venue, symbol, f"f{i}", f"o{i}", side, price, amount, fee, fee_ccy))
        else:
            cost = draw(amounts)
            cid = f"c{draw(st.integers(0, 3))}"  # several executions per child order
            out.append(Execution(i, "h", cid, venue, symbol, side, amount, cost, fee, fee_ccy))
    return out


def _expected_deltas(evts):
    """Reference model: what each event does to WALLET balances, event by event."""
    deltas = {}
    for e in evts:
        base, quote = split_symbol(e.market if isinstance(e, Fill) else e.symbol)
        cost = e.price * e.amount if isinstance(e, Fill) else e.cost
        sign = 1 if e.side is Side.BUY else -1
        for asset, delta in (
            (base, sign * e.amount),
            (quote, -sign * cost),
            (e.fee_currency or quote, -e.fee),
        ):
            deltas[(e.venue, asset)] = deltas.get((e.venue, asset), D(0)) + delta
    return deltas


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(VENUES),
        st.dictionaries(st.sampled_from(["BTC", "ETH", "USDT", "BNB"]), amounts, max_size=4),
    ),
    events(),
    st.data(),
)
def test_random_journal_balances_exactly_and_ignores_redeliveries(opening, evts, data):
    ledger = Ledger("USDT")
    for venue, balances in opening.items():
        ledger.open_balances(venue, balances, 0)
    for e in evts:
        ledger.post_fill(e) if isinstance(e, Fill) else ledger.post_execution(e)
    redelivered = data.draw(st.lists(st.sampled_from(evts), max_size=10)) if evts else []
    for e in redelivered:
        assert (ledger.post_fill(e) if isinstance(e, Fill) else ledger.post_execution(e)) == []
    for venue, balances in opening.items():
        assert ledger.open_balances(venue, balances, 1) == []

    for ref, entry in _by_ref(ledger.postings).items():
        per_asset = {}
        for p in entry:
            assert p.amount != 0 and p.entry_id.startswith(f"{ref}:")
            per_asset[p.asset] = per_asset.get(p.asset, D(0)) + p.amount
        assert all(total == 0 for total in per_asset.values()), ref
    assert len({p.entry_id for p in ledger.postings}) == len(ledger.postings)

    deltas = _expected_deltas(evts)
    keys = {(v, a) for v, bs in opening.items() for a in bs} | set(deltas)
    for venue, asset in keys:
        expected = opening.get(venue, {}).get(asset, D(0)) + deltas.get((venue, asset), D(0))
        assert ledger.balance(venue, asset) == expected
    for asset in {a for _, a in keys}:
        traded = sum((d for (_, a), d in deltas.items() if a == asset), D(0))
        assert ledger.position(asset) == traded

    again = Ledger.replay("USDT", ledger.postings)
    assert again.balances() == ledger.balances() and again.positions() == ledger.positions()
    for e in evts:
        assert (again.post_fill(e) if isinstance(e, Fill) else again.post_execution(e)) == []


def test_postings_are_read_only_snapshots():
    ledger = Ledger("USDT")
    ledger.post_fill(_fill())
    view = ledger.postings
    ledger.post_fill(_fill("f2"))
    assert len(view) == 6 and len(ledger.postings) == 12
    assert isinstance(view[0], Posting)


def test_executions_with_venue_trade_ids_are_told_apart_even_when_identical():
    from engine.ledger import Ledger as _Ledger
    from engine.types import Execution as _Execution
    from engine.types import Side as _Side

    def ex(trade_id: str) -> _Execution:
        return _Execution(
            1,
            "h",
            "c",
            "v",
            "BTC/USDT",
            _Side.BUY,
            Decimal("0.1"),
            Decimal("10"),
            Decimal("0.01"),
            "USDT",
            "o1",
            trade_id,
        )

    ledger = _Ledger("USDT")
    assert ledger.post_execution(ex("t1")) and ledger.post_execution(ex("t2"))
    assert ledger.post_execution(ex("t1")) == []  # the same venue trade again
    assert ledger.post_executions([ex("t1"), ex("t2")]) == []
    assert ledger.balance("v", "BTC") == Decimal("0.2")


def test_equity_change_marks_positions_at_mids_and_includes_fees():
    from engine.ledger import Ledger as _Ledger
    from engine.types import Fill as _Fill
    from engine.types import Side as _Side

    ledger = _Ledger("USDT")
    ledger.open_balances("home", {"BTC": Decimal("1"), "USDT": Decimal("1000")}, 0)
    ledger.post_fill(
        _Fill(
            1,
            "home",
            "BTC/USDT",
            "f1",
            "o1",
            _Side.BUY,
            Decimal("100"),
            Decimal("2"),
            Decimal("0.5"),
            "USDT",
        )
    )
    # +2 BTC marked at 110, -200 USDT paid, -0.5 fee; opening balances do not count
    assert ledger.equity_change({"BTC": 110.0}) == pytest.approx(2 * 110 - 200 - 0.5)
    assert ledger.equity_change({}) == pytest.approx(-200.5)  # unpriced asset left out


def test_amounts_wider_than_the_default_decimal_context_stay_exact_on_both_sides():
    # 31 significant digits: unary minus under Python's default context (28) would round
    amount, price = D("1234567890.123456789012345678901"), D("0.000000000000000000001")
    ledger = Ledger("USDT")
    for side, fill_id in ((Side.SELL, "s"), (Side.BUY, "b")):
        postings = ledger.post_fill(_fill(fill_id, side, str(price), str(amount), "0", "USDT"))
        base = [p.amount for p in postings if p.asset == "BTC"]
        assert sorted(base) == [amount.copy_negate(), amount]
    assert ledger.balance("home", "BTC") == 0
    assert ledger.balance("home", "USDT") == 0


def test_postings_are_frozen_hashable_and_equal_to_hand_built_ones():
    (first, *_) = Ledger("USDT").post_fill(_fill())
    assert first == Posting(10, "f1:0", "f1", "home", Account.WALLET, "BTC", D("0.5"), "fill")
    assert hash(first) == hash(replace(first))
    with pytest.raises(AttributeError):
        first.amount = D(1)  # type: ignore[misc]


def test_entry_rows_carry_every_posting_exactly_in_the_ledger_entries_columns():
    postings = Ledger("USDT").post_fill(_fill())
    rows = entry_rows(postings)
    assert set(rows[0]) == set(schema_for("ledger_entries").names) - {"run_id", "config_hash"}
    assert [(r["entry_id"], r["account"], r["amount"]) for r in rows] == [
        (p.entry_id, p.account.value, p.amount) for p in postings
    ]


def test_traded_counts_fills_and_hedges_not_opening_or_transfers_and_survives_replay():
    ledger = Ledger("USDT")
    ledger.open_balances("home", {"BTC": D(5), "USDT": D(1000)}, 1)
    ledger.post_fill(_fill("f1", Side.BUY, amount="0.5"))
    ledger.post_fill(_fill("f2", Side.SELL, amount="0.2"))
    ledger.post_transfer_out("t1", "home", "BTC", D("1"), D("0.001"), 3)
    ledger.post_execution(_execution(amount="3"))  # okx, not home
    assert ledger.traded("home", "BTC") == D("0.3")
    assert ledger.traded("okx", "BTC") == D(-3)
    again = Ledger.replay("USDT", ledger.postings)
    assert again.traded("home", "BTC") == D("0.3")
    assert again.postings == ledger.postings
