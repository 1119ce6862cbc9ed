"""The ledger against every venue's own balances, exact to the unit the venue reports.

The ledger books every amount exactly (`Decimal`). Venues report balances to
at most 8 decimals, truncated (Binance: "exactly 8 places, truncated past the
asset's precision"): a cross trade's quote amount, price x amount on a fine
grid, can leave a residue under 1e-8 that the ledger holds and the venue does
not show. A balance agrees when it is equal, or when the ledger truncated to
the venue's 8 decimals is; anything from a satoshi up is a break.
"""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal
from typing import Any

import ray

from engine.config import AppConfig
from engine.venues.ccxt_home import fetch_home_balances

Reconciliation = dict[str, dict[str, tuple[str, str]]]


def reconcile(
    ledger: Any, venues: dict[str, Any], others: dict[str, dict[str, Decimal]] | None = None
) -> Reconciliation:
    """Ledger balance vs. the venue's own balance, per venue and asset, as exact strings.

    `venues` are the hedge venue actors; `others` the balances already fetched
    from venues no actor holds (a home venue behind ccxt).
    """
    booked = ray.get(ledger.balances.remote())
    reported = dict(
        zip(venues, ray.get([a.balances.remote() for a in venues.values()]), strict=True)
    )
    reported.update(others or {})
    out: Reconciliation = {}
    for vid, venue_bal in reported.items():
        ours = booked.get(vid, {})
        assets = set(ours) | {a for a, v in venue_bal.items() if v != 0}
        out[vid] = {
            a: (plain(Decimal(ours.get(a, "0"))), plain(venue_bal.get(a, Decimal(0))))
            for a in sorted(assets)
        }
    return out


def home_balances(config: AppConfig, access: dict[str, Any]) -> dict[str, Decimal]:
    """The home venue's exact balances through ccxt, fetched from the driver."""
    home = config.home_venue
    key = access["home_api_key"] or home.api_key
    secret = access["home_api_secret"] or home.api_secret
    url = home.base_url(access["home_url"])
    return asyncio.run(
        fetch_home_balances(
            home,
            base_url=url,
            api_key=key.get_secret_value() if key else None,
            api_secret=secret.get_secret_value() if secret else None,
        )
    )


SATOSHI = Decimal("1e-8")


def agrees(ledger: str, venue: str) -> bool:
    """Ledger and venue balance (exact strings) are the same to the venue's last unit."""
    ours, theirs = Decimal(ledger), Decimal(venue)
    if ours == theirs:
        return True
    exponent = theirs.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -8:
        return False  # the venue shows more than 8 decimals: exact it is
    return ours.quantize(SATOSHI, rounding=ROUND_DOWN) == theirs


def plain(d: Decimal) -> str:
    """An exact decimal without exponent or trailing zeros: 600000, 0.0123."""
    return f"{d.normalize():f}"
