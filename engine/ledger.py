"""The double-entry journal: every fill, hedge execution and fee, exactly.

Each business event becomes one *entry set* of postings that sums to zero per
asset (Pacioli's double entry: every debit has its credit). The bot's own
money sits in WALLET accounts per (venue, asset); what it owes or is owed by
whoever traded with it sits in COUNTERPARTY, fees paid in FEES, and the
balances it started with in EQUITY. Amounts are `Decimal` under a context that
raises on any inexact result, so balances reconcile with the venues to the unit.

Every entry set has a deterministic `ref` derived from what caused it, and
posting the same event twice is a no-op, so redelivered messages, retries and
a replay after a restart never double-count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Context, Decimal, Inexact, InvalidOperation
from enum import StrEnum
from typing import Any, Self

from engine.types import Execution, Fill, Side, split_symbol

# Wide enough for any balance a venue reports; anything that still rounds raises.
# Arithmetic goes through its methods (`_EXACT.add`), which is exact like
# `localcontext(_EXACT)` but without entering a context on every posting.
_EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])
_ZERO = Decimal(0)


class Account(StrEnum):
    WALLET = "wallet"
    COUNTERPARTY = "counterparty"
    FEES = "fees"
    EQUITY = "equity"
    TRANSIT = "transit"  # withdrawn from one venue, not yet credited on the other


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of the journal; `entry_id` is `f"{ref}:{n}"`, unique and deterministic."""

    ts_ns: int
    entry_id: str
    ref: str
    venue: str
    account: Account
    asset: str
    amount: Decimal
    kind: str


def _posting_factory() -> Any:
    """A constructor for `Posting` that skips the frozen dataclass `__init__`.

    A frozen `__init__` sets every field through `object.__setattr__` (≈3 µs a
    posting, six postings a fill); the slots' own descriptors do the same
    assignment in a third of the time. The result is an ordinary, still
    frozen `Posting`.
    """
    new = object.__new__
    (s_ts, s_id, s_ref, s_venue, s_account, s_asset, s_amount, s_kind) = (
        Posting.__dict__[name].__set__
        for name in ("ts_ns", "entry_id", "ref", "venue", "account", "asset", "amount", "kind")
    )

    def make(
        ts_ns: int,
        entry_id: str,
        ref: str,
        venue: str,
        account: Account,
        asset: str,
        amount: Decimal,
        kind: str,
    ) -> Posting:
        p = new(Posting)
        s_ts(p, ts_ns)
        s_id(p, entry_id)
        s_ref(p, ref)
        s_venue(p, venue)
        s_account(p, account)
        s_asset(p, asset)
        s_amount(p, amount)
        s_kind(p, kind)
        return p

    return make


_new_posting = _posting_factory()


def entry_rows(postings: Iterable[Posting]) -> list[dict[str, Any]]:
    """`ledger_entries` rows of `postings`: one row builder for the actor and the benchmarks."""
    return [
        {
            "ts": p.ts_ns,
            "entry_id": p.entry_id,
            "ref": p.ref,
            "venue": p.venue,
            "account": p.account._value_,  # `.value` is a property call, `_value_` a plain read
            "asset": p.asset,
            "amount": p.amount,
            "kind": p.kind,
        }
        for p in postings
    ]


class UnbalancedEntryError(AssertionError):
    """An entry set whose postings do not sum to zero per asset: a bug, never data."""


