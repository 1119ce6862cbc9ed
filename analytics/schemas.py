"""Arrow schemas of every table in the marketmesh dataset.

Analysts query these column names, so they are a contract: add columns, never
rename them. Every row carries `ts` (UTC nanoseconds, `timestamp[ns, tz=UTC]`),
`run_id` and `config_hash`, so SLA figures can be split by run and by config.

Prices and sizes are float64 everywhere the engine decides with floats (quotes,
fills, hedges): they are rounded to the venue grid already and analysts only
aggregate them. Money that must reconcile to the unit (`ledger_entries.amount`,
`transfers.amount`/`fee`) is `decimal128(38, 18)`: 20 integer and 18 fractional
digits, enough for any balance in any asset without rounding.
"""

from __future__ import annotations

import pyarrow as pa

TS_TYPE = pa.timestamp("ns", tz="UTC")
EXACT_AMOUNT_TYPE = pa.decimal128(38, 18)
DEPTH_BANDS_BPS: tuple[int, ...] = (10, 25, 50, 100, 200)

DATE_PARTITION = "date"
MARKET_PARTITION = "market_id"


class SchemaError(ValueError):
    """A row that does not fit its table: the message names the table and the column."""


def _f(name: str, type_: pa.DataType, *, required: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=not required)


def _common(*, market: bool) -> list[pa.Field]:
    fields = [
        _f("ts", TS_TYPE, required=True),
        _f("run_id", pa.string(), required=True),
        _f("config_hash", pa.string(), required=True),
    ]
    if market:
        fields.append(_f("market", pa.string(), required=True))
    return fields


def _book_samples() -> pa.Schema:
    f64 = pa.float64()
    fields = [*_common(market=True), _f("best_bid", f64), _f("best_ask", f64), _f("mid", f64)]
    fields.append(_f("spread_bps", f64))
    for side in ("bid", "ask"):
        fields += [_f(f"{side}_depth_{band}bps", f64) for band in DEPTH_BANDS_BPS]
    fields += [
        _f("bot_bid_depth_50bps", f64),
        _f("bot_ask_depth_50bps", f64),
        _f("quoting", pa.bool_()),
        _f("target_spread_bps", f64),
        _f("max_spread_bps", f64),
        _f("depth_band_bps", f64),
        _f("depth_target_quote", f64),
        _f("bid_depth_band", f64),
        _f("ask_depth_band", f64),
        _f("bot_bid_depth_band", f64),
        _f("bot_ask_depth_band", f64),
    ]
    return pa.schema(fields)


def _quotes() -> pa.Schema:
    return pa.schema(
        [
            *_common(market=True),
            _f("side", pa.string()),
            _f("level", pa.int32()),
            _f("price", pa.float64()),
            _f("amount", pa.float64()),
            _f("client_order_id", pa.string()),
            _f("action", pa.string(), required=True),
        ]
    )


def _fills() -> pa.Schema:
    return pa.schema(
        [
            *_common(market=True),
            _f("fill_id", pa.string(), required=True),
            _f("order_id", pa.string()),
            _f("side", pa.string(), required=True),
            _f("price", pa.float64(), required=True),
            _f("amount", pa.float64(), required=True),
            _f("fee", pa.float64()),
            _f("fee_currency", pa.string()),
            _f("liquidity", pa.string()),
            _f("mid", pa.float64()),
            # when the engine saw the fill: fill -> hedge latency without the venue's delay
            _f("seen_ts", TS_TYPE),
        ]
    )


def _hedge_orders() -> pa.Schema:
    return pa.schema(
        [
            *_common(market=True),
            _f("hedge_id", pa.string(), required=True),
            _f("source_fill_id", pa.string()),
            _f("venue", pa.string()),
            _f("client_order_id", pa.string()),
            _f("side", pa.string(), required=True),
            _f("type", pa.string()),
            _f("amount", pa.float64()),
            _f("limit_price", pa.float64()),
            _f("decision_mid", pa.float64()),
            _f("status", pa.string(), required=True),
            _f("reason", pa.string()),
            _f("filled_amount", pa.float64()),
            # execution quality of the row's hedge (slice), all-in = fees included, per base
            _f("achieved_all_in_price", pa.float64()),
            _f("best_single_venue", pa.string()),
            _f("best_single_all_in_price", pa.float64()),
            _f("optimum_all_in_price", pa.float64()),
            _f("saving_bps", pa.float64()),  # vs the best single venue, > 0 when cheaper
            _f("book_age_ms", pa.float64()),  # age at decision of the venue's book used
        ]
    )


