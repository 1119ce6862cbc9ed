"""A hedge venue's balances as the router sees them, between the venue's own figures.

Refetching balances after every execution (weight 20 on Binance) overdraws a
venue's request budget once hedges come several a second; the executions say
exactly what moved, so the cached balances follow them. The venue's own
figures come from its account stream (Binance `outboundAccountPosition`:
absolute free and locked per asset, pushed on every order event) or, while
that is down, from a paced `fetch_balance`.

A push and the answer to our own order race: the push may already hold an
execution we apply on its return, or hold only an earlier one. `AccountBook`
keeps the executions no push has vouched for yet (venue time after the last
push's event time) and lays them over each push, so neither order of arrival
counts an execution twice or drops it. Executions stamped in the same
millisecond as a push are taken as included in it; the next push of the
asset puts the venue's figure back if that guess was wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from engine.config import VenueConfig
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


class AccountBook:
    """Total per asset: the venue's last figures plus our executions they do not hold yet."""

    def __init__(self, balances: Mapping[str, Decimal] | None = None) -> None:
        self.balances: dict[str, Decimal] = dict(balances or {})
        self._pending: list[Execution] = []  # applied, no push vouches for them yet
        self._pushed_ns = 0  # event time of the newest push taken

    def __repr__(self) -> str:
        return f"AccountBook(assets={len(self.balances)}, pending={len(self._pending)})"

    def on_executions(self, executions: Iterable[Execution]) -> None:
        """Our own executions, as the order's answer reports them."""
        fresh = [ex for ex in executions if ex.ts_ns > self._pushed_ns]
        self.balances = after_executions(self.balances, fresh)
        self._pending.extend(fresh)

    def on_push(self, totals: Mapping[str, Decimal], event_ns: int) -> None:
        """The venue's totals of some assets as of `event_ns` (in order on one connection)."""
        if event_ns < self._pushed_ns:  # an older event than one taken: nothing new
            return
        self._pushed_ns = event_ns
        self._pending = [ex for ex in self._pending if ex.ts_ns > event_ns]
        unvouched = after_executions({}, self._pending)
        for asset, total in totals.items():
            self.balances[asset] = total + unvouched.get(asset, Decimal(0))

    def reset(self, balances: Mapping[str, Decimal]) -> None:
        """The venue's full figures read over REST: they hold every execution so far."""
        self.balances = dict(balances)
        self._pending.clear()


class BalanceReads:
    """When a hedge venue rereads its balances over REST (`fetch_balance`, weight 20).

    Every `balance_refresh_s` while nothing pushes them; while the account stream
    does, once per new subscription (`epoch`: what was pushed while it was down is
    missed) and otherwise only every `balance_reconcile_s`, to put the venue's full
    figures back. `now_s` is a monotonic clock, passed in.
    """

    def __init__(self, now_s: float) -> None:
        self._last_s = now_s
        self._read_epoch = 0  # the subscription the last read followed

    def due(self, now_s: float, venue: VenueConfig, *, pushed: bool, epoch: int) -> bool:
        """Whether to read now (a True counts as the read)."""
        every_s = venue.balance_reconcile_s if pushed else venue.balance_refresh_s
        due = now_s - self._last_s >= every_s
        if pushed and epoch != self._read_epoch:
            due, self._read_epoch = True, epoch
        if due:
            self._last_s = now_s
        return due
