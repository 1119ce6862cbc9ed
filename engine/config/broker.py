"""OTC / broker mode config (engine/broker, actors/broker.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from engine.broker.formula import parse_formula
from engine.config.base import Bps, NonNegFloat, PositiveFloat, _Frozen
from engine.types import split_symbol


class ClientLimitsConfig(_Frozen):
    """What one RFQ client may trade, in quote-asset notional (UTC days)."""

    max_notional_per_request_quote: PositiveFloat = 100_000.0
    max_notional_per_day_quote: PositiveFloat = 1_000_000.0


class BrokerConfig(_Frozen):
    """OTC / broker mode for one pair (engine/broker, actors/broker.py), HollaEx-like fields.

    `spread` is in percent of the walked price; `formula` names the price
    sources (`binance-sim:BTC/USDT`, `*:BTC/USDT` for every healthy venue,
    crosses such as `a:BTC/USDT / b:ETH/USDT`; default `*:<symbol>`);
    `account` is the venue whose wallet is the inventory account; a fill is
    hedged on `hedge_symbol` (default `symbol`, same base) like a market fill.
    """

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    symbol: str
    formula: str | None = None
    spread: Annotated[float, Field(ge=0, lt=50)] = 0.1
    quote_expiry_time: PositiveFloat = 30.0
    refresh_interval: PositiveFloat = Field(
        default=0.5, description="seconds between pulls of the venues' books"
    )
    min_size: Annotated[Decimal, Field(gt=0)] = Decimal("0.0001")
    max_size: Annotated[Decimal, Field(gt=0)] = Decimal("1")
    increment_size: Annotated[Decimal, Field(gt=0)] = Decimal("0.0001")
    price_increment: Annotated[Decimal, Field(gt=0)] = Decimal("0.01")
    paused: bool = False
    account: str = "home"
    hedge_symbol: str | None = None
    inventory_target: float = 0.0
    inventory_limit: PositiveFloat = 1.0
    skew_bps_at_limit: NonNegFloat = 10.0
    max_deviation_bps: Bps = 25.0
    max_book_age_s: PositiveFloat | None = Field(
        default=None, description="None = risk.max_book_age_s"
    )
    client_limits: ClientLimitsConfig = ClientLimitsConfig()
    clients: dict[str, ClientLimitsConfig] = Field(
        default_factory=dict, description="per-client overrides of client_limits"
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65_535)] = Field(default=0, description="0 = a free port")

    @field_validator("symbol", "hedge_symbol")
    @classmethod
    def _symbol_shape(cls, v: str | None) -> str | None:
        if v is not None:
            split_symbol(v)
        return v

    @model_validator(mode="after")
    def _sizes_and_formula(self) -> BrokerConfig:

        if self.min_size > self.max_size:
            raise ValueError(f"min_size {self.min_size} is above max_size {self.max_size}")
        if self.min_size % self.increment_size != 0:
            raise ValueError(
                f"min_size {self.min_size} is not a multiple of increment_size "
                f"{self.increment_size}"
            )
        pair = parse_formula(self.price_formula).pair
        if pair != self.symbol:
            raise ValueError(f"formula {self.price_formula!r} prices {pair}, not {self.symbol}")
        if split_symbol(self.hedged_symbol)[0] != split_symbol(self.symbol)[0]:
            raise ValueError(
                f"hedge_symbol {self.hedged_symbol} must have the base of {self.symbol}"
            )
        return self

    @property
    def price_formula(self) -> str:
        return self.formula or f"*:{self.symbol}"

    @property
    def hedged_symbol(self) -> str:
        return self.hedge_symbol or self.symbol

    def limits_for(self, client: str) -> ClientLimitsConfig:
        return self.clients.get(client, self.client_limits)
