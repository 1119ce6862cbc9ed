"""Which home venue a market quotes on, chosen from the config."""

from __future__ import annotations

from engine.config import MarketConfig, VenueConfig, VenueKind
from engine.sim.price import ReferencePrice
from engine.venues.sim_venue import HomeSimVenue


def build_home_venue(
    venue: VenueConfig,
    market: MarketConfig,
    reference: ReferencePrice,
    *,
    seed: int,
    session: str,
) -> HomeSimVenue:
    """The in-process simulated exchange for `kind: sim`; other kinds are not built yet."""
    if venue.kind is VenueKind.SIM:
        return HomeSimVenue(venue, market, reference, seed=seed, session=session)
    raise ValueError(
        f"venue {venue.id}: a home venue of kind {venue.kind.value!r} is not supported yet; "
        "use kind 'sim'"
    )
