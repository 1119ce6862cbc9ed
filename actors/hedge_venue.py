"""HedgeVenueActor: the only holder of one external venue's API key.

Keeps the venue's L2 books and balances fresh for the router and executes
child orders. Books come over one websocket for all symbols
(`market_data: stream`, `engine.venues.streams.BookStream`, the default for
ccxt venues) or from REST polling (`poll`). While a stream is down the actor
polls REST, paced by the weight budget, and says so in its snapshot
(`market_data: "poll (stream down)"`, the stream's status and counters).
A streaming venue with a key also takes its balances from the user data
stream (`engine.venues.account_stream`): REST reads them once per
subscription and every `balance_reconcile_s`, instead of every
`balance_refresh_s`, which is left for the times that stream is down.
Health is what the router reads to exclude a venue, so a failing poll marks
it unhealthy at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from decimal import Decimal
from typing import Any

import ray
from pydantic import SecretStr

from actors.context import RestartGate, live_config
from engine.config import VenueConfig, VenueKind
from engine.log_redaction import guard_logs
from engine.types import BookSnapshot, ChildOrder, ChildOrderResult
from engine.venues import wallet
from engine.venues.account_stream import AccountStream
from engine.venues.balance_cache import AccountBook, BalanceReads
from engine.venues.ccxt_venue import CcxtVenue, Lookup
from engine.venues.errors import VenueError
from engine.venues.paper import PaperVenue
from engine.venues.rate_limit import books_due
from engine.venues.snapshot import VenueSnapshot
from engine.venues.stream_view import BookChanges
from engine.venues.streams import BookStream, pro_client

log = logging.getLogger(__name__)

# books may use this much of the venue's weight budget; balances and hedge orders keep
# the rest (engine.venues.rate_limit.books_due)
BOOK_BUDGET_SHARE = 0.7
STREAM_START_S = 5.0  # a book stream not up this long after start: REST books instead


def build_hedge_venue(
    venue: VenueConfig,
    symbols: list[str],
    *,
    base_url: str | None = None,
    api_key: SecretStr | None = None,
    api_secret: SecretStr | None = None,
) -> CcxtVenue | PaperVenue:
    """The venue edge for `venue.mode`: live orders, or paper orders on the live books.

    A paper venue is given no key at all: it only reads public market data.
    """
    paper = venue.mode == "paper"
    key = None if paper else (api_key or venue.api_key)
    secret = None if paper else (api_secret or venue.api_secret)
    live = CcxtVenue(
        venue.id,
        venue.exchange or "binance",
        symbols,
        api_key=key.get_secret_value() if key else None,
        api_secret=secret.get_secret_value() if secret else None,
        base_url=venue.base_url(base_url),
        timeout_s=venue.timeout_s,
    )
    if not paper:
        return live
    return PaperVenue(live, taker_fee=venue.taker_fee, balances=dict(venue.balances))


def build_book_stream(
    venue: VenueConfig, symbols: list[str], *, base_url: str | None = None
) -> BookStream | None:
    """The venue's book stream when it streams (`market_data`), else None. Books are
    public: the stream's client holds no key."""
    if not venue.streams or venue.kind is not VenueKind.CCXT:
        return None
    url = venue.base_url(base_url)
    exchange = venue.exchange or "binance"
    return BookStream(
        venue.id,
        lambda: pro_client(exchange, url, timeout_s=venue.timeout_s),
        symbols,
        venue.book_depth,
        stale_after_s=venue.stream_stale_after_s,
        touch=venue.touch_stream,
    )


def build_account_stream(
    venue: VenueConfig,
    book: AccountBook,
    *,
    base_url: str | None = None,
    api_key: SecretStr | None = None,
    api_secret: SecretStr | None = None,
) -> AccountStream | None:
    """The venue account's balance stream when the venue streams, trades live with a key,
    and its ccxt.pro client watches balances; else None (balances over REST)."""
    key, secret = api_key or venue.api_key, api_secret or venue.api_secret
    if not venue.streams or venue.kind is not VenueKind.CCXT or venue.mode == "paper":
        return None
    if key is None or secret is None:
        return None
    url = venue.base_url(base_url)
    exchange = venue.exchange or "binance"

    def make_client() -> Any:
        return pro_client(
            exchange,
            url,
            api_key=key.get_secret_value(),
            api_secret=secret.get_secret_value(),
            timeout_s=venue.timeout_s,
        )

    if not make_client().has.get("watchBalance"):
        return None
    return AccountStream(venue.id, make_client, book.on_push)


