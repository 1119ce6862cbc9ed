"""HollaEx-style broker price formulas: `venue:BASE/QUOTE` terms joined by `*` and `/`.

Grammar (operators need a space on each side, since symbols contain `/`)::

    formula := term ( (" * " | " / ") term )*
    term    := sources ":" BASE "/" QUOTE  |  number
    sources := "*" | venue ( "," venue )*

`*` as sources means every healthy hedge venue (the consolidated book); a
comma list is those venues' books merged. Examples: `binance-sim:BTC/USDT`,
`*:BTC/USDT`, and the cross `binance-sim:BTC/USDT / okx-sim:ETH/USDT`
(BTC priced in ETH). A number scales the price (`* 1.001`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.types import split_symbol

ALL_VENUES = "*"
_OPERATOR = re.compile(r"\s+([*/])\s+")
_VENUE = re.compile(r"^[A-Za-z0-9_.-]+$")
_SYMBOL = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9]+$")


class FormulaError(ValueError):
    """A formula that cannot be parsed or does not compose to a pair."""


@dataclass(frozen=True, slots=True)
class FormulaTerm:
    """One factor of the formula; `divide` says it divides what comes before it."""

    divide: bool
    sources: tuple[str, ...] = ()
    symbol: str | None = None
    constant: float | None = None

    @property
    def consolidated(self) -> bool:
        return self.sources == (ALL_VENUES,)


@dataclass(frozen=True, slots=True)
class PriceFormula:
    text: str
    terms: tuple[FormulaTerm, ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(t.symbol for t in self.terms if t.symbol is not None)

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(sorted({v for t in self.terms for v in t.sources if v != ALL_VENUES}))

    @property
    def pair(self) -> str:
        """The pair the formula prices: `BTC/USDT / ETH/USDT` -> `BTC/ETH`."""
        base = quote = None
        for term in self.terms:
            if term.symbol is None:
                continue
            b, q = split_symbol(term.symbol)
            if base is None:
                base, quote = b, q
            elif term.divide:
                if q != quote:
                    raise FormulaError(
                        f"formula {self.text!r}: cannot divide a price in {quote} by {term.symbol}"
                    )
                quote = b
            else:
                if b != quote:
                    raise FormulaError(
                        f"formula {self.text!r}: cannot multiply a price in {quote} by "
                        f"{term.symbol}"
                    )
                quote = q
        if base is None or base == quote:
            raise FormulaError(f"formula {self.text!r}: names no pair")
        return f"{base}/{quote}"


def parse_formula(text: str) -> PriceFormula:
    """Parse `text`; raise `FormulaError` naming the bad part."""
    parts = _OPERATOR.split(text.strip())
    terms: list[FormulaTerm] = []
    ops = ["*", *parts[1::2]]
    for op, raw in zip(ops, parts[0::2], strict=True):
        terms.append(_term(text, raw.strip(), divide=op == "/"))
    if terms[0].symbol is None:
        raise FormulaError(f"formula {text!r}: must start with a venue:BASE/QUOTE term")
    formula = PriceFormula(text=text, terms=tuple(terms))
    formula.pair  # noqa: B018  (raises if the units do not compose)
    return formula


def _term(text: str, raw: str, *, divide: bool) -> FormulaTerm:
    if not raw:
        raise FormulaError(f"formula {text!r}: empty term")
    if ":" not in raw:
        try:
            value = float(raw)
        except ValueError:
            raise FormulaError(
                f"formula {text!r}: term {raw!r} is neither venue:BASE/QUOTE nor a number"
            ) from None
        if not value > 0:
            raise FormulaError(f"formula {text!r}: constant {raw!r} must be positive")
        return FormulaTerm(divide=divide, constant=value)
    sources_text, _, symbol = raw.partition(":")
    sources = tuple(s.strip() for s in sources_text.split(","))
    if sources != (ALL_VENUES,) and not all(_VENUE.match(s) for s in sources):
        raise FormulaError(f"formula {text!r}: bad venue list {sources_text!r} in {raw!r}")
    if not _SYMBOL.match(symbol):
        raise FormulaError(f"formula {text!r}: {symbol!r} is not BASE/QUOTE")
    return FormulaTerm(divide=divide, sources=sources, symbol=symbol)
