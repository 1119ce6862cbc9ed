from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from engine.config import VenueConfig
from engine.types import Execution, Side
from engine.venues.balance_cache import AccountBook, BalanceReads, after_executions

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


# --- AccountBook: pushes and our own answers in any order ------------------------------


def _exec_at(ms: int, side: Side, amount: str, price: str) -> Execution:
    cost = D(amount) * D(price)
    fee = (cost * D("0.001")).quantize(D("0.00000001"))
    return Execution(
        ms * 1_000_000, "h", f"c{ms}", "v", "BTC/USDT", side, D(amount), cost, fee, "USDT"
    )


START = {"BTC": D("2"), "USDT": D("100000")}


def test_a_push_that_already_holds_an_execution_is_not_moved_by_it_again():
    ex = _exec_at(10, Side.BUY, "0.1", "65000")
    truth = after_executions(START, [ex])
    book = AccountBook(START)
    book.on_push(truth, event_ns=ex.ts_ns)  # the venue's push beats the order's answer
    book.on_executions([ex])
    assert book.balances == truth


def test_an_older_push_keeps_a_newer_execution_on_top():
    first, second = _exec_at(10, Side.BUY, "0.1", "65000"), _exec_at(20, Side.SELL, "0.3", "65010")
    book = AccountBook(START)
    book.on_executions([first, second])  # both answers back before any push
    book.on_push(after_executions(START, [first]), event_ns=first.ts_ns)
    assert book.balances == after_executions(START, [first, second])
    book.on_push(after_executions(START, [first, second]), event_ns=second.ts_ns)
    assert book.balances == after_executions(START, [first, second])


def test_a_rest_read_replaces_everything():
    book = AccountBook(START)
    book.on_executions([_exec_at(10, Side.BUY, "0.1", "65000")])
    book.reset({"BTC": D("5")})
    assert book.balances == {"BTC": D("5")}


@st.composite
def _arrivals(draw: st.DrawFn) -> tuple[list[Execution], list[tuple[str, int]]]:
    """Executions at distinct venue milliseconds, and an arrival order of their answers
    (any order) and their pushes (in venue order, one connection) interleaved."""
    n = draw(st.integers(1, 8))
    stamps = sorted(draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True)))
    execs = [
        _exec_at(
            ms,
            draw(st.sampled_from([Side.BUY, Side.SELL])),
            str(draw(st.decimals("0.00000001", "0.5", places=8))),
            str(draw(st.decimals("60000", "70000", places=2))),
        )
        for ms in stamps
    ]
    answers = draw(st.permutations(range(n)))
    pushes = list(range(n))
    events: list[tuple[str, int]] = []
    while answers or pushes:
        take_answer = bool(answers) and (not pushes or draw(st.booleans()))
        events.append(("answer", answers.pop(0)) if take_answer else ("push", pushes.pop(0)))
    return execs, events


@given(_arrivals())
def test_balances_hold_exactly_what_either_path_reported(case):
    execs, events = case
    book = AccountBook(START)
    answered: set[int] = set()
    pushed_upto = -1
    for kind, i in events:
        if kind == "answer":
            book.on_executions([execs[i]])
            answered.add(i)
        else:
            venue_now = after_executions(START, execs[: i + 1])  # the venue's figures
            book.on_push({a: venue_now[a] for a in ("BTC", "USDT")}, execs[i].ts_ns)
            pushed_upto = i
        known = sorted(answered | set(range(pushed_upto + 1)))
        assert book.balances == after_executions(START, [execs[k] for k in known])


def test_balances_are_read_every_refresh_without_a_stream_and_rarely_with_one():
    venue = VenueConfig(
        id="binance-sim", kind="ccxt", exchange="binance", balance_refresh_s=2.0,
        balance_reconcile_s=60.0,
    )  # fmt: skip
    reads = BalanceReads(now_s=0.0)
    polled = [t for t in range(1, 9) if reads.due(float(t), venue, pushed=False, epoch=0)]
    assert polled == [2, 4, 6, 8]
    # the stream subscribes (epoch 1): read once for what it missed, then every 60 s
    assert reads.due(9.0, venue, pushed=True, epoch=1)
    assert not any(reads.due(float(t), venue, pushed=True, epoch=1) for t in range(10, 69))
    assert reads.due(69.0, venue, pushed=True, epoch=1)
    assert reads.due(70.0, venue, pushed=True, epoch=2)  # a reconnect: read again at once
    assert not reads.due(71.0, venue, pushed=False, epoch=2)  # down: back to every 2 s
    assert reads.due(72.0, venue, pushed=False, epoch=2)
