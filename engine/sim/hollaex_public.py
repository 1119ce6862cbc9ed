"""HollaEx Kit v2 public endpoints beyond the order book (https://apidocs.hollaex.com/#public
and #tradingview): `/v2/ticker`, `/v2/tickers`, `/v2/trades`, `/v2/chart`,
`/v2/charts`, `/v2/udf/config`, `/v2/udf/history`, `/v2/udf/symbols`, `/v2/kit`,
`/v2/tiers`.

Volumes, trade lists and traded prices come from the home venue's public tape:
every match, the synthetic takers' included. A bar or a 24 h window without a
trade takes its prices from the shared reference price the takers trade
around, on the pair's tick grid, so a chart never has holes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.sim.hollaex_wire import BadParameter, HollaExRequest, Route, iso, num, pair_id
from engine.sim.home_exchange import HomeExchange
from engine.sim.ladder import on_grid
from engine.sim.matching import Trade

_S = 1_000_000_000
_DAY_S = 86_400
TRADES_SHOWN = 30  # "This endpoint retrieves the last 30 trades."
MAX_BARS = 1_000
# TradingView resolutions: minutes as digits, or D / W multiples
_RESOLUTIONS_S = {"1": 60, "5": 300, "15": 900, "30": 1_800, "60": 3_600, "240": 14_400}
_RESOLUTIONS_S |= {"1D": _DAY_S, "D": _DAY_S, "1W": 7 * _DAY_S, "W": 7 * _DAY_S}

SymbolResolver = Callable[..., str | None]


def taker_side(trade: Trade) -> str:
    """The side HollaEx shows for a public trade: the taker's."""
    return "sell" if trade.maker_side.value == "buy" else "buy"


