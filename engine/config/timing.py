"""Loop timings of the actors, in one place: the live graph and the exact backtest
read the same numbers, so a backtest steps the clock the way the actors do.
Per-venue pacing (book polling, balances, book depth) is on `VenueConfig`."""

from __future__ import annotations

from pydantic import Field

from engine.config.base import PositiveFloat, _Frozen


class TimingConfig(_Frozen):
    """How often each loop runs, in seconds."""

    market_tick_s: PositiveFloat = Field(
        default=0.1, description="MarketActor timer: poll fills, requote, sample"
    )
    reference_pull_s: PositiveFloat = Field(
        default=0.25, description="MarketActor pulls the consolidated reference mid this often"
    )
    net_exposure_pull_s: PositiveFloat = Field(
        default=0.5,
        description="MarketActor pulls the desk's net exposure per asset from the ledger",
    )
    router_refresh_s: PositiveFloat = Field(
        default=0.2, description="router refreshes venue snapshots and checks hybrid triggers"
    )
    router_books_s: PositiveFloat = Field(
        default=0.05,
        description="with a venue's book stream up, the router asks it for the books that "
        "changed, the venue holding the ask until one does (a long poll), at most this often "
        "(one small Ray call a venue), so it rarely asks again at a hedge",
    )
    exposure_poll_s: PositiveFloat = Field(
        default=5.0, description="the driver's alert loop reads exposure from the ledger"
    )