def _hedge_fills() -> pa.Schema:
    return pa.schema(
        [
            *_common(market=True),
            _f("hedge_id", pa.string(), required=True),
            _f("client_order_id", pa.string()),
            _f("order_id", pa.string()),
            _f("venue", pa.string(), required=True),
            _f("side", pa.string(), required=True),
            _f("price", pa.float64(), required=True),
            _f("amount", pa.float64(), required=True),
            _f("cost", pa.float64()),
            _f("fee", pa.float64()),
            _f("fee_currency", pa.string()),
        ]
    )


def _ledger_entries() -> pa.Schema:
    return pa.schema(
        [
            *_common(market=False),
            _f("entry_id", pa.string(), required=True),
            _f("ref", pa.string()),
            _f("venue", pa.string(), required=True),
            _f("account", pa.string(), required=True),
            _f("asset", pa.string(), required=True),
            _f("amount", EXACT_AMOUNT_TYPE, required=True),
            _f("kind", pa.string()),
        ]
    )


def _exposure() -> pa.Schema:
    return pa.schema(
        [
            *_common(market=False),
            _f("asset", pa.string(), required=True),
            _f("net", pa.float64()),
            _f("pending", pa.float64()),
            _f("target", pa.float64()),
            _f("threshold", pa.float64()),
        ]
    )


def _transfers() -> pa.Schema:
    """A movement of funds between venues: planned, then sent, then completed or failed."""
    return pa.schema(
        [
            *_common(market=False),
            _f("transfer_id", pa.string(), required=True),
            _f("asset", pa.string(), required=True),
            _f("amount", EXACT_AMOUNT_TYPE, required=True),
            _f("from_venue", pa.string()),
            _f("to_venue", pa.string()),
            _f("network", pa.string()),
            _f("fee", EXACT_AMOUNT_TYPE),
            _f("txid", pa.string()),
            _f("status", pa.string(), required=True),
            _f("reason", pa.string()),
        ]
    )


def _alerts() -> pa.Schema:
    """Something an operator should look at: an SLA breach, a stale venue, a failed hedge."""
    return pa.schema(
        [
            *_common(market=False),
            _f("alert_id", pa.string()),
            _f("severity", pa.string(), required=True),
            _f("source", pa.string(), required=True),
            _f("kind", pa.string(), required=True),
            _f("market", pa.string()),
            _f("venue", pa.string()),
            _f("message", pa.string()),
            _f("value", pa.float64()),
            _f("threshold", pa.float64()),
            _f("action", pa.string()),  # what the alert did: widen, pause_market, ...
            _f("action_result", pa.string()),
        ]
    )


def _rfq_quotes() -> pa.Schema:
    """Every RFQ event of a broker (actors/broker.py): a firm quote given, a request
    refused, a quote accepted (its fill is in `fills`), an accept rejected."""
    f64 = pa.float64()
    return pa.schema(
        [
            *_common(market=True),
            _f("broker", pa.string(), required=True),
            _f(
                "event", pa.string(), required=True
            ),  # quoted | refused | accepted | accept_rejected
            _f("quote_id", pa.string()),
            _f("client", pa.string()),
            _f("side", pa.string()),  # the client's side
            _f("size", f64),
            _f("price", f64),
            _f("mid_price", f64),
            _f("walked_price", f64),
            _f("deviation_bps", f64),
            _f("expires_ts", TS_TYPE),
            _f("reason", pa.string()),  # the error code and message of a refusal
        ]
    )


SCHEMAS: dict[str, pa.Schema] = {
    "book_samples": _book_samples(),
    "quotes": _quotes(),
    "fills": _fills(),
    "hedge_orders": _hedge_orders(),
    "hedge_fills": _hedge_fills(),
    "ledger_entries": _ledger_entries(),
    "exposure": _exposure(),
    "transfers": _transfers(),
    "alerts": _alerts(),
    "rfq_quotes": _rfq_quotes(),
}
TABLES: tuple[str, ...] = tuple(SCHEMAS)
MARKET_TABLES: frozenset[str] = frozenset(
    {"book_samples", "quotes", "fills", "hedge_orders", "hedge_fills", "rfq_quotes"}
)
"""Tables partitioned by `market_id` as well as by date (rows of one home market)."""


def schema_for(table: str) -> pa.Schema:
    """The Arrow schema of `table`; a `SchemaError` names the known tables otherwise."""
    try:
        return SCHEMAS[table]
    except KeyError:
        raise SchemaError(f"unknown table {table!r}; known: {', '.join(TABLES)}") from None