class Ledger:
    """Balances per (venue, asset) built only from postings, idempotent per event."""

    def __init__(self, quote_asset: str) -> None:
        self._quote_asset = quote_asset
        # postings as plain tuples (account by value): a tuple of str, int and
        # Decimal drops out of the garbage collector's tracking, a Posting never
        # does, and full collections over a growing journal stalled the hot path
        self._journal: list[_StoredPosting] = []
        self._refs: set[str] = set()
        self._wallet: dict[tuple[str, str], Decimal] = {}
        self._opening: dict[str, Decimal] = {}
        self._transit: dict[str, Decimal] = {}

    @property
    def quote_asset(self) -> str:
        return self._quote_asset

    @property
    def postings(self) -> Sequence[Posting]:
        make, accounts = _new_posting, _ACCOUNTS
        return tuple(
            make(ts, entry_id, ref, venue, accounts[account], asset, amount, kind)
            for ts, entry_id, ref, venue, account, asset, amount, kind in self._journal
        )

    # events ------------------------------------------------------------------

    def open_balances(
        self, venue: str, balances: Mapping[str, Decimal], ts_ns: int
    ) -> list[Posting]:
        """Book what `venue` holds at the start (WALLET +x, EQUITY -x); once per venue."""
        lines = []
        for asset in sorted(balances):
            amount = _decimal(balances[asset], f"balances[{asset!r}]")
            lines += [
                (Account.WALLET, asset, amount),
                (Account.EQUITY, asset, amount.copy_negate()),
            ]
        return self._post(f"open:{venue}", ts_ns, venue, "opening", lines)

    def post_fill(self, fill: Fill) -> list[Posting]:
        """Book a home-venue fill; a fill id already booked returns []."""
        base, quote = _split_symbol(fill.market)
        amount = _decimal(fill.amount, "fill.amount")
        cost = _EXACT.multiply(_decimal(fill.price, "fill.price"), amount)
        fee_asset = fill.fee_currency or quote
        lines = _trade_lines(fill.side, base, quote, amount, cost, fee_asset, fill.fee)
        return self._post(fill.fill_id, fill.ts_ns, fill.venue, "fill", lines)

    def post_execution(self, ex: Execution, *, key: str | None = None) -> list[Posting]:
        """Book a hedge execution at its exact `cost`; the same execution twice returns [].

        Identity: `key` if given, else the venue's trade id when the execution
        carries one (`venue:symbol:trade_id`); otherwise a digest of everything
        the execution says (venue, client and venue order ids, time, amount,
        cost, fee). Two executions of one order that agree in every field would
        then be one: post them together with `post_executions`, which tells
        them apart by their order in the batch.
        """
        if key is None:
            key = _trade_key(ex) or _content_key(ex, 0)
        return self._post_execution(ex, key)

    def post_executions(self, executions: Iterable[Execution]) -> list[Posting]:
        """Book a batch (e.g. one hedge outcome); redelivering the same batch is a no-op.

        The n-th execution identical to earlier ones in the batch gets occurrence n,
        so the first occurrence has the same identity as `post_execution(ex)`.
        """
        seen: dict[str, int] = {}
        postings: list[Posting] = []
        for ex in executions:
            trade_key = _trade_key(ex)
            if trade_key:
                postings += self._post_execution(ex, trade_key)
                continue
            base_key = _content_key(ex, 0)
            n = seen.get(base_key, 0)
            seen[base_key] = n + 1
            postings += self._post_execution(ex, _content_key(ex, n))
        return postings

    def post_transfer_out(
        self,
        transfer_id: str,
        venue: str,
        asset: str,
        amount: Decimal,
        fee: Decimal,
        ts_ns: int,
    ) -> list[Posting]:
        """A withdrawal left `venue`: the amount is in transit (still ours), the fee is spent."""
        amount = _decimal(amount, "transfer.amount")
        fee = _decimal(fee, "transfer.fee")
        if amount <= 0 or fee < 0:
            raise ValueError(f"transfer {transfer_id}: amount must be > 0 and fee >= 0")
        lines = [
            (Account.WALLET, asset, _EXACT.add(amount, fee).copy_negate()),
            (Account.TRANSIT, asset, amount),
            (Account.FEES, asset, fee),
        ]
        return self._post(f"xfer-out:{transfer_id}", ts_ns, venue, "transfer", lines)

    def post_transfer_in(
        self, transfer_id: str, venue: str, asset: str, amount: Decimal, ts_ns: int
    ) -> list[Posting]:
        """The deposit was credited on `venue`: transit back into a wallet."""
        amount = _decimal(amount, "transfer.amount")
        lines = [(Account.TRANSIT, asset, amount.copy_negate()), (Account.WALLET, asset, amount)]
        return self._post(f"xfer-in:{transfer_id}", ts_ns, venue, "transfer", lines)

    # queries -----------------------------------------------------------------

    def traded(self, venue: str, asset: str) -> Decimal:
        """What trading (not opening, not transfers) changed `asset` on `venue` by: the
        inventory a restarted market resumes from."""
        total = _ZERO
        for _, _, _, p_venue, account, p_asset, amount, kind in self._journal:
            if p_venue == venue and p_asset == asset and account == "wallet" and kind in _TRADES:
                total = _EXACT.add(total, amount)
        return total

    def in_transit(self) -> dict[str, Decimal]:
        """Per asset, what is between venues right now."""
        return {a: v for a, v in sorted(self._transit.items()) if v != 0}

    def balance(self, venue: str, asset: str) -> Decimal:
        """What the bot holds of `asset` on `venue` (WALLET)."""
        return self._wallet.get((venue, asset), Decimal(0))

    def balances(self) -> dict[tuple[str, str], Decimal]:
        return dict(sorted(self._wallet.items()))

    def position(self, asset: str) -> Decimal:
        """What trading changed: WALLET over all venues, plus what is in transit between
        them, minus what was opened with (a transfer moves funds, it changes no position)."""
        held = self._transit.get(asset, _ZERO)
        for (_, a), v in self._wallet.items():
            if a == asset:
                held = _EXACT.add(held, v)
        return _EXACT.subtract(held, self._opening.get(asset, _ZERO))

    def equity_change(self, mids: Mapping[str, float]) -> float:
        """What trading changed the wallets by, in the quote asset at `mids` (fees included).

        An asset without a mid is left out: it cannot be priced, and guessing is worse.
        """
        total = 0.0
        for asset, amount in self.positions().items():
            if asset == self.quote_asset:
                total += float(amount)
            elif asset in mids:
                total += float(amount) * mids[asset]
        return total

    def positions(self) -> dict[str, Decimal]:
        """`position` of every asset the ledger has seen, by asset."""
        assets = {a for _, a in self._wallet} | set(self._opening)
        return {a: self.position(a) for a in sorted(assets)}

    # durability --------------------------------------------------------------

    @classmethod
    def replay(cls, quote_asset: str, postings: Iterable[Posting]) -> Self:
        """Rebuild a ledger from its journal (e.g. read back from Parquet after a restart).

        Checks that every entry set still sums to zero per asset; events already
        in the journal stay idempotent, so redeliveries after the restart are no-ops.
        """
        ledger = cls(quote_asset)
        by_ref: dict[str, list[Posting]] = {}
        for p in postings:
            by_ref.setdefault(p.ref, []).append(p)
        for ref, raw in by_ref.items():
            entry = [  # rows read back from storage may carry plain strings
                replace(p, account=Account(p.account), amount=_decimal(p.amount, "amount"))
                for p in raw
            ]
            _check_balanced(ref, [(p.account, p.asset, p.amount) for p in entry])
            ledger._apply(ref, entry)
        return ledger

    # internals ---------------------------------------------------------------

    def _post_execution(self, ex: Execution, identity: str) -> list[Posting]:
        base, quote = _split_symbol(ex.symbol)
        amount = _decimal(ex.amount, "execution.amount")
        cost = _decimal(ex.cost, "execution.cost")
        fee_asset = ex.fee_currency or quote
        lines = _trade_lines(ex.side, base, quote, amount, cost, fee_asset, ex.fee)
        ref = f"{ex.hedge_id}:{ex.venue}:{ex.client_order_id}:{identity}"  # starts with hedge id
        return self._post(ref, ex.ts_ns, ex.venue, "hedge", lines)

    def _post(
        self,
        ref: str,
        ts_ns: int,
        venue: str,
        kind: str,
        lines: Sequence[tuple[Account, str, Decimal]],
    ) -> list[Posting]:
        if ref in self._refs:
            return []
        lines = [line for line in lines if line[2]]
        _check_balanced(ref, lines)
        make = _new_posting
        entry = [
            make(ts_ns, f"{ref}:{n}", ref, venue, account, asset, amount, kind)
            for n, (account, asset, amount) in enumerate(lines)
        ]
        self._apply(ref, entry)
        return entry

    def _apply(self, ref: str, entry: Sequence[Posting]) -> None:
        self._refs.add(ref)
        self._journal += [
            (p.ts_ns, p.entry_id, p.ref, p.venue, p.account._value_, p.asset, p.amount, p.kind)
            for p in entry
        ]
        add = _EXACT.add
        wallet, opening, transit = self._wallet, self._opening, self._transit
        for p in entry:
            account = p.account
            if account is _WALLET:
                key = (p.venue, p.asset)
                wallet[key] = add(wallet.get(key, _ZERO), p.amount)
            elif account is _EQUITY:
                opening[p.asset] = _EXACT.subtract(opening.get(p.asset, _ZERO), p.amount)
            elif account is _TRANSIT:
                transit[p.asset] = add(transit.get(p.asset, _ZERO), p.amount)


