"""A hedge venue's balances as the router sees them, between two `fetch_balance` calls.

Refetching balances after every execution (weight 20 on Binance) overdraws a
venue's request budget once hedges come several a second; the executions say
exactly what moved, so the cached balances follow them and the periodic fetch
puts the venue's own figures back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from engine.types import Execution, Side, split_symbol


def after_executions(
    balances: Mapping[str, Decimal], executions: Iterable[Execution]
) -> dict[str, Decimal]:
    """`balances` moved by `executions`: base and quote by amount and cost, the fee in
    its currency."""
    out = dict(balances)
    for ex in executions:
        base, quote = split_symbol(ex.symbol)
        sign = 1 if ex.side is Side.BUY else -1
        out[base] = out.get(base, Decimal(0)) + sign * ex.amount
        out[quote] = out.get(quote, Decimal(0)) - sign * ex.cost
        if ex.fee:
            fee_asset = ex.fee_currency or quote
            out[fee_asset] = out.get(fee_asset, Decimal(0)) - ex.fee
    return out