@ray.remote
class HedgeVenueActor:
    def __init__(
        self,
        venue: VenueConfig,
        symbols: list[str],
        *,
        base_url: str | None = None,
        api_key: SecretStr | None = None,
        api_secret: SecretStr | None = None,
    ) -> None:
        guard_logs((api_key, api_secret, venue.api_key, venue.api_secret))
        self._cfg = venue
        self._symbols = symbols
        self._venue = build_hedge_venue(
            venue, symbols, base_url=base_url, api_key=api_key, api_secret=api_secret
        )
        self._stream = build_book_stream(venue, symbols, base_url=base_url)
        self._stream_task: asyncio.Task[None] | None = None
        self._books: dict[str, BookSnapshot] = {}
        self._fetched_at: dict[str, float] = {}  # symbol -> monotonic time of its last book
        self._account = AccountBook()
        self._account_stream = build_account_stream(
            venue, self._account, base_url=base_url, api_key=api_key, api_secret=api_secret
        )
        self._account_task: asyncio.Task[None] | None = None
        self._healthy = False
        self._reason = "not started"
        self._task: asyncio.Task[None] | None = None
        # after a crash Ray re-runs __init__ (max_restarts) but nobody calls on_start: the
        # first call this incarnation gets starts it. A call in flight at the crash is
        # retried (max_task_retries): its child orders go out under the same client ids,
        # and the venue's duplicate-id answer makes CcxtVenue look them up, never resend
        self._gate = RestartGate()

    async def _ensure_started(self) -> None:
        await self._gate.ensure(self._resume_after_crash)

    async def _resume_after_crash(self) -> None:
        await self.on_start()
        live = await live_config(None)
        if live is not None:  # markets added by `scale` since this actor was built
            listed = list(dict.fromkeys(self._symbols + [m.symbol for m in live.markets]))
            await self._venue.set_symbols(listed)
            self._symbols = listed
        log.warning("%s: hedge venue actor restarted", self._cfg.id)

    async def on_start(self) -> dict[str, Any]:
        """Fail fast: markets, symbols and balances must all answer before the run starts."""
        specs = await self._venue.start()
        self._account.reset(await self._venue.fetch_balances())
        markets = self._loaded_markets()
        if self._account_stream is not None:
            if markets is not None:
                self._account_stream.use_markets(*markets)
            self._account_task = asyncio.create_task(self._account_stream.run())
        if self._stream is None:
            await self._poll_books()
        else:
            if markets is not None:
                self._stream.use_markets(*markets)
            self._stream_task = asyncio.create_task(self._stream.run())
            await self._first_stream_books()
        self._task = asyncio.create_task(self._run())
        return {"venue": self._cfg.id, "specs": specs, "healthy": self._healthy}

    def _loaded_markets(self) -> tuple[Any, Any] | None:
        """The REST client's markets and currencies, for the stream clients to reuse
        (each would otherwise load them again: weight 20 on Binance)."""
        client = getattr(self._venue, "client", None) or getattr(
            getattr(self._venue, "live", None), "client", None
        )
        if client is None or not getattr(client, "markets", None):
            return None
        return client.markets, client.currencies

    async def _first_stream_books(self) -> None:
        """Wait for the stream's books (its snapshots are the REST reads); a stream not up
        within `STREAM_START_S` leaves the start to one REST poll, as without streams."""
        stream = self._stream
        assert stream is not None
        deadline = time.monotonic() + STREAM_START_S
        while time.monotonic() < deadline:
            if stream.up and len(stream.books) >= len(self._symbols):
                self._healthy, self._reason = True, ""
                return
            await asyncio.sleep(0.05)
        log.warning("%s: book stream not up after %.0fs: REST books", self._cfg.id, STREAM_START_S)
        await self._poll_books()

    async def process_info(self) -> dict[str, Any]:
        """This incarnation's worker pid: what a fault test kills."""
        return {"pid": os.getpid(), "node_id": ray.get_runtime_context().get_node_id()}

    async def on_config(self, venue: VenueConfig) -> None:
        """Fees and polling change live; the client and its key stay as they are."""
        self._cfg = venue

    async def on_symbols(self, symbols: list[str]) -> dict[str, Any]:
        """Markets added or removed on a running graph (`marketmesh scale`): poll these
        books from now on; the new ones are fetched before this returns."""
        await self._ensure_started()
        specs = await self._venue.set_symbols(symbols)
        self._symbols = list(symbols)
        for gone in set(self._books) - set(symbols):
            del self._books[gone]
        if self._stream is not None:
            self._stream.set_symbols(list(symbols))
        await self._poll_books()
        return {"venue": self._cfg.id, "specs": specs, "healthy": self._healthy}

    async def on_stop(self) -> None:
        for task in (self._task, self._stream_task, self._account_task):
            if task is not None:
                task.cancel()
        if self._stream is not None:
            await self._stream.close()
        if self._account_stream is not None:
            await self._account_stream.close()
        await self._venue.close()

    async def books_of(
        self, symbols: list[str], max_age_ns: int | None = None, wait_s: float = 0.0
    ) -> dict[str, BookSnapshot]:
        """The freshest book of each of `symbols`: what the router asks again for one
        hedge, without the whole snapshot (at 50 symbols a snapshot is ~5,000 levels).
        With `max_age_ns`, a streamed book older than that is waited for, up to `wait_s`,
        until the stream brings it (`BookStream.fresh_by`): one call, not one a retry."""
        await self._ensure_started()
        stream = self._stream
        if max_age_ns is not None and wait_s > 0 and stream is not None and stream.up:
            await asyncio.gather(*(stream.fresh_by(s, max_age_ns, wait_s) for s in symbols))
        return {s: b for s in symbols if (b := self._freshest(s)) is not None}

    async def books_since(
        self, epoch: int | None, version: int, wait_s: float = 0.0
    ) -> BookChanges | None:
        """The streamed books that changed since the router's last look (`version` of
        the stream `epoch`), each the freshest this venue has; None without a stream.
        With `wait_s`, an answer that would carry nothing new waits up to that long for
        the stream's next change (`BookStream.changed_after`; 0: answers at once)."""
        await self._ensure_started()
        if self._stream is None:
            return None
        changes = await self._stream.changed_after(epoch, version, wait_s)
        # a polled book newer than the streamed one wins, as in `snapshot`
        books = {s: self._freshest(s) or b for s, b in changes.books.items()}
        return dataclasses.replace(changes, books=books)

    def _freshest(self, symbol: str) -> BookSnapshot | None:
        """The newer of the streamed and the polled book of `symbol`."""
        polled = self._books.get(symbol)
        streamed = self._stream.fresh_book(symbol) if self._stream is not None else None
        if streamed is None or (polled is not None and polled.ts_ns > streamed.ts_ns):
            return polled
        return streamed

    async def snapshot(self) -> VenueSnapshot:
        await self._ensure_started()
        books = dict(self._books)
        stream = self._stream
        if stream is not None:  # the newer of the streamed and the polled book
            for symbol in stream.books:
                book = self._freshest(symbol)
                if book is not None:
                    books[symbol] = book
        budget = getattr(self._venue, "budget", None)  # ccxt venues draw on a WeightBudget
        return VenueSnapshot(
            venue=self._cfg.id,
            healthy=self._healthy or (stream is not None and stream.up),
            reason=self._reason,
            books=books,
            balances=dict(self._account.balances),
            taker_fee=self._cfg.taker_fee,
            specs=self._venue.specs,
            market_data=self._market_data(),
            stream=stream.status() if stream is not None else {},
            account=self._account_stream.status() if self._account_stream is not None else {},
            rest_weight=budget.stats.weight if budget is not None else 0.0,
            weight_limit_per_min=budget.limit_per_minute if budget is not None else None,
            weight_used_peak=budget.stats.venue_used_peak if budget is not None else 0.0,
            weight_by_operation=dict(budget.stats.by_operation) if budget is not None else {},
        )

    def _market_data(self) -> str:
        if self._stream is None:
            return "poll"
        return "stream" if self._stream.up else "poll (stream down)"

    async def recover(
        self, hedge_id: str, symbol: str, client_order_id: str
    ) -> tuple[str, ChildOrderResult | None]:
        """A child order a crashed router sent: ("found", its result), ("not_found", None)
        when the venue never saw it, ("undetermined", None) when it cannot say now."""
        await self._ensure_started()
        recover = getattr(self._venue, "recover", None)
        if recover is None:  # a paper venue keeps no orders across restarts
            return "not_found", None
        found = await recover(hedge_id, symbol, client_order_id)
        if isinstance(found, ChildOrderResult):
            return "found", found
        return ("not_found" if found is Lookup.NOT_FOUND else "undetermined"), None

    async def execute(self, orders: list[ChildOrder]) -> list[ChildOrderResult]:
        await self._ensure_started()
        results = await asyncio.gather(*(self._venue.execute(o) for o in orders))
        # what executed moves the cached balances; the account stream's pushes (or the
        # timer's fetch) put the venue's figures back (a fetch per execution would spend
        # the weight budget the books need)
        self._account.on_executions(ex for r in results for ex in r.executions)
        return list(results)

    async def balances(self) -> dict[str, Decimal]:
        await self._ensure_started()
        return await self._venue.fetch_balances()

    # wallet: transfers between venues (engine.venues.wallet does the work) ----------

    def _wallet_client(self) -> Any:
        if isinstance(self._venue, PaperVenue):  # paper balances live here, not on the venue
            raise VenueError(self._cfg.id, "wallet", "paper mode: no transfers")
        return self._venue.client

    async def deposit_address(self, asset: str) -> str:
        await self._ensure_started()
        return await wallet.deposit_address(self._wallet_client(), self._cfg.id, asset)

    async def withdraw(
        self, asset: str, amount: Decimal, address: str, transfer_id: str
    ) -> wallet.WithdrawalState:
        await self._ensure_started()
        return await wallet.withdraw(
            self._wallet_client(), self._cfg.id, asset, amount, address, transfer_id
        )

    async def find_withdrawal(self, asset: str, transfer_id: str) -> wallet.WithdrawalState:
        await self._ensure_started()
        return await wallet.find_withdrawal(self._wallet_client(), self._cfg.id, asset, transfer_id)

    async def deposit_credited(self, asset: str, txid: str) -> bool:
        await self._ensure_started()
        return await wallet.deposit_credited(self._wallet_client(), self._cfg.id, asset, txid)

    async def _run(self) -> None:
        reads = BalanceReads(time.monotonic())
        while True:
            await asyncio.sleep(self._cfg.book_poll_interval_s)
            if self._stream is None or not self._stream.up:  # REST only while no stream
                await self._poll_books(self._books_due())
            else:
                self._healthy, self._reason = True, ""
            account = self._account_stream
            pushed = account is not None and account.up
            epoch = account.epoch if account is not None else 0
            if reads.due(time.monotonic(), self._cfg, pushed=pushed, epoch=epoch):
                try:
                    self._account.reset(await self._venue.fetch_balances())
                except VenueError as exc:
                    log.warning("%s", exc)

    async def _poll_books(self, symbols: list[str] | None = None) -> None:
        """Fetch `symbols`' books (default: all); health reflects this cycle's fetches."""
        symbols = self._symbols if symbols is None else symbols
        now = time.time_ns()
        results = await asyncio.gather(
            *(self._venue.fetch_book(s, self._cfg.book_depth, now) for s in symbols),
            return_exceptions=True,
        )
        failures = []
        for symbol, res in zip(symbols, results, strict=True):
            if isinstance(res, BaseException):
                failures.append(f"{symbol}: {res}")
            else:
                self._books[symbol] = res
                self._fetched_at[symbol] = time.monotonic()
        self._healthy = not failures
        self._reason = "; ".join(failures)

    def _books_due(self) -> list[str]:
        return books_due(
            self._fetched_at,
            self._symbols,
            interval_s=self._cfg.book_poll_interval_s,
            book_weight=self._venue.book_weight(self._cfg.book_depth),
            limit_per_minute=self._venue.budget.limit_per_minute,
            share=BOOK_BUDGET_SHARE,
        )
