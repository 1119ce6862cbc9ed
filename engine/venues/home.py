"""Which home venue a market quotes on, chosen from the config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import SecretStr

from engine.config import MarketConfig, VenueConfig, VenueKind
from engine.sim.price import ReferencePrice
from engine.venues.sim_venue import HomeSimVenue

if TYPE_CHECKING:  # imported where it is built: ccxt is ~1 s of a core a process to load
    from engine.venues.ccxt_home import CcxtHomeVenue


async def build_home_venue(
    venue: VenueConfig,
    market: MarketConfig,
    reference: ReferencePrice,
    *,
    seed: int,
    session: str,
    now_ns: int,
    base_url: str | None = None,
    api_key: SecretStr | None = None,
    api_secret: SecretStr | None = None,
    incarnation: str = "",
) -> HomeSimVenue | CcxtHomeVenue:
    """The home venue of one market, started (markets loaded): fails fast if it cannot be.

    `kind: sim` is the in-process simulated exchange. `kind: ccxt` is reached
    through ccxt at `base_url` (the venue-sim URL for `url: sim`, else the
    config's `url`, else ccxt's own), with `api_key`/`api_secret` when given
    (the run's venue-sim key pair), else the venue's configured ones.

    `incarnation` tags a restarted MarketActor's ids (fills, client order ids)
    so they never collide with the ones its crashed predecessor used.
    """
    if venue.kind is VenueKind.SIM:
        tag = f"{session}-{incarnation}" if incarnation else session
        return HomeSimVenue(venue, market, reference, seed=seed, session=tag)
    if venue.kind is VenueKind.CCXT:
        from engine.venues.ccxt_home import CcxtHomeVenue

        if venue.url == "sim" and not base_url:
            raise ValueError(f"venue {venue.id}: url: sim, but no venue-sim URL was given")
        key = api_key or venue.api_key
        secret = api_secret or venue.api_secret
        home = CcxtHomeVenue(
            venue,
            market,
            session=session,
            base_url=venue.base_url(base_url),
            api_key=key.get_secret_value() if key else None,
            api_secret=secret.get_secret_value() if secret else None,
            enable_rate_limit=not venue.simulated,  # loopback venue-sim: no budget to keep
            incarnation=incarnation,
        )
        try:
            await home.start(now_ns)
        except BaseException:
            await home.close()
            raise
        return home
    raise ValueError(
        f"venue {venue.id}: a home venue of kind {venue.kind.value!r} is not supported; "
        "use kind 'sim' or 'ccxt'"
    )
