"""The SLA from the rollups `compact` writes equals the SLA from every sample.

Counts, uptime, ratios, targets and PnL exactly; percentiles exactly where a
period is one rollup row, within `HIST_RELATIVE_ERROR` where periods are merged.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from analytics.compaction import compact
from analytics.sla import sla_summary
from analytics.sla_rollup import HIST_RELATIVE_ERROR, ROLLUP_FILE, ROLLUP_TABLE
from analytics.views import connect
from analytics.writer import PartWriter

S = 10**9
HOUR = 3_600 * S
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z
PERCENTILES = ("spread_bps_p50", "spread_bps_p95", "bid_depth_median", "ask_depth_median")
BREACHES = ("spread_breach", "depth_breach")  # follow the percentiles they compare


def _samples(rng: np.random.Generator, market: str, start_ns: int, n: int) -> list[dict]:
    """`n` samples 7 s apart: lognormal spreads (some one-sided books), depths
    with zeros, a run of quoting gaps; each column varied so every ratio is tested."""
    rows = []
    for i in range(n):
        two_sided = rng.random() > 0.1
        spread = float(rng.lognormal(np.log(8.0), 0.5)) if two_sided else None
        mid = 100.0 + i * 0.01
        rows.append(
            {
                "ts": start_ns + i * 7 * S,
                "market": market,
                "best_bid": mid - 0.01,
                "best_ask": mid + 0.01 if two_sided else None,
                "mid": mid,
                "spread_bps": spread,
                "quoting": bool(rng.random() > 0.05),
                "target_spread_bps": 8.0,
                "max_spread_bps": 15.0,
                "depth_band_bps": 50.0,
                "depth_target_quote": 50_000.0,
                "bid_depth_band": float(rng.lognormal(np.log(60_000), 0.4)),
                "ask_depth_band": 0.0 if not two_sided else float(rng.lognormal(11.0, 0.4)),
                "bot_bid_depth_band": float(rng.uniform(0, 30_000)),
                "bot_ask_depth_band": None if i % 5 == 0 else float(rng.uniform(0, 30_000)),
            }
        )
    return rows


def _write(data_dir: str, rows: list[dict], *, run_id: str = "run-a", parts: int = 3) -> None:
    w = PartWriter(data_dir, "book_samples", writer_id=run_id, run_id=run_id, config_hash="c")
    for chunk in np.array_split(np.arange(len(rows)), parts):
        w.append([rows[i] for i in chunk])
        w.flush()


def _fills(data_dir: str) -> None:
    w = PartWriter(data_dir, "fills", writer_id="f", run_id="run-a", config_hash="c")
    fill = {"market": "BTC/USDT", "side": "buy", "price": 100.0, "amount": 0.5, "fee": 0.01}
    w.append(
        [fill | {"ts": T0 + 90 * S, "fill_id": "f1"}, fill | {"ts": T0 + HOUR, "fill_id": "f2"}]
    )
    w.flush()


@pytest.fixture
def data_dir(tmp_path):
    """Two markets over two days in several parts per partition; ETH has a second
    run in hour 1 of day 1, so that hour is merged from two rollup rows."""
    rng = np.random.default_rng(7)
    day = 24 * HOUR
    for market in ("BTC/USDT", "ETH/USDT"):
        for d in range(2):
            _write(str(tmp_path), _samples(rng, market, T0 + d * day, 1_200))  # 2h20
    _write(str(tmp_path), _samples(rng, "ETH/USDT", T0 + HOUR + 30 * S, 200), run_id="run-b")
    _fills(str(tmp_path))
    return str(tmp_path)


def _assert_same(rolled: list[dict], exact: list[dict], *, merged: set[tuple]) -> None:
    """Every figure equal, except the percentiles of `merged` (market, period) groups,
    which are within the histogram's bound (plus the 4-place rounding)."""
    assert [(r["market"], r.get("period")) for r in rolled] == [
        (r["market"], r.get("period")) for r in exact
    ]
    for got, want in zip(rolled, exact, strict=True):
        key = (got["market"], got.get("period"))
        for name, value in want.items():
            if key in merged and name in PERCENTILES:
                assert got[name] == pytest.approx(value, rel=HIST_RELATIVE_ERROR, abs=1e-4), name
            elif key in merged and name in BREACHES:
                continue
            elif isinstance(value, float):
                assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-4), (key, name)
            else:
                assert got[name] == value, (key, name)


def test_hourly_and_daily_rollups_equal_the_raw_sla_exactly_where_one_row_per_period(data_dir):
    assert compact(data_dir)
    con = connect(data_dir)
    exact_hours = sla_summary(con, by="hour")
    eth_two_runs = ("ETH/USDT", "2026-01-01T01:00:00+00:00")
    _assert_same(sla_summary(con, by="hour", data_dir=data_dir), exact_hours, merged={eth_two_runs})
    eth_day = ("ETH/USDT", "2026-01-01T00:00:00+00:00")
    _assert_same(
        sla_summary(con, by="day", data_dir=data_dir), sla_summary(con, by="day"), merged={eth_day}
    )
    rolled = sla_summary(con, run_id="run-a", by="hour", data_dir=data_dir)
    _assert_same(rolled, sla_summary(con, run_id="run-a", by="hour"), merged=set())
    assert sum(r["samples"] for r in rolled) == 4 * 1_200


