"""Binance spot market-data endpoints of a simulated venue: tickers, average price, candles,
recent, historical and aggregate trades (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/
market-data-endpoints).

What the simulator knows of a market is its generated book and the fills of
its accounts, so:

* the public trade tape (`/api/v3/trades`, volumes, counts, last price) is the
  venue's fills of every account, newest `TAPE_LENGTH` kept; a quiet venue has
  an empty tape and zero volume, as a real market with no trades would;
* prices with no trade behind them (candles' open/high/low/close, the 24 h
  open, `avgPrice` when nobody traded for 5 minutes, `ticker/price` before the
  first trade) are the venue's fair mid, sampled through the window and put on
  the symbol's tick grid: the path the generated books move around.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.sim.binance_wire import (
    BadInterval,
    BinanceRequest,
    Handler,
    WeightRule,
    fixed,
    int_param,
    market_id,
    ms,
    symbol_weight,
    wire_decimal,
)
from engine.sim.exchange import (
    InvalidRequest,
    MalformedParameter,
    MissingParameter,
    SimExchange,
    SimTrade,
    UnknownSymbol,
)
from engine.sim.ladder import on_grid
from engine.types import Side

_S = 1_000_000_000
_INTERVALS_S = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1_800,
    "1h": 3_600,
    "2h": 7_200,
    "4h": 14_400,
    "6h": 21_600,
    "8h": 28_800,
    "12h": 43_200,
    "1d": 86_400,
    "3d": 259_200,
    "1w": 604_800,
}
_MONTH = "1M"
_SYMBOLS_RANGE = 'legal range is \'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}")*)?\\]$\'.'
_SAMPLES_PER_CANDLE = 6
_DAY_SAMPLES = 48
AVG_PRICE_MINS = 5
_AVG_SAMPLES = 30

SymbolResolver = Callable[..., str | None]
Route = tuple[str, str, Handler, WeightRule, bool]


def is_buyer_maker(trade: SimTrade) -> bool:
    """On the tape: the buyer was the resting side (our account bought as maker, or sold
    as taker into a resting bid)."""
    return (trade.side is Side.BUY) == trade.is_maker


def _is_taker_buy(trade: SimTrade) -> bool:
    return not is_buyer_maker(trade)


class BinanceMarketData:
    """`/api/v3/ticker/*`, `/api/v3/avgPrice`, `/api/v3/klines`, `/api/v3/trades`."""

    def __init__(self, exchange: SimExchange, resolve: SymbolResolver) -> None:
        """`resolve(params, required=...)` turns a request's `symbol` into ours (-1121)."""
        self._exchange = exchange
        self._resolve = resolve
        self._avg_cache: dict[str, tuple[tuple[str, int], Decimal]] = {}

    def routes(self) -> list[Route]:
        """(method, path, handler, weight, signed), weights as Binance documents them."""
        return [
            ("GET", "/api/v3/ticker/24hr", self._ticker_24hr, _ticker_weight(2, 80), False),
            ("GET", "/api/v3/ticker/price", self._ticker_price, _ticker_weight(2, 4), False),
            ("GET", "/api/v3/avgPrice", self._avg_price, fixed(2), False),
            ("GET", "/api/v3/klines", self._klines, fixed(2), False),
            ("GET", "/api/v3/uiKlines", self._klines, fixed(2), False),
            ("GET", "/api/v3/trades", self._trades, fixed(25), False),
            ("GET", "/api/v3/historicalTrades", self._trades, fixed(25), False),
            ("GET", "/api/v3/aggTrades", self._agg_trades, fixed(4), False),
        ]

    # --- prices ------------------------------------------------------------------------

    def on_tick(self, symbol: str, price: float | Decimal) -> Decimal:
        tick = self._exchange.rules(symbol).tick_size
        return on_grid(
            Decimal(repr(price)) if isinstance(price, float) else price, tick, ROUND_HALF_UP
        )

    def avg_price(self, symbol: str, ts_ns: int) -> Decimal:
        """The 5-minute average price: VWAP of the tape's trades, else the mean fair mid.

        Kept for one second per symbol: every priced order checks it (PERCENT_PRICE_BY_SIDE)
        and a 5-minute average barely moves within a second.
        """
        key = (symbol, ts_ns // _S)
        cached = self._avg_cache.get(symbol)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = self._average(symbol, ts_ns)
        self._avg_cache[symbol] = (key, value)
        return value

    def _average(self, symbol: str, ts_ns: int) -> Decimal:
        start_ns = ts_ns - AVG_PRICE_MINS * 60 * _S
        trades = [t for t in self._exchange.market_trades(symbol, ts_ns) if t.ts_ns >= start_ns]
        qty = sum((t.qty for t in trades), Decimal(0))
        if qty > 0:
            value = sum((t.price * t.qty for t in trades), Decimal(0)) / qty
        else:
            step = (ts_ns - start_ns) // _AVG_SAMPLES
            mids = [
                self._exchange.mid_price(symbol, start_ns + i * step)
                for i in range(1, _AVG_SAMPLES + 1)
            ]
            value = Decimal(repr(sum(mids) / len(mids)))
        return value.quantize(Decimal("0.00000001"), rounding=ROUND_HALF_UP)

    def _last_price(self, symbol: str, ts_ns: int) -> tuple[Decimal, Decimal]:
        tape = self._exchange.market_trades(symbol, ts_ns)
        if tape:
            return tape[-1].price, tape[-1].qty
        return self.on_tick(symbol, self._exchange.mid_price(symbol, ts_ns)), Decimal(0)

    def requested_symbols(self, req: BinanceRequest) -> tuple[list[str], bool]:
        """The symbols a ticker request names, and whether it named exactly one."""
        p = req.params
        if p.get("symbol") and p.get("symbols"):
            raise InvalidRequest("Parameters 'symbol' and 'symbols' cannot be sent together.")
        if p.get("symbol"):
            symbol = self._resolve(p)
            assert symbol is not None
            return [symbol], True
        if p.get("symbols"):
            try:
                names = json.loads(p["symbols"])
            except ValueError:
                raise MalformedParameter("symbols", _SYMBOLS_RANGE) from None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise MalformedParameter("symbols", "expected a JSON array of symbols.")
            out = []
            for name in names:
                symbol = self._resolve({"symbol": name})
                if symbol is None:
                    raise UnknownSymbol(name)
                out.append(symbol)
            return out, False
        return list(self._exchange.symbols), False

    # --- endpoints ----------------------------------------------------------------------

    async def _ticker_price(self, req: BinanceRequest) -> Any:
        symbols, single = self.requested_symbols(req)
        out = [
            {"symbol": market_id(s), "price": wire_decimal(self._last_price(s, req.ts_ns)[0])}
            for s in symbols
        ]
        return out[0] if single else out

    async def _ticker_24hr(self, req: BinanceRequest) -> Any:
        kind = req.params.get("type", "FULL").upper()
        if kind not in ("FULL", "MINI"):
            raise InvalidRequest("Invalid ticker type.")
        symbols, single = self.requested_symbols(req)
        out = [self._day(s, req.ts_ns, full=kind == "FULL") for s in symbols]
        return out[0] if single else out

    def _day(self, symbol: str, now_ns: int, *, full: bool) -> dict[str, Any]:
        open_ns = now_ns - 86_400 * _S
        trades = [t for t in self._exchange.market_trades(symbol, now_ns) if t.ts_ns >= open_ns]
        step = 86_400 * _S // _DAY_SAMPLES
        prices = [
            self.on_tick(symbol, self._exchange.mid_price(symbol, open_ns + i * step))
            for i in range(_DAY_SAMPLES + 1)
        ] + [t.price for t in trades]
        open_price = prices[0]
        last_price, last_qty = self._last_price(symbol, now_ns)
        volume = sum((t.qty for t in trades), Decimal(0))
        quote_volume = sum((t.price * t.qty for t in trades), Decimal(0))
        out: dict[str, Any] = {
            "symbol": market_id(symbol),
            "openPrice": wire_decimal(open_price),
            "highPrice": wire_decimal(max(prices)),
            "lowPrice": wire_decimal(min(prices)),
            "lastPrice": wire_decimal(last_price),
            "volume": wire_decimal(volume),
            "quoteVolume": wire_decimal(quote_volume),
            "openTime": ms(open_ns),
            "closeTime": ms(now_ns),
            "firstId": trades[0].trade_id if trades else -1,
            "lastId": trades[-1].trade_id if trades else -1,
            "count": len(trades),
        }
        if not full:
            return out
        bids, asks, _ = self._exchange.depth(symbol, now_ns, 1)
        change = last_price - open_price
        percent = (
            (change / open_price * 100).quantize(Decimal("0.001")) if open_price else Decimal(0)
        )
        weighted = quote_volume / volume if volume else last_price
        return {
            "symbol": out["symbol"],
            "priceChange": wire_decimal(abs(change))
            if change >= 0
            else "-" + wire_decimal(-change),
            "priceChangePercent": str(percent),
            "weightedAvgPrice": wire_decimal(weighted),
            "prevClosePrice": wire_decimal(open_price),
            "lastPrice": out["lastPrice"],
            "lastQty": wire_decimal(last_qty),
            "bidPrice": wire_decimal(bids[0].price if bids else Decimal(0)),
            "bidQty": wire_decimal(bids[0].amount if bids else Decimal(0)),
            "askPrice": wire_decimal(asks[0].price if asks else Decimal(0)),
            "askQty": wire_decimal(asks[0].amount if asks else Decimal(0)),
            **{k: out[k] for k in ("openPrice", "highPrice", "lowPrice", "volume", "quoteVolume")},
            **{k: out[k] for k in ("openTime", "closeTime", "firstId", "lastId", "count")},
        }

    async def _avg_price(self, req: BinanceRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        return {
            "mins": AVG_PRICE_MINS,
            "price": wire_decimal(self.avg_price(symbol, req.ts_ns)),
            "closeTime": ms(req.ts_ns),
        }

    async def _trades(self, req: BinanceRequest) -> list[dict[str, Any]]:
        """Recent trades, and `historicalTrades` (the same tape, from `fromId` if given)."""
        symbol = self._resolve(req.params)
        assert symbol is not None
        limit = max(1, min(int_param(req.params, "limit", 500), 1_000))
        tape = self._exchange.market_trades(symbol, req.ts_ns)
        if req.params.get("fromId"):
            from_id = int_param(req.params, "fromId")
            tape = [t for t in tape if t.trade_id >= from_id][:limit]
        return [
            {
                "id": t.trade_id,
                "price": wire_decimal(t.price),
                "qty": wire_decimal(t.qty),
                "quoteQty": wire_decimal(t.quote_qty),
                "time": ms(t.ts_ns),
                "isBuyerMaker": is_buyer_maker(t),
                "isBestMatch": True,
            }
            for t in tape[-limit:]
        ]

    async def _agg_trades(self, req: BinanceRequest) -> list[dict[str, Any]]:
        """Compressed trades (ccxt's default `fetch_trades`): one per fill here, as every
        fill of the tape is its own taker order's match at one price."""
        p = req.params
        symbol = self._resolve(p)
        assert symbol is not None
        limit = max(1, min(int_param(p, "limit", 500), 1_000))
        tape = self._exchange.market_trades(symbol, req.ts_ns)
        if p.get("fromId"):
            tape = [t for t in tape if t.trade_id >= int_param(p, "fromId")]
        if p.get("startTime"):
            tape = [t for t in tape if ms(t.ts_ns) >= int_param(p, "startTime")]
        if p.get("endTime"):
            tape = [t for t in tape if ms(t.ts_ns) <= int_param(p, "endTime")]
        oldest_first = bool(p.get("fromId") or p.get("startTime"))
        tape = tape[:limit] if oldest_first else tape[-limit:]
        return [
            {
                "a": t.trade_id,
                "p": wire_decimal(t.price),
                "q": wire_decimal(t.qty),
                "f": t.trade_id,
                "l": t.trade_id,
                "T": ms(t.ts_ns),
                "m": is_buyer_maker(t),
                "M": True,
            }
            for t in tape
        ]

    async def _klines(self, req: BinanceRequest) -> list[list[Any]]:
        p = req.params
        symbol = self._resolve(p)
        assert symbol is not None
        interval = p.get("interval")
        if not interval:
            raise MissingParameter("interval")
        limit = max(1, min(int_param(p, "limit", 500), 1_000))
        now_ms = ms(req.ts_ns)
        end_ms = min(int_param(p, "endTime", now_ms), now_ms)
        if p.get("startTime"):
            opens = _opens_from(interval, int_param(p, "startTime"), end_ms, limit)
        else:
            opens = _opens_until(interval, end_ms, limit)
        tape = self._exchange.market_trades(symbol, req.ts_ns)
        return [self._candle(symbol, o, c, tape) for o, c in opens]

    def _candle(self, symbol: str, open_ms: int, close_ms: int, tape: list[SimTrade]) -> list[Any]:
        span_ms = close_ms - open_ms
        times = [
            open_ms + span_ms * i // (_SAMPLES_PER_CANDLE - 1) for i in range(_SAMPLES_PER_CANDLE)
        ]
        prices = [
            self.on_tick(symbol, self._exchange.mid_price(symbol, t * 1_000_000)) for t in times
        ]
        trades = [t for t in tape if open_ms <= ms(t.ts_ns) <= close_ms]
        traded = [t.price for t in trades]
        volume = sum((t.qty for t in trades), Decimal(0))
        quote_volume = sum((t.price * t.qty for t in trades), Decimal(0))
        taker_buys = [t for t in trades if _is_taker_buy(t)]
        return [
            open_ms,
            wire_decimal(prices[0]),
            wire_decimal(max(prices + traded)),
            wire_decimal(min(prices + traded)),
            wire_decimal(traded[-1] if traded else prices[-1]),
            wire_decimal(volume),
            close_ms,
            wire_decimal(quote_volume),
            len(trades),
            wire_decimal(sum((t.qty for t in taker_buys), Decimal(0))),
            wire_decimal(sum((t.price * t.qty for t in taker_buys), Decimal(0))),
            "0",
        ]


def _ticker_weight(one: int, every: int) -> WeightRule:
    """Ticker weights: `one` per symbol named, `every` for all symbols."""
    single = symbol_weight(one, every)

    def weight(params: dict[str, str]) -> int:
        raw = params.get("symbols")
        if raw:
            return min(every, one * max(1, raw.count(",") + 1))
        return single(params)

    return weight


def _month_start(ts_ms: int, months_ahead: int = 0) -> int:
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    index = dt.year * 12 + dt.month - 1 + months_ahead
    return int(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp() * 1000)


def _span(interval: str, open_ms: int) -> int:
    if interval == _MONTH:
        return _month_start(open_ms, 1) - open_ms
    return _INTERVALS_S[interval] * 1000


def _align(interval: str, ts_ms: int) -> int:
    if interval == _MONTH:
        return _month_start(ts_ms)
    if interval not in _INTERVALS_S:
        raise BadInterval()
    length = _INTERVALS_S[interval] * 1000
    if interval == "1w":  # Binance's weeks open on Monday 00:00 UTC (epoch was a Thursday)
        return (ts_ms - 4 * 86_400_000) // length * length + 4 * 86_400_000
    return ts_ms // length * length


def _opens_from(interval: str, start_ms: int, end_ms: int, limit: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    open_ms = _align(interval, start_ms)
    if open_ms < start_ms:
        open_ms += _span(interval, open_ms)
    while open_ms <= end_ms and len(out) < limit:
        span = _span(interval, open_ms)
        out.append((open_ms, open_ms + span - 1))
        open_ms += span
    return out


def _opens_until(interval: str, end_ms: int, limit: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    open_ms = _align(interval, end_ms)
    while len(out) < limit:
        out.append((open_ms, open_ms + _span(interval, open_ms) - 1))
        open_ms = _align(interval, open_ms - 1)
    return out[::-1]
