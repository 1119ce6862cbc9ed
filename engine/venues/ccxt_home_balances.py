"""The home account's exact balances, and the client the home venue is reached through.

Split out of `engine/venues/ccxt_home.py` (issue 12), which re-exports
`fetch_home_balances`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.config import VenueConfig
from engine.venues.ccxt_client import ccxt_client, retrying
from engine.venues.errors import classify


async def fetch_home_balances(
    venue: VenueConfig,
    *,
    base_url: str | None,
    api_key: str | None,
    api_secret: str | None,
) -> dict[str, Decimal]:
    """The home account's exact totals, through a short-lived client (opening and reconciling)."""
    client = home_client(venue, base_url, api_key, api_secret, False)
    try:
        return await retrying(lambda: account_balances(client, venue.id), venue.id, "fetch_balance")
    finally:
        await client.close()


def home_client(
    venue: VenueConfig,
    base_url: str | None,
    api_key: str | None,
    api_secret: str | None,
    enable_rate_limit: bool,
) -> Any:
    """The venue's ccxt client for the home exchange (`ccxt_client` with its config)."""
    return ccxt_client(
        venue.id,
        venue.exchange or "",
        timeout_s=venue.timeout_s,
        enable_rate_limit=enable_rate_limit,
        api_key=api_key,
        api_secret=api_secret,
        base_url=base_url,
    )


async def account_balances(client: Any, venue_id: str) -> dict[str, Decimal]:
    """Total per asset, exact: the venue's own `{coin}_balance` numbers (HollaEx)."""
    try:
        resp = await client.fetch_balance()
    except Exception as exc:
        raise classify(exc, venue_id, "fetch_balance") from None
    info = resp.get("info") or {}
    out: dict[str, Decimal] = {}
    for key, value in info.items():
        if key.endswith("_balance") and value is not None:
            out[client.safe_currency_code(key.removesuffix("_balance"))] = Decimal(str(value))
    return out