# Enum members read on every posting: a class attribute look-up on an Enum costs
# a descriptor call, a module global does not.
_WALLET, _COUNTERPARTY, _FEES, _EQUITY, _TRANSIT = (
    Account.WALLET,
    Account.COUNTERPARTY,
    Account.FEES,
    Account.EQUITY,
    Account.TRANSIT,
)
_ACCOUNTS = {a.value: a for a in Account}
_TRADES = frozenset({"fill", "hedge"})
_StoredPosting = tuple[int, str, str, str, str, str, Decimal, str]
_BUY = Side.BUY
_SELL = Side.SELL


def _trade_lines(
    side: Side,
    base: str,
    quote: str,
    amount: Decimal,
    cost: Decimal,
    fee_asset: str,
    fee: Decimal,
) -> list[tuple[Account, str, Decimal]]:
    """A trade moves base one way and quote the other; the counterparty takes the mirror.

    A fee with no currency reported is booked in the quote asset.
    """
    if amount < 0 or cost < 0:
        raise ValueError(f"a trade needs amount >= 0 and cost >= 0, got {amount} and {cost}")
    buy = side is _BUY or (side is not _SELL and Side(side) is _BUY)
    # copy_negate is exact whatever the precision; unary minus rounds to the context's
    neg_amount, neg_cost = amount.copy_negate(), cost.copy_negate()
    fee_amount = _decimal(fee, "fee")
    return [
        (_WALLET, base, amount if buy else neg_amount),
        (_COUNTERPARTY, base, neg_amount if buy else amount),
        (_WALLET, quote, neg_cost if buy else cost),
        (_COUNTERPARTY, quote, cost if buy else neg_cost),
        (_WALLET, fee_asset, fee_amount.copy_negate()),
        (_FEES, fee_asset, fee_amount),
    ]


