"""A hedge below the venue minimum is accumulated, not dropped (hummingbot#5688).

`CcxtVenue.execute` refuses the child before sending (`rejected`, with the
reason); `hedge_outcome` keeps that reason; the ledger books only what
executed, so the home fill stays in the position; and once small residuals
add up past the threshold, `residual_intents` hedges them together.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from engine.hedging import hedge_outcome, mirror_intent
from engine.ledger import Ledger
from engine.netting import exposures, residual_intents
from engine.types import ChildOrder, Fill, HedgeStatus, MarketSpec, Side
from engine.venues.ccxt_venue import CcxtVenue

MID = 65_000.0


def small_fill(i: int) -> Fill:
    return Fill(
        ts_ns=i,
        venue="home",
        market="BTC/USDT",
        fill_id=f"f{i}",
        order_id=f"o{i}",
        side=Side.BUY,  # a taker sold to us: we are long and must sell on a hedge venue
        price=Decimal("65000"),
        amount=Decimal("0.00006"),  # 3.9 USDT: below the venue's 5 USDT minimum notional
        fee=Decimal(0),
        fee_currency="USDT",
    )


def test_a_below_minimum_hedge_stays_in_the_exposure_until_the_residuals_add_up():
    venue = CcxtVenue("binance-x", "binance", ["BTC/USDT"])
    venue.specs["BTC/USDT"] = MarketSpec(
        "BTC/USDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal("5")
    )
    ledger = Ledger("USDT")
    sent: list[object] = []
    venue.client.create_order = lambda *a: sent.append(a)  # must never be reached

    for i in range(4):
        fill = small_fill(i)
        ledger.post_fill(fill)
        intent = mirror_intent(fill)
        child = ChildOrder(
            intent.hedge_id, f"{intent.hedge_id}-0", "binance-x", "BTC/USDT", intent.side,
            intent.amount, MID * 0.999,
        )  # fmt: skip
        result = asyncio.run(venue.execute(child))
        assert result.status == "rejected" and not result.executions
        assert "below venue minimum 5" in result.reason
        outcome = hedge_outcome(intent, [result], [])
        assert outcome.status is HedgeStatus.SKIPPED
        assert "binance-x: rejected: notional" in outcome.reason
        ledger.post_executions(outcome.executions)
    assert sent == []

    # nothing was hedged, nothing was dropped: the position holds all four fills
    assert ledger.position("BTC") == Decimal("0.00024")
    found = exposures(
        ledger.positions(),
        {},
        quote_asset="USDT",
        mids={"BTC": MID},
        threshold_quote=10,  # 10 USDT: the residuals (15.6 USDT) are over it together
        thresholds_base={},
    )
    [intent] = residual_intents(found, quote_asset="USDT", plan_id="p1")
    assert intent.side is Side.SELL and Decimal(str(intent.amount)) == Decimal("0.00024")
    child = ChildOrder("p1-BTC", "p1-BTC-0", "binance-x", "BTC/USDT", Side.SELL, intent.amount, MID)
    assert venue.prepare(child) == (Decimal("0.00024"), Decimal("65000.00"))  # tradable now
