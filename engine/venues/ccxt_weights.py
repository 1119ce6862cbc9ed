"""Per-exchange knowledge in one map: what each ccxt call costs, the weight budget,
the client order id params and the client options, so no code branches on an
exchange id (issue 12).

Binance spot v3 documents a weight per endpoint ("LIMITS"); exchanges without a
weight model count 1 per request against `FALLBACK_WEIGHT_LIMIT_1M`. An exchange
missing from `CAPABILITIES` gets `DEFAULT_CAPABILITIES`: no weights, no client id
lookup (an unknown outcome is then never resent), ccxt's own options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class ExchangeCapabilities:
    weights: Mapping[str, int] = field(default_factory=dict)  # per ccxt call; {}: 1 each
    weight_limit_1m: int = FALLBACK_WEIGHT_LIMIT_1M
    client_id_lookup_param: str | None = None  # fetch_order by our client order id
    client_id_send_param: str | None = None  # our client order id on a new order
    client_options: Mapping[str, Any] = field(default_factory=dict)  # ccxt `options`

    @property
    def weighted(self) -> bool:
        return bool(self.weights)

    def depth_weight(self, limit: int) -> int:
        return depth_weight(limit) if self.weighted else 1


CAPABILITIES: dict[str, ExchangeCapabilities] = {
    "binance": ExchangeCapabilities(
        weights=BINANCE_WEIGHTS,
        weight_limit_1m=DEFAULT_WEIGHT_LIMIT_1M["binance"],
        client_id_lookup_param=CLIENT_ID_LOOKUP_PARAM["binance"],
        client_id_send_param=CLIENT_ID_SEND_PARAM["binance"],
        client_options={"fetchMarkets": {"types": ["spot"]}},  # spot only: no margin lists
    ),
    "okx": ExchangeCapabilities(
        client_id_lookup_param=CLIENT_ID_LOOKUP_PARAM["okx"],
        client_id_send_param=CLIENT_ID_SEND_PARAM["okx"],
    ),
}
DEFAULT_CAPABILITIES = ExchangeCapabilities()


def capabilities_of(exchange_id: str) -> ExchangeCapabilities:
    return CAPABILITIES.get(exchange_id, DEFAULT_CAPABILITIES)
