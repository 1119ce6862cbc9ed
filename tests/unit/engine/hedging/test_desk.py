"""The hedging desk: fills and intents in, hedges out (engine/hedging/desk.py)."""

from decimal import Decimal

from engine.config import HedgeMode, load_config
from engine.hedging import DeskHedge, HedgingDesk, mirror_hedge_id
from engine.hedging.modes import with_hedge_mode
from engine.types import Fill, HedgeIntent, Side
from tests.conftest import LOCAL_CONFIG

S = 10**9
CFG = with_hedge_mode(load_config(LOCAL_CONFIG), HedgeMode.MIRROR)  # the default flagship nets


def _fill(fill_id, side, amount, ts_s=0, market="BTC/USDT"):
    return Fill(ts_s * S, "home", market, fill_id, "o", side, Decimal(100), Decimal(amount),
                Decimal(0), "USDT")  # fmt: skip


def _mid(price):
    return lambda _symbol: price


def _hybrid_desk(threshold=1_000.0, age_s=2.0):
    cfg = with_hedge_mode(CFG, HedgeMode.HYBRID, threshold_quote=threshold, max_age_s=age_s)
    return HedgingDesk(cfg)


def test_mirror_hedges_each_fill_once_in_arrival_order_and_pends_it_in_the_ledger():
    desk = HedgingDesk(with_hedge_mode(CFG, HedgeMode.MIRROR))
    fills = [_fill("f1", Side.BUY, "0.1"), _fill("f2", Side.SELL, "0.2", market="ETH/USDT")]
    hedges = desk.on_fills(fills, 0, _mid(None))
    assert [(h.intent.hedge_id, h.intent.side, h.send_amount) for h in hedges] == [
        ("m-f1", Side.SELL, 0.1),
        ("m-f2", Side.BUY, 0.2),
    ]
    assert all(h.pended and not h.cut_to_ledger_gap and not h.is_cut for h in hedges)
    assert desk.on_fills(fills, 1, _mid(None)) == []  # a redelivered batch


def test_a_fill_decided_before_a_restart_is_never_hedged_again():
    desk = HedgingDesk(CFG, known_hedges={mirror_hedge_id("f1")})
    hedges = desk.on_fills([_fill("f1", Side.BUY, "1"), _fill("f2", Side.BUY, "1")], 0, _mid(1.0))
    assert [h.intent.source_fill_id for h in hedges] == ["f2"]


def test_net_mode_leaves_fills_to_the_rebalancer():
    desk = HedgingDesk(with_hedge_mode(CFG, HedgeMode.NET))
    assert desk.on_fills([_fill("f1", Side.BUY, "5")], 0, _mid(100.0)) == []
    assert desk.on_timer(60 * S, _mid(100.0)) == [] and desk.waiting_fills == 0


def test_hybrid_holds_fills_until_the_net_is_big_enough_then_hedges_the_net_once():
    desk = _hybrid_desk(threshold=1_000.0)
    held = desk.on_fills([_fill("f1", Side.BUY, "8"), _fill("f2", Side.SELL, "3")], 0, _mid(100.0))
    assert held == [] and desk.waiting_fills == 2  # net 5 x 100 = 500 quote
    (hedge,) = desk.on_fills([_fill("f3", Side.BUY, "6")], 1, _mid(100.0))  # net 11: 1,100
    assert hedge.cut_to_ledger_gap and not hedge.pended
    assert (hedge.intent.side, hedge.intent.amount) == (Side.SELL, 11.0)
    assert hedge.intent.source_fill_id == "f1" and "threshold 1000" in hedge.intent.reason
    assert desk.waiting_fills == 0


def test_hybrid_age_fires_on_the_timer_and_a_flat_net_is_never_hedged():
    desk = _hybrid_desk(threshold=1e9, age_s=2.0)
    desk.on_fills([_fill("f1", Side.BUY, "1", ts_s=10)], 10 * S, _mid(100.0))
    assert desk.on_timer(11 * S, _mid(100.0)) == []
    (hedge,) = desk.on_timer(12 * S, _mid(100.0))
    assert "max age 2s" in hedge.intent.reason
    desk.on_fills(
        [_fill("f2", Side.BUY, "1", 20), _fill("f3", Side.SELL, "1", 20)], 20 * S, _mid(1)
    )
    assert desk.on_timer(99 * S, _mid(100.0)) == []  # nets to zero: nothing to hedge


def test_fills_held_when_the_mode_changes_are_hedged_at_the_next_tick_and_at_drain():
    desk = _hybrid_desk(threshold=1e9)
    desk.on_fills([_fill("f1", Side.SELL, "2")], 0, _mid(100.0))
    desk.on_config(with_hedge_mode(CFG, HedgeMode.MIRROR))
    (hedge,) = desk.on_timer(1, _mid(100.0))
    assert hedge.intent.reason == "hybrid: mode is now mirror" and hedge.intent.side is Side.BUY
    desk = _hybrid_desk(threshold=1e9)
    desk.on_fills([_fill("f1", Side.SELL, "2"), _fill("f9", Side.BUY, "1", market="ETH/USDT")],
                  0, _mid(100.0))  # fmt: skip
    drained = desk.drain()
    assert [(h.intent.symbol, h.intent.reason) for h in drained] == [
        ("BTC/USDT", "hybrid: drain at stop"),
        ("ETH/USDT", "hybrid: drain at stop"),
    ]
    assert desk.waiting_fills == 0


def test_a_hybrid_hedge_is_cut_to_the_gap_the_ledger_and_hedges_in_flight_leave():
    desk = _hybrid_desk(threshold=0.0)
    (hedge,) = desk.on_fills([_fill("f1", Side.BUY, "2")], 0, _mid(100.0))
    # the ledger sees 2 long, but a hedge selling 1.5 is already in flight here
    in_flight = HedgeIntent("rb-1-BTC", "BTC/USDT", Side.SELL, 1.5)
    desk.started(in_flight, pended=False)
    cut = desk.cut_to_gap(hedge, Decimal(2))
    assert cut.send_amount == 0.5 and cut.not_needed == 1.5
    assert cut.to_send.amount == 0.5 and cut.intent.amount == 2.0
    assert cut.why_not_needed == "open gap 0.5 covers only 0.5"
    desk.booked(in_flight, pended=False)
    assert desk.cut_to_gap(hedge, Decimal(2)) == DeskHedge.whole(hedge.intent)
    assert desk.cut_to_gap(hedge, Decimal(-1)).send_amount == 0.0  # short: selling adds risk


def test_rebalance_intents_are_cut_by_hedges_in_flight_and_a_known_one_is_not_sent():
    desk = HedgingDesk(CFG, known_hedges={"rb-0-ETH"})
    desk.started(HedgeIntent("h-x", "BTC/USDT", Side.SELL, 0.4), pended=False)
    desk.started(HedgeIntent("m-f7", "BTC/USDT", Side.SELL, 9.0), pended=True)  # in the ledger
    btc, eth, sol = desk.on_intents(
        [
            HedgeIntent("rb-1-BTC", "BTC/USDT", Side.SELL, 1.0),
            HedgeIntent("rb-0-ETH", "ETH/USDT", Side.BUY, 3.0),
            HedgeIntent("rb-1-SOL", "SOL/USDT", Side.BUY, 3.0),
        ]
    )
    assert btc.send_amount == 0.6 and btc.why_not_needed.startswith("in-flight hedges")
    assert eth.send_amount == 0.0 and eth.why_not_needed == "decided before a router restart"
    assert sol == DeskHedge.whole(sol.intent)
