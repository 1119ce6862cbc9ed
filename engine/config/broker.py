"""OTC / broker mode config (engine/broker, actors/broker.py)."""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator

from engine.broker.auth import API_KEY_PATTERN
from engine.broker.formula import parse_formula
from engine.config.base import Bps, NonNegFloat, PositiveFloat, _Frozen
from engine.types import split_symbol


class ClientLimitsConfig(_Frozen):
    """What one RFQ client may trade, in quote-asset notional (UTC days)."""

    max_notional_per_request_quote: PositiveFloat = 100_000.0
    max_notional_per_day_quote: PositiveFloat = 1_000_000.0


class RateLimitConfig(_Frozen):
    """A token bucket: up to `burst` requests at once, refilled at `per_s` a second."""

    per_s: PositiveFloat
    burst: Annotated[int, Field(ge=1, le=100_000)]


MIN_SECRET_CHARS = 32
_API_KEY = re.compile(API_KEY_PATTERN, re.ASCII)
ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class RfqClientConfig(_Frozen):
    """One RFQ client: its key pair (from environment variables: `${ACME_RFQ_KEY}`) and,
    if set, its own limits instead of the broker's `client_limits` / `rate_limit`."""

    api_key: SecretStr
    api_secret: SecretStr
    max_notional_per_request_quote: PositiveFloat | None = None
    max_notional_per_day_quote: PositiveFloat | None = None
    rate_limit: RateLimitConfig | None = None

    @field_validator("api_key")
    @classmethod
    def _key_shape(cls, v: SecretStr) -> SecretStr:
        if not _API_KEY.fullmatch(v.get_secret_value()):
            raise ValueError("api_key must be 16-128 characters of [A-Za-z0-9_-]")
        return v

    @field_validator("api_secret")
    @classmethod
    def _secret_strength(cls, v: SecretStr) -> SecretStr:
        secret = v.get_secret_value()
        if len(secret) < MIN_SECRET_CHARS or not (secret.isascii() and secret.isprintable()):
            raise ValueError(
                f"api_secret must be at least {MIN_SECRET_CHARS} printable ASCII characters "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return v


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    clients: dict[ClientId, RfqClientConfig] = Field(
        default_factory=dict, description="client id -> api key, secret and limit overrides"
    )
    rate_limit: RateLimitConfig = Field(
        default=RateLimitConfig(per_s=10, burst=20),
        description="requests per authenticated client (429 + Retry-After past it)",
    )
    auth_failure_limit: RateLimitConfig = Field(
        default=RateLimitConfig(per_s=20, burst=50),
        description="failed authentications, all callers together, before they get 429",
    )
    signature_window_s: Annotated[float, Field(gt=0, le=300)] = Field(
        default=30.0, description="how far ahead a request's api-expires-ms may be"
    )
    max_body_bytes: Annotated[int, Field(ge=256, le=65_536)] = 4_096
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65_535)] = Field(default=0, description="0 = a free port")
    allow_remote: bool = Field(
        default=False, description="listen on a non-loopback host (behind a TLS proxy only)"
    )

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

    @model_validator(mode="after")
    def _exposure(self) -> BrokerConfig:
        if not self.allow_remote and not is_loopback(self.host):
            raise ValueError(
                f"host {self.host!r} is not loopback: the RFQ API speaks plain HTTP; put it "
                "behind a TLS reverse proxy and set allow_remote: true"
            )
        keys = [c.api_key.get_secret_value() for c in self.clients.values()]
        if len(set(keys)) != len(keys):
            raise ValueError("clients: two clients share an api_key")
        return self

    @property
    def price_formula(self) -> str:
        return self.formula or f"*:{self.symbol}"

    @property
    def hedged_symbol(self) -> str:
        return self.hedge_symbol or self.symbol

    def limits_for(self, client: str) -> ClientLimitsConfig:
        """`client`'s notional limits: its own where set, else `client_limits`."""
        own = self.clients.get(client)
        base = self.client_limits
        if own is None:
            return base
        return ClientLimitsConfig(
            max_notional_per_request_quote=own.max_notional_per_request_quote
            or base.max_notional_per_request_quote,
            max_notional_per_day_quote=own.max_notional_per_day_quote
            or base.max_notional_per_day_quote,
        )

    def rate_limit_for(self, client: str) -> RateLimitConfig:
        own = self.clients.get(client)
        return own.rate_limit if own is not None and own.rate_limit else self.rate_limit
