"""Wire formats of the HollaEx Kit v2 dialect, shared by its endpoint modules.

`hollaex_http.py` (plumbing, markets, orders), `hollaex_public.py` (tickers,
trades, charts, kit) and `hollaex_user.py` (user, deposits, withdrawals) speak
through these helpers. Reference: https://apidocs.hollaex.com
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from engine.sim.exchange import SimError
from engine.sim.faults import NO_FAULT, FaultDecision
from engine.types import split_symbol

_T = TypeVar("_T")


class BadParameter(SimError):
    """A malformed or missing request field."""


def pair_id(symbol: str) -> str:
    """`BTC/USDT` -> `btc-usdt`, the HollaEx pair name."""
    base, quote = split_symbol(symbol)
    return f"{base.lower()}-{quote.lower()}"


def iso(ts_ns: int) -> str:
    """HollaEx's timestamps: ISO 8601 UTC with milliseconds and a Z."""
    dt = datetime.fromtimestamp(ts_ns // 1_000_000 / 1e3, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(ts_ns // 1_000_000) % 1000:03d}Z"


def num(value: Decimal) -> float | int:
    """A JSON number that prints back as the same decimal (HollaEx sends numbers, not strings)."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True, slots=True)
class HollaExRequest:
    params: dict[str, Any]
    account: str
    ts_ns: int
    fault: FaultDecision = NO_FAULT


Handler = Callable[[HollaExRequest], Awaitable[Any]]
Route = tuple[str, str, Handler, bool]


def since(items: list[_T], start_date: Any, ts_ns: Callable[[_T], int]) -> list[_T]:
    if not start_date:
        return items
    try:
        start = datetime.fromisoformat(str(start_date).replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(f"Invalid start_date {start_date!r}") from None
    start_ns = int(start.timestamp() * 1e9)
    return [i for i in items if ts_ns(i) >= start_ns]


def page(items: list[_T], params: dict[str, Any]) -> list[_T]:
    """HollaEx pagination: `limit` (default 50, max 100), `page` from 1, newest first."""
    try:
        limit = max(1, min(int(params.get("limit", 50)), 100))
        number = max(1, int(params.get("page", 1)))
    except ValueError:
        raise BadParameter("limit and page must be integers") from None
    ordered = items if str(params.get("order", "desc")).lower() == "asc" else items[::-1]
    return ordered[(number - 1) * limit : number * limit]


def js_json(value: Any) -> str:
    """`JSON.stringify(value)` as Node.js writes it: compact, non-ASCII kept, numbers in
    JavaScript's shortest form (1e-7, 0.000001, 1e+21). HollaEx Kit signs the body it
    re-serialises this way, not the bytes the client sent."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{js_json(str(k))}:{js_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    return json.dumps(value, ensure_ascii=False)


def _js_number(x: float) -> str:
    """ECMAScript Number::toString: fixed from 1e-6 up to 1e21, else d.ddde±n."""
    if x != x or x in (float("inf"), float("-inf")):
        return "null"
    if x == 0:
        return "0"
    digits = Decimal(repr(x))
    if 1e-6 <= abs(x) < 1e21:
        text = format(digits, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = f"{digits:e}".partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    exp = int(exponent)
    return f"{mantissa}e{'+' if exp > 0 else '-'}{abs(exp)}"