def test_whole_range_percentiles_are_within_the_stated_bound(data_dir):
    compact(data_dir)
    con = connect(data_dir)
    every_market = {("BTC/USDT", None), ("ETH/USDT", None)}
    rolled = sla_summary(con, data_dir=data_dir)
    _assert_same(rolled, sla_summary(con), merged=every_market)
    start, end = T0 + HOUR, T0 + 25 * HOUR  # hour-aligned: merged from hourly rows
    _assert_same(
        sla_summary(con, start_ns=start, end_ns=end, data_dir=data_dir),
        sla_summary(con, start_ns=start, end_ns=end),
        merged=every_market,
    )
    odd = T0 + HOUR + 17 * S  # cuts through an hour: read raw, exact
    assert sla_summary(con, start_ns=odd, data_dir=data_dir) == sla_summary(con, start_ns=odd)


def test_parts_written_after_the_rollup_are_counted_once(data_dir):
    compact(data_dir)
    rng = np.random.default_rng(8)
    # a run keeps writing: a new part in a rolled-up partition, and a new day
    _write(data_dir, _samples(rng, "BTC/USDT", T0 + 2 * HOUR, 100), parts=1)
    _write(data_dir, _samples(rng, "BTC/USDT", T0 + 50 * HOUR, 100), parts=1)
    con = connect(data_dir)
    rolled = sla_summary(con, by="hour", data_dir=data_dir)
    exact = sla_summary(con, by="hour")
    btc_hour_2 = ("BTC/USDT", "2026-01-01T02:00:00+00:00")  # rollup row + raw part
    eth_two_runs = ("ETH/USDT", "2026-01-01T01:00:00+00:00")
    _assert_same(rolled, exact, merged={btc_hour_2, eth_two_runs})
    assert sum(r["samples"] for r in rolled) == 4 * 1_200 + 200 + 200


def test_compaction_is_idempotent_and_a_stale_rollup_is_never_double_counted(data_dir):
    first = compact(data_dir)
    assert {r.rollup_rows is not None for r in first if "book_samples" in r.partition} == {True}
    assert compact(data_dir) == []  # nothing changed: no part merged, no rollup rewritten
    leaf = "date=2026-01-01/market_id=BTC-USDT"
    rollup = f"{data_dir}/{ROLLUP_TABLE}/{leaf}/{ROLLUP_FILE}"
    shutil.copy(rollup, f"{rollup}.old")
    _write(data_dir, _samples(np.random.default_rng(9), "BTC/USDT", T0, 50), parts=2)
    again = compact(data_dir)  # merges the new parts into the old one, rolls up again
    assert [r.files_in for r in again if leaf in r.partition] == [3]
    con = connect(data_dir)
    total = 4 * 1_200 + 200 + 50
    assert sum(r["samples"] for r in sla_summary(con, data_dir=data_dir)) == total
    # a crash between the merge and the new rollup: the old rollup names parts
    # that are gone, so it is ignored and the partition is read raw
    shutil.move(f"{rollup}.old", rollup)
    assert sum(r["samples"] for r in sla_summary(con, data_dir=data_dir)) == total
    _assert_same(
        sla_summary(con, by="hour", data_dir=data_dir),
        sla_summary(con, by="hour"),
        merged={("ETH/USDT", "2026-01-01T01:00:00+00:00")},
    )


def test_a_partition_left_alone_by_min_age_is_still_counted(data_dir):
    assert compact(data_dir, min_age_s=3_600) == []  # every part is fresh: nothing rolled up
    compact(data_dir)
    _write(data_dir, _samples(np.random.default_rng(10), "SOL/USDT", T0, 30), parts=2)
    assert all("SOL" not in r.partition for r in compact(data_dir, min_age_s=3_600))
    con = connect(data_dir)
    rows = {r["market"]: r for r in sla_summary(con, data_dir=data_dir)}
    assert rows["SOL/USDT"] == {r["market"]: r for r in sla_summary(con)}["SOL/USDT"]


def test_merged_percentiles_hold_the_bound_when_values_pile_up_and_zero_is_exact(tmp_path):
    """The worst case of a histogram: every value the same (the estimate spreads
    them over their bin); a zero depth has a bin of its own and stays exact."""
    rng = np.random.default_rng(11)
    for d in range(2):
        rows = _samples(rng, "BTC/USDT", T0 + d * 24 * HOUR, 300)
        _write(str(tmp_path), [r | {"spread_bps": 8.0, "ask_depth_band": 0.0} for r in rows])
    compact(str(tmp_path))
    con = connect(str(tmp_path))
    (rolled,) = sla_summary(con, data_dir=str(tmp_path))
    (exact,) = sla_summary(con)
    assert exact["spread_bps_p50"] == exact["spread_bps_p95"] == 8.0
    for name in ("spread_bps_p50", "spread_bps_p95"):
        assert rolled[name] == pytest.approx(8.0, rel=HIST_RELATIVE_ERROR)
    assert rolled["ask_depth_median"] == exact["ask_depth_median"] == 0.0
    assert rolled["samples"] == exact["samples"] == 600


def test_the_cli_prints_the_same_hourly_sla_after_compact_as_with_exact(data_dir):
    from typer.testing import CliRunner

    from marketmesh.cli import app

    runner = CliRunner()
    hourly = ["sla", "--data-dir", data_dir, "--by", "hour", "--json", "--run-id", "run-a"]
    before = runner.invoke(app, hourly)
    done = runner.invoke(app, ["compact", "--data-dir", data_dir, "--min-age-s", "0"])
    assert done.exit_code == 0
    assert "SLA rollups written for 4 book_samples partitions" in done.output
    after, exact = runner.invoke(app, hourly), runner.invoke(app, [*hourly, "--exact"])
    assert before.exit_code == after.exit_code == exact.exit_code == 0
    assert after.output == exact.output == before.output
