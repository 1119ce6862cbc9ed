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
        # since the honest-SLA version: `target_spread_bps` is the configured target
        # (rows without `configured_target_spread_bps` may hold a widened one), the
        # target the engine actually quoted to is `effective_target_spread_bps`, and
        # `quote_state` says why quoting departed from normal (engine.quote_records)
        _f("configured_target_spread_bps", f64),
        _f("configured_depth_target_quote", f64),
        _f("effective_target_spread_bps", f64),
        _f("quote_state", pa.string()),
        _f("reference_mid", f64),  # the reference mid at the sample: the markouts' basis
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
            # why a placed ladder stood where it did (engine/quote_records.decision_inputs)
            _f("decision_id", pa.string()),
            _f("policy", pa.string()),
            _f("hedge_mode", pa.string()),
            _f("decision_mid", pa.float64()),
            _f("reference_age_s", pa.float64()),
            _f("inventory", pa.float64()),
            _f("inventory_limit", pa.float64()),
            _f("vol_regime", pa.string()),
            _f("sigma_bps_per_sqrt_s", pa.float64()),
            _f("target_spread_bps", pa.float64()),
            _f("max_spread_bps", pa.float64()),
            _f("guards", pa.string()),
            # all-in cost of hedging this level (and the levels before it) when quoted, bps of mid
            _f("hedge_cost_bps", pa.float64()),
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
            # the home venue's taker fee on this fill, charged to the counterparty when
            # the bot was the maker: the exchange's revenue from the bot's liquidity
            _f("taker_fee_quote", pa.float64()),
            # the quote's all-in hedge cost when it was placed (bps of mid): subsidy = cost - edge
            _f("expected_hedge_cost_bps", pa.float64()),
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
            # the slice's decision: every venue's book as planned on (JSON list: venue,
            # best_bid, best_ask, age_ms, taker_fee, available) and why venues were left out
            _f("decision_books", pa.string()),
            _f("plan_reasons", pa.string()),  # JSON list of strings
            _f("book_age_ms", pa.float64()),  # age at decision of the venue's book used
            # fill -> hedge in legs: when the mirrored fill reached the router (its first
            # slice), and how long the plan waited for young books (asked again)
            _f("fill_received_ts", TS_TYPE),
            _f("book_wait_ms", pa.float64()),
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


def _maker_orders() -> pa.Schema:
    """Each user maker's resting orders at each book sample (the home venue's per-owner
    order feed: the simulator's makers, or a live exchange's admin feed or export); the
    incentive program scores them. `mid` is the sample's mid."""
    return pa.schema(
        [
            *_common(market=True),
            _f("owner", pa.string(), required=True),
            _f("side", pa.string(), required=True),
            _f("price", pa.float64(), required=True),
            _f("amount", pa.float64(), required=True),
            _f("mid", pa.float64()),
        ]
    )


def _incentives() -> pa.Schema:
    """One user maker's incentive score and payout for one market and period (`ts` is
    the period's start); written by `marketmesh incentives` (`analytics.incentives`)."""
    f64 = pa.float64()
    return pa.schema(
        [
            *_common(market=True),
            _f("period", pa.string(), required=True),
            _f("owner", pa.string(), required=True),
            _f("samples", pa.int64()),
            _f("uptime_pct", f64),
            _f("bid_score_quote", f64),
            _f("ask_score_quote", f64),
            _f("score_quote", f64),
            _f("share_pct", f64),
            _f("payout_quote", f64),
            _f("budget_quote", f64),
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
    "maker_orders": _maker_orders(),
    "incentives": _incentives(),
}
TABLES: tuple[str, ...] = tuple(SCHEMAS)
MARKET_TABLES: frozenset[str] = frozenset(
    {
        "book_samples",
        "quotes",
        "fills",
        "hedge_orders",
        "hedge_fills",
        "rfq_quotes",
        "maker_orders",
        "incentives",
    }
)
"""Tables partitioned by `market_id` as well as by date (rows of one home market)."""


def schema_for(table: str) -> pa.Schema:
    """The Arrow schema of `table`; a `SchemaError` names the known tables otherwise."""
    try:
        return SCHEMAS[table]
    except KeyError:
        raise SchemaError(f"unknown table {table!r}; known: {', '.join(TABLES)}") from None
