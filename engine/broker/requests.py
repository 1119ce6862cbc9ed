"""Strict parsing of RFQ request bodies: every byte is hostile until it has passed here.

A body must be `Content-Type: application/json` (a web page cannot send that
cross-origin without a CORS preflight, which the broker never answers), at
most `max_body_bytes`, valid UTF-8, a JSON object nested at most
`MAX_DEPTH` deep (checked before parsing, so a 1,000-deep body never reaches
the recursive parser), with numbers of at most `MAX_NUMBER_CHARS` characters
(so a 4,300-digit integer is refused before Python converts it), no NaN or
Infinity, no duplicate keys, no lone surrogates (`"\\ud800"` decodes to a
string that cannot be encoded again), and only the fields the endpoint
defines. A size is an ASCII decimal string (`"0.25"`) or a JSON number;
`"１"` (a full-width digit, which `Decimal` would take) is refused.

Every refusal is a `MalformedRequest` (400) naming the field, with hostile
text shown escaped (`ascii()`) and cut short.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.broker.errors import MalformedRequest, UnsupportedMediaType
from engine.types import Side

MAX_DEPTH = 4
MAX_NUMBER_CHARS = 40
MAX_STRING_CHARS = 256
MAX_FIELDS = 16
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,18})?", re.ASCII)
QUOTE_FIELDS = frozenset({"side", "size", "symbol"})
ACCEPT_FIELDS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """What a client asks a firm price for; `side` is the client's side."""

    side: Side
    size: Decimal


def shown(value: Any, limit: int = 40) -> str:
    """`value` for an error message: escaped to ASCII and cut to `limit` characters."""
    text = ascii(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def check_content_type(content_type: str | None) -> None:
    """Refuse (415) anything but `application/json` (charset utf-8 if one is named)."""
    mime, _, params = (content_type or "").partition(";")
    charset = params.strip().lower()
    if mime.strip().lower() != "application/json" or charset not in ("", "charset=utf-8"):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, got {shown(content_type or 'none')}"
        )


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in `raw`, ignoring brackets inside strings.

    One linear pass (a regex over strings can backtrack quadratically on
    unterminated ones); skipped when `raw` holds too few brackets to matter.
    """
    opening = raw.count(b"[") + raw.count(b"{")
    if opening <= MAX_DEPTH:
        return opening  # an upper bound, and already within the limit
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _number(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters (max {MAX_NUMBER_CHARS})")
    return Decimal(text)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_FIELDS:
        raise ValueError(f"an object of {len(pairs)} fields (max {MAX_FIELDS})")
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate field {shown(key)}")
        out[key] = value
    return out


def _check_strings(node: Any, where: str) -> None:
    """Every string (keys too) encodes to UTF-8 and is at most MAX_STRING_CHARS long."""
    if isinstance(node, str):
        if len(node) > MAX_STRING_CHARS:
            raise MalformedRequest(
                f"{where}: a string of {len(node)} characters (max {MAX_STRING_CHARS})",
                field=where,
            )
        try:
            node.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedRequest(
                f"{where}: {shown(node)} is not valid Unicode (a lone surrogate)", field=where
            ) from None
    elif isinstance(node, dict):
        for key, value in node.items():
            _check_strings(key, "field name")
            _check_strings(value, key[:64])
    elif isinstance(node, list):
        for value in node:
            _check_strings(value, where)


def decode_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a `MalformedRequest` saying what is wrong with it."""
    if not raw.strip():
        return {}
    depth = nesting_depth(raw)
    if depth > MAX_DEPTH:
        raise MalformedRequest(f"body nests {depth} deep (max {MAX_DEPTH})", code="malformed_json")
    try:
        text = raw.decode("utf-8")  # strict: refuses invalid bytes and encoded surrogates
    except UnicodeDecodeError as exc:
        raise MalformedRequest(
            f"body is not valid UTF-8 (byte {exc.start})", code="malformed_json"
        ) from None
    try:
        body = json.loads(
            text,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedRequest(
            f"body is not valid JSON: {shown(str(exc), 120)}", code="malformed_json"
        ) from None
    if not isinstance(body, dict):
        raise MalformedRequest("body must be a JSON object", code="malformed_json")
    _check_strings(body, "body")
    return body


def reject_unknown_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    """400 naming the first field the endpoint does not define."""
    for name in sorted(set(body) - allowed):
        hint = (
            ": the client is the owner of the api-key that signed the request"
            if name == "client"
            else f" (allowed: {', '.join(sorted(allowed)) or 'none'})"
        )
        raise MalformedRequest(
            f"unknown field {shown(name)}{hint}", code="unknown_field", field=name[:64]
        )


def decimal_field(value: Any, name: str) -> Decimal:
    """A positive finite decimal from an ASCII decimal string or a JSON number."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise MalformedRequest(
                f'field {name!r}: {shown(value)} is not an ASCII decimal such as "0.25"',
                field=name,
            )
        out = Decimal(value)
    elif isinstance(value, Decimal):  # a JSON number (parse_int/parse_float give Decimal)
        out = value
    else:
        raise MalformedRequest(
            f"field {name!r} is required: a decimal string or number", field=name
        )
    try:
        positive = out.is_finite() and out > 0
    except InvalidOperation:
        positive = False
    if not positive:
        raise MalformedRequest(f"field {name!r}: {shown(value)} must be positive", field=name)
    return out


def parse_quote_request(body: dict[str, Any], *, symbol: str) -> QuoteRequest:
    """`{"side": "buy"|"sell", "size": "0.1"[, "symbol": symbol]}`, nothing else."""
    reject_unknown_fields(body, QUOTE_FIELDS)
    if "symbol" in body and body["symbol"] != symbol:
        raise MalformedRequest(
            f"field 'symbol': {shown(body['symbol'])}: this broker quotes {symbol}",
            field="symbol",
            symbol=symbol,
        )
    raw_side = body.get("side")
    side = raw_side.lower() if isinstance(raw_side, str) and raw_side.isascii() else None
    if side not in (Side.BUY.value, Side.SELL.value):
        raise MalformedRequest(
            f"field 'side': {shown(raw_side)}: expected 'buy' or 'sell' (the client's side)",
            field="side",
        )
    return QuoteRequest(side=Side(side), size=decimal_field(body.get("size"), "size"))


def parse_accept_request(body: dict[str, Any]) -> None:
    """An accept carries nothing but its signature: the body is empty or `{}`."""
    reject_unknown_fields(body, ACCEPT_FIELDS)
