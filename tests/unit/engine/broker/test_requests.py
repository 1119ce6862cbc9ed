"""engine/broker/requests.py: hostile bodies are a 400 naming what is wrong, never a crash."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.broker import MalformedRequest, UnsupportedMediaType
from engine.broker.requests import (
    MAX_DEPTH,
    check_content_type,
    decode_json_object,
    nesting_depth,
    parse_accept_request,
    parse_quote_request,
)
from engine.types import Side


def quote_body(**fields):
    return {"side": "buy", "size": "0.1", **fields}


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_content_type_passes(content_type):
    check_content_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/json; charset=latin-1",
        "application/jsonp",
    ],
)
def test_other_content_types_are_415(content_type):
    """Issue 11: text/plain bodies were accepted, so any web page could post to 127.0.0.1
    without a CORS preflight (text/plain, forms and multipart are 'simple' requests)."""
    with pytest.raises(UnsupportedMediaType) as exc:
        check_content_type(content_type)
    assert exc.value.status == 415


def test_a_thousand_deep_body_is_refused_before_parsing():
    """Issue 11, case 10: 1,000-deep nesting reached the recursive parser and was a 500."""
    for raw in (b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000, b"[" * 100_000):
        started = time.perf_counter()
        with pytest.raises(MalformedRequest) as exc:
            decode_json_object(raw)
        assert exc.value.status == 400 and "deep" in exc.value.message
        assert time.perf_counter() - started < 0.5


def test_brackets_inside_strings_do_not_count_as_depth():
    raw = json.dumps({"side": "[[[[[[[[{{{{{{", "size": "0.1"}).encode()
    assert nesting_depth(raw) == 1
    assert nesting_depth(b'{"a": "\\"[[[[[[[["}') == 1
    assert nesting_depth(b"[[[[[[]]]]]]") == 6 > MAX_DEPTH


def test_huge_integers_are_refused_without_converting_them():
    """Issue 11, case 10: integers over 4,300 digits raised inside json and were a 500."""
    for raw in (b'{"size": ' + b"9" * 5000 + b"}", b'{"size": 1' + b"0" * 50 + b"}"):
        with pytest.raises(MalformedRequest) as exc:
            decode_json_object(raw)
        assert exc.value.code == "malformed_json" and "characters" in exc.value.message


@pytest.mark.parametrize(
    "size",
    [
        "１",
        "٣",
        "0.１",
        "1e-3",
        "0x1",
        " 0.1",
        "0.1 ",
        "+0.1",
        "-0.1",
        "0",
        "NaN",
        "inf",
        "0.1.1",
        "",
        "1_000",
        True,
        None,
        [],
        {},
    ],
)
def test_a_size_is_a_positive_ascii_decimal_only(size):
    """Issue 11, case 10: "１" (a full-width digit) was taken by Decimal as 1."""
    with pytest.raises(MalformedRequest) as exc:
        parse_quote_request(quote_body(size=size), symbol="BTC/USDT")
    assert exc.value.fields["field"] == "size"


@pytest.mark.parametrize("raw", [b'{"side": "buy", "size": NaN}', b'{"size": Infinity}'])
def test_nan_and_infinity_are_not_json_numbers(raw):
    with pytest.raises(MalformedRequest):
        decode_json_object(raw)


def test_sizes_as_strings_or_json_numbers():
    for raw, size in [(b'"0.25"', "0.25"), (b"0.25", "0.25"), (b"2", "2"), (b"1E-3", "0.001")]:
        body = decode_json_object(b'{"side": "sell", "size": ' + raw + b"}")
        wanted = parse_quote_request(body, symbol="BTC/USDT")
        assert wanted.side is Side.SELL and wanted.size == Decimal(size)


def test_lone_surrogates_and_bad_utf8_are_refused():
    """Issue 11, case 3: {"client": "\\ud800"} passed and broke every later Parquet flush."""
    with pytest.raises(MalformedRequest) as exc:
        decode_json_object(b'{"side": "\\ud800", "size": "0.1"}')
    assert "surrogate" in exc.value.message and "\\ud800" in exc.value.message
    with pytest.raises(MalformedRequest):
        decode_json_object(b'{"\\udfff": 1}')  # in a key too
    for raw in (b'{"side": "\xff"}', b'{"side": "\xed\xa0\x80"}'):  # raw bytes, CESU surrogate
        with pytest.raises(MalformedRequest) as exc2:
            decode_json_object(raw)
        assert "UTF-8" in exc2.value.message


def test_unknown_fields_are_named_and_client_is_one_of_them():
    with pytest.raises(MalformedRequest) as exc:
        parse_quote_request(quote_body(client="acme"), symbol="BTC/USDT")
    assert exc.value.fields["field"] == "client" and "api-key" in exc.value.message
    with pytest.raises(MalformedRequest) as exc2:
        parse_quote_request(quote_body(price="1"), symbol="BTC/USDT")
    assert exc2.value.code == "unknown_field" and exc2.value.fields["field"] == "price"
    with pytest.raises(MalformedRequest) as exc3:
        parse_accept_request({"client": "mallory"})
    assert exc3.value.fields["field"] == "client"
    parse_accept_request({})


def test_duplicate_keys_wrong_shapes_and_long_strings_are_refused():
    for raw in (
        b'{"side": "buy", "side": "sell", "size": "0.1"}',  # which one would win?
        b'["side", "buy"]',
        b'"buy"',
        b"{not json",
        b'{"side": "' + b"b" * 300 + b'", "size": "0.1"}',
    ):
        with pytest.raises(MalformedRequest):
            decode_json_object(raw)
    assert decode_json_object(b"") == {} and decode_json_object(b"  ") == {}


def test_side_and_symbol():
    assert parse_quote_request(quote_body(side="SELL"), symbol="BTC/USDT").side is Side.SELL
    for side in ("hold", 1, None, "ｂｕｙ"):
        with pytest.raises(MalformedRequest) as exc:
            parse_quote_request(quote_body(side=side), symbol="BTC/USDT")
        assert exc.value.fields["field"] == "side"
    with pytest.raises(MalformedRequest) as exc2:
        parse_quote_request(quote_body(symbol="ETH/USDT"), symbol="BTC/USDT")
    assert exc2.value.fields["symbol"] == "BTC/USDT"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(st.sampled_from(["side", "size", "symbol", "client"]), json_values).map(
            lambda v: json.dumps(v).encode()
        ),
    )
)
def test_any_body_is_either_a_quote_request_or_a_400(raw):
    try:
        parse_quote_request(decode_json_object(raw), symbol="BTC/USDT")
    except MalformedRequest as exc:
        assert exc.status == 400
        json.dumps(exc.as_json()).encode("utf-8")  # the answer itself always encodes