class HollaExPublic:
    """Tickers, public trades, candles and exchange information of the home venue."""

    def __init__(self, exchange: HomeExchange, resolve: SymbolResolver) -> None:
        """`resolve(params, required=...)` turns a request's `symbol` into ours."""
        self._exchange = exchange
        self._resolve = resolve

    def routes(self) -> list[Route]:
        return [
            ("GET", "/v2/ticker", self._ticker, False),
            ("GET", "/v2/tickers", self._tickers, False),
            ("GET", "/v2/trades", self._trades, False),
            ("GET", "/v2/chart", self._chart, False),
            ("GET", "/v2/charts", self._charts, False),
            ("GET", "/v2/udf/config", self._udf_config, False),
            ("GET", "/v2/udf/history", self._udf_history, False),
            ("GET", "/v2/udf/symbols", self._udf_symbols, False),
            ("GET", "/v2/kit", self._kit, False),
            ("GET", "/v2/tiers", self._tiers, False),
        ]

    def _on_tick(self, symbol: str, price: float) -> Decimal:
        tick = self._exchange.spec(symbol).tick_size
        return on_grid(Decimal(repr(price)), tick, ROUND_HALF_UP)

    def _window(self, symbol: str, start_ns: int, end_ns: int) -> dict[str, Any]:
        """Open, high, low, close and volume of `symbol` over [start, end)."""
        trades = [t for t in self._exchange.market_trades(symbol) if start_ns <= t.ts_ns < end_ns]
        if trades:
            prices = [t.price for t in trades]
            first, last = prices[0], prices[-1]
        else:
            first = self._on_tick(symbol, self._exchange.reference_price(symbol, start_ns))
            last = self._on_tick(symbol, self._exchange.reference_price(symbol, end_ns - 1))
            prices = [first, last]
        return {
            "open": num(first),
            "close": num(last),
            "high": num(max(prices)),
            "low": num(min(prices)),
            "volume": num(sum((t.amount for t in trades), Decimal(0))),
        }

    def _ticker_json(self, symbol: str, now_ns: int) -> dict[str, Any]:
        day = self._window(symbol, now_ns - _DAY_S * _S, now_ns + 1)
        tape = self._exchange.market_trades(symbol)
        last = tape[-1].price if tape else None
        return {
            **day,
            "last": num(last) if last is not None else day["close"],
            "timestamp": iso(now_ns),
        }

    async def _ticker(self, req: HollaExRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        return self._ticker_json(symbol, req.ts_ns)

    async def _tickers(self, req: HollaExRequest) -> dict[str, Any]:
        return {pair_id(s): self._ticker_json(s, req.ts_ns) for s in self._exchange.symbols}

    async def _trades(self, req: HollaExRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params, required=False)
        symbols = [symbol] if symbol else self._exchange.symbols
        return {
            pair_id(s): [
                {
                    "size": num(t.amount),
                    "price": num(t.price),
                    "side": taker_side(t),
                    "timestamp": iso(t.ts_ns),
                }
                for t in reversed(self._exchange.market_trades(s)[-TRADES_SHOWN:])
            ]
            for s in symbols
        }

    def _bars(
        self, symbol: str, params: dict[str, Any], now_ns: int
    ) -> list[tuple[int, dict[str, Any]]]:
        resolution = str(params.get("resolution") or "")
        length_s = _RESOLUTIONS_S.get(resolution)
        if length_s is None:
            raise BadParameter(f"Invalid resolution {resolution!r}")
        try:
            start_s, end_s = int(params["from"]), int(params["to"])
        except (KeyError, ValueError):
            raise BadParameter("from and to must be unix timestamps") from None
        end_s = min(end_s, now_ns // _S)
        bars: list[tuple[int, dict[str, Any]]] = []
        open_s = start_s // length_s * length_s
        while open_s <= end_s and len(bars) < MAX_BARS:
            close_ns = min((open_s + length_s) * _S, now_ns + 1)
            bars.append((open_s, self._window(symbol, open_s * _S, close_ns)))
            open_s += length_s
        return bars

    def _chart_json(self, symbol: str, params: dict[str, Any], now_ns: int) -> list[dict]:
        return [
            {"time": iso(t * _S), **bar, "symbol": pair_id(symbol)}
            for t, bar in self._bars(symbol, params, now_ns)
        ]

    async def _chart(self, req: HollaExRequest) -> list[dict[str, Any]]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        return self._chart_json(symbol, req.params, req.ts_ns)

    async def _charts(self, req: HollaExRequest) -> dict[str, Any]:
        return {
            pair_id(s): self._chart_json(s, req.params, req.ts_ns) for s in self._exchange.symbols
        }

    async def _udf_config(self, req: HollaExRequest) -> dict[str, Any]:
        return {
            "supported_resolutions": list(dict.fromkeys(_RESOLUTIONS_S)),
            "supports_group_request": False,
            "supports_marks": False,
            "supports_search": True,
            "supports_timescale_marks": False,
        }

    async def _udf_history(self, req: HollaExRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        bars = self._bars(symbol, req.params, req.ts_ns)
        if not bars:
            return {"s": "no_data"}
        return {
            "s": "ok",
            "t": [t for t, _ in bars],
            **{k: [bar[name] for _, bar in bars] for k, name in _UDF_KEYS.items()},
        }

    async def _udf_symbols(self, req: HollaExRequest) -> dict[str, Any]:
        symbol = self._resolve(req.params)
        assert symbol is not None
        tick = self._exchange.spec(symbol).tick_size
        return {
            "name": pair_id(symbol),
            "ticker": pair_id(symbol),
            "exchange": self._exchange.venue_id,
            "has_intraday": True,
            "has_daily": True,
            "has_weekly_and_monthly": True,
            "session": "24x7",
            "regular_session": "24x7",
            "pricescale": int(1 / tick) if tick < 1 else 1,
            "volume_precision": 8,
            "has_empty_bars": True,
        }

    async def _kit(self, req: HollaExRequest) -> dict[str, Any]:
        name = self._exchange.venue_id
        return {
            "api_name": name,
            "title": name,
            "description": "marketmesh venue-sim home venue",
            "native_currency": self._native_currency(),
            "setup_completed": True,
            "valid_languages": "en",
            "new_user_is_activated": True,
            "email_verification_required": False,
            "defaults": {"theme": "dark", "language": "en"},
            "interface": {"type": "full"},
            "info": {
                "name": name,
                "active": True,
                "is_trial": False,
                "status": True,
                "initialized": True,
                "created_at": iso(0),
            },
        }

    def _native_currency(self) -> str:
        return self._exchange.symbols[0].split("/")[1].lower() if self._exchange.symbols else ""

    async def _tiers(self, req: HollaExRequest) -> dict[str, Any]:
        pairs = [pair_id(s) for s in self._exchange.symbols]
        maker = num(self._exchange.maker_fee * 100)  # HollaEx lists fees in percent
        taker = num(self._exchange.taker_fee * 100)
        return {
            "1": {
                "id": 1,
                "name": "Base Trader",
                "icon": "",
                "description": "every venue-sim account",
                "deposit_limit": 0,
                "withdrawal_limit": 0,
                "fees": {
                    "maker": dict.fromkeys(pairs, maker),
                    "taker": dict.fromkeys(pairs, taker),
                },
                "note": "",
                "created_at": iso(0),
                "updated_at": iso(0),
            }
        }


_UDF_KEYS = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}
