"""The one grading of a book sample (`analytics.sla_samples`) against a plain-Python
reading of its definition, on generated samples (hypothesis)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.sla_samples import graded_sql, samples_relation

STATES = [None, "normal", "paused", "stale_reference", "vol_pause", "one_sided", "vol_widen"]

samples = st.lists(
    st.fixed_dictionaries(
        {
            "spread_bps": st.one_of(st.none(), st.floats(0, 40)),
            "quoting": st.one_of(st.none(), st.booleans()),
            "bid_depth_band": st.floats(0, 100),
            "ask_depth_band": st.floats(0, 100),
            "bot_bid_depth_band": st.one_of(st.none(), st.floats(0, 100)),
            "bot_ask_depth_band": st.one_of(st.none(), st.floats(0, 100)),
            "target_spread_bps": st.floats(1, 30),
            "configured_target_spread_bps": st.one_of(st.none(), st.floats(1, 30)),
            "depth_target_quote": st.floats(1, 100),
            "configured_depth_target_quote": st.one_of(st.none(), st.floats(1, 100)),
            "quote_state": st.sampled_from(STATES),
        }
    ),
    min_size=1,
    max_size=20,
)


def _expected(s: dict) -> tuple[bool, bool, str | None]:
    target = s["configured_target_spread_bps"] or s["target_spread_bps"]
    depth_target = s["configured_depth_target_quote"] or s["depth_target_quote"]
    quoting = bool(s["quoting"])
    spread_ok = quoting and s["spread_bps"] is not None and s["spread_bps"] <= target
    depth_ok = s["bid_depth_band"] >= depth_target and s["ask_depth_band"] >= depth_target
    if spread_ok and depth_ok:
        return spread_ok, depth_ok, None
    if s["quote_state"] not in (None, "normal"):
        return spread_ok, depth_ok, s["quote_state"]
    if not quoting:
        bot = (s["bot_bid_depth_band"] or 0) > 0 or (s["bot_ask_depth_band"] or 0) > 0
        return spread_ok, depth_ok, "one_sided" if bot else "not_quoting"
    return spread_ok, depth_ok, "spread_over_target" if not spread_ok else "depth_below_target"


@settings(max_examples=60, deadline=None)
@given(samples)
def test_every_sample_is_graded_as_defined(rows):
    con = duckdb.connect()
    table = pa.Table.from_pylist(
        [{"i": i, **r} for i, r in enumerate(rows)],
        schema=pa.schema(
            [("i", pa.int64()), ("quoting", pa.bool_()), ("quote_state", pa.string())]
            + [(k, pa.float64()) for k in rows[0] if k not in ("quoting", "quote_state")]
        ),
    )
    con.register("s", table)
    got = con.execute(
        f"select spread_ok, depth_ok, breach_reason, sla_excluded from "
        f"({graded_sql(samples_relation(con, 's'), ('vol_pause',))}) order by i"
    ).fetchall()
    for row, (spread_ok, depth_ok, reason, excluded) in zip(rows, got, strict=True):
        assert (spread_ok, depth_ok, reason) == _expected(row), row
        assert excluded == (reason == "vol_pause")
