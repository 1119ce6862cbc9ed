"""Shared pieces of the config models: constrained types, the frozen base, errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
NonNegDecimal = Annotated[Decimal, Field(ge=0)]
# a price or amount grid step: above 0, no finer than 1e-18 (no venue lists finer)
GridStep = Annotated[Decimal, Field(ge=Decimal("1e-18"), le=Decimal("1e12"))]
Bps = Annotated[float, Field(ge=0, le=10_000)]
FeeRate = Annotated[float, Field(ge=-0.01, le=0.05)]


class ConfigError(ValueError):
    """A config that cannot run. The message is `file: key: reason`."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Probability = Annotated[float, Field(ge=0, le=1)]


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _invalid(source: str, exc: ValidationError, within: tuple[Any, ...] = ()) -> ConfigError:
    """One `source: key: reason` line per validation error; `within` prefixes the keys.
    A check across the whole config names its own keys (`markets: symbols must be
    unique; repeated: ...`), so it gets no `(top level)`."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = within + tuple(err["loc"])
        reason = err["msg"].removeprefix("Value error, ")
        if not loc and err["type"] == "value_error":
            lines.append(f"{source}: {reason}")
        else:
            lines.append(f"{source}: {_loc(loc)}: {reason}")
    return ConfigError("\n".join(lines))