def _check_balanced(ref: str, lines: Iterable[tuple[Account, str, Decimal]]) -> None:
    totals: dict[str, Decimal] = {}
    add = _EXACT.add
    for _, asset, amount in lines:
        totals[asset] = add(totals.get(asset, _ZERO), amount)
    if any(totals.values()):
        off = {a: t for a, t in totals.items() if t}
        raise UnbalancedEntryError(f"entry {ref} does not sum to zero: {off}")


_SYMBOLS: dict[str, tuple[str, str]] = {}


def _split_symbol(symbol: str) -> tuple[str, str]:
    """`split_symbol`, remembered: a ledger sees the same few markets on every fill."""
    parts = _SYMBOLS.get(symbol)
    if parts is None:
        parts = _SYMBOLS[symbol] = split_symbol(symbol)
    return parts


def _decimal(value: object, name: str) -> Decimal:
    """Exact Decimal of a ledger input; floats go through their shortest repr."""
    if type(value) is Decimal and value.is_finite():  # the hot path: already exact
        return value
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, float):
        out = Decimal(repr(value))
    elif isinstance(value, int | str):
        out = Decimal(value)
    else:
        raise ValueError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not out.is_finite():
        raise ValueError(f"{name} must be finite, got {out}")
    return out


def _trade_key(ex: Execution) -> str:
    return f"{ex.venue}:{ex.symbol}:{ex.trade_id}" if ex.trade_id else ""


def _content_key(ex: Execution, occurrence: int) -> str:
    fields = (
        ex.venue,
        ex.client_order_id,
        ex.order_id,
        ex.ts_ns,
        ex.side.value,
        ex.amount,
        ex.cost,
        ex.fee,
        ex.fee_currency,
        occurrence,
    )
    return hashlib.sha1(repr(fields).encode()).hexdigest()[:16]
