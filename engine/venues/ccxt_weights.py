"""Per-venue call knowledge: what each ccxt call costs, and the client order id params.

Split out of `engine/venues/ccxt_venue.py` (issue 12). Binance spot v3 documents a
weight per endpoint ("LIMITS"); venues without a weight model count 1 per request.
"""

from __future__ import annotations

WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"

# Request weight per call, Binance spot v3 ("LIMITS"; per endpoint in the API docs).
# Venues without a weight model count 1 per request against `weight_limit_1m`.
BINANCE_WEIGHTS: dict[str, int] = {
    "load_markets": 31,  # exchangeInfo 20 + the margin pair lists ccxt asks for with a key
    "fetch_balance": 20,
    "create_order": 1,
    "fetch_order": 4,
    "cancel_order": 1,
    "fetch_my_trades": 20,
}
# Default weight budgets per minute (Binance spot: REQUEST_WEIGHT 6000 / 1m).
DEFAULT_WEIGHT_LIMIT_1M: dict[str, int] = {"binance": 6_000}
FALLBACK_WEIGHT_LIMIT_1M = 1_200

# How to ask a venue for an order by our client order id (a ccxt `fetch_order` param).
CLIENT_ID_LOOKUP_PARAM: dict[str, str] = {"binance": "origClientOrderId", "okx": "clOrdId"}
# How to send our client order id with a new order (ccxt's unified param where it exists).
CLIENT_ID_SEND_PARAM: dict[str, str] = {"binance": "clientOrderId", "okx": "clientOrderId"}


def depth_weight(limit: int) -> int:
    """Binance spot `GET /api/v3/depth` weight by limit."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250
