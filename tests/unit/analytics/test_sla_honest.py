"""Issue 13: the SLA grades the configured target, names every breach's reason, shows its
exclusions, reads parts older than its columns, and reports the operator's economics."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.compaction import compact
from analytics.sla import sla_summary
from analytics.views import connect
from analytics.writer import PartWriter

S = 10**9
T0 = 1_714_521_600 * S  # 2024-05-01T00:00:00Z

# (spread bps, bot quotes both sides, quote state, effective target): configured target 8
SAMPLES = [
    (6.0, True, "normal", 8.0),  # met
    (7.0, True, "normal", 8.0),  # met
    (10.0, True, "target_widened", 10.0),  # an alert widened the target to 10: a breach
    (9.5, True, "target_widened", 10.0),
    (16.0, True, "vol_widen", 16.0),  # the vol guard's x2: a breach with its reason
    (None, False, "vol_pause", 8.0),  # a volatility halt
    (None, False, "vol_pause", 8.0),
    (None, False, "one_sided", 8.0),  # at the inventory limit
    (None, False, "paused", 8.0),
    (9.0, True, "normal", 8.0),  # over the target for no recorded reason
]


def _sample(i: int, spread: float | None, quoting: bool, state: str, effective: float) -> dict:
    mid = 100.0
    return {
        "ts": T0 + i * S,
        "market": "ETH/USDT",
        "best_bid": mid * (1 - (spread or 0) / 2e4),
        "best_ask": mid * (1 + spread / 2e4) if spread is not None else None,
        "mid": mid,
        "spread_bps": spread,
        "quoting": quoting,
        # what a widened run wrote before the fix: the raised target in `target_spread_bps`
        "target_spread_bps": 8.0,
        "configured_target_spread_bps": 8.0,
        "effective_target_spread_bps": effective,
        "configured_depth_target_quote": 1_000.0,
        "depth_target_quote": 1_000.0,
        "max_spread_bps": 40.0,
        "depth_band_bps": 50.0,
        "bid_depth_band": 2_000.0,
        "ask_depth_band": 2_000.0 if quoting or state == "paused" else 0.0,
        "bot_bid_depth_band": 2_000.0 if state == "one_sided" or quoting else 0.0,
        "bot_ask_depth_band": 2_000.0 if quoting else 0.0,
        "quote_state": state,
        "reference_mid": mid + 0.05,
    }


def _fill(fill_id: str, side: str, price: float, amount: float, ts: int, mid: float) -> dict:
    return {
        "ts": ts,
        "market": "ETH/USDT",
        "fill_id": fill_id,
        "order_id": f"o-{fill_id}",
        "side": side,
        "price": price,
        "amount": amount,
        "fee": 0.0,
        "fee_currency": "USDT",
        "liquidity": "maker",
        "mid": mid,
        "taker_fee_quote": price * amount * 0.001,
    }


def _write(data_dir: str, table: str, rows: list[dict]) -> None:
    w = PartWriter(data_dir, table, writer_id="t", run_id="r", config_hash="cfg")
    w.append(rows)
    w.flush()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> str:
    d = str(tmp_path_factory.mktemp("honest"))
    _write(d, "book_samples", [_sample(i, *s) for i, s in enumerate(SAMPLES)])
    _write(
        d,
        "fills",
        [
            # bought 1 at 99.9 and sold 1 at 100.1 around a 100 mid: 0.2 captured, netted
            _fill("f1", "buy", 99.9, 1.0, T0 + 1 * S, 100.0),
            _fill("f2", "sell", 100.1, 1.0, T0 + 2 * S, 100.0),
            # sold 2 at 100.2, hedged by buying 2 at 100.05 against a 100.0 decision mid
            _fill("f3", "sell", 100.2, 2.0, T0 + 3 * S, 100.0),
        ],
    )
    _write(
        d,
        "hedge_orders",
        [
            {
                "ts": T0 + 3 * S,
                "market": "ETH/USDT",
                "hedge_id": "h3",
                "source_fill_id": "f3",
                "venue": "x",
                "client_order_id": "c3",
                "side": "buy",
                "amount": 2.0,
                "decision_mid": 100.0,
                "status": "filled",
                "filled_amount": 2.0,
            }
        ],
    )
    _write(
        d,
        "hedge_fills",
        [
            {
                "ts": T0 + 3 * S,
                "market": "ETH/USDT",
                "hedge_id": "h3",
                "client_order_id": "c3",
                "venue": "x",
                "side": "buy",
                "price": 100.05,
                "amount": 2.0,
                "cost": 200.1,
                "fee": 0.2,
                "fee_currency": "USDT",
            }
        ],
    )
    return d


def test_graded_against_the_configured_target_with_every_breach_named(data_dir):
    (row,) = sla_summary(connect(data_dir))
    assert row["target_spread_bps"] == 8.0  # configured, not the widened 10
    assert row["spread_within_target_pct"] == 20.0  # samples 0 and 1 only
    assert row["sla_met_pct"] == 20.0
    assert row["breach_reasons"] == {
        "target_widened": 20.0,
        "vol_pause": 20.0,
        "one_sided": 10.0,
        "paused": 10.0,
        "spread_over_target": 10.0,
        "vol_widen": 10.0,
    }
    assert sum(row["breach_reasons"].values()) + row["sla_met_pct"] == 100.0
    assert row["exclusions"] == {}


def test_an_exclusion_is_a_named_rule_shown_with_its_share_of_time(data_dir):
    (row,) = sla_summary(connect(data_dir), exclusions={"volatility_halt": ("vol_pause",)})
    assert row["exclusions"] == {"volatility_halt": 20.0}
    assert row["samples"] == 10  # still counted, only left out of the graded shares
    assert row["spread_within_target_pct"] == 25.0  # 2 of the 8 samples left
    assert row["uptime_pct"] == 75.0  # 6 of 8 with both sides quoted
    assert row["breach_reasons"]["vol_pause"] == 20.0  # and still shown as a reason


def test_rollups_count_the_same_reasons_as_every_sample(data_dir, tmp_path):
    import shutil

    copy = str(tmp_path / "d")
    shutil.copytree(data_dir, copy)
    assert compact(copy, min_age_s=0)
    con = connect(copy)
    (rolled,) = sla_summary(con, data_dir=copy, by="day")
    (exact,) = sla_summary(con, by="day")
    for key in ("sla_met_pct", "breach_reasons", "spread_within_target_pct", "uptime_pct"):
        assert rolled[key] == exact[key], key


def test_hedged_and_netted_shares_and_the_operators_economics(data_dir):
    (row,) = sla_summary(connect(data_dir))
    # 4 base traded: 2 hedged, the buy and sell of 1 offset each other, nothing left open
    assert row["hedged_pct"] == 50.0 and row["netted_pct"] == 50.0
    assert row["spread_capture_quote"] == pytest.approx(0.1 + 0.1 + 0.4)
    assert row["hedge_cost_quote"] == pytest.approx(0.2 + 2 * 0.05)  # fees + slippage
    notional = 99.9 + 100.1 + 200.4
    assert row["home_taker_fee_revenue_quote"] == pytest.approx(notional * 0.001)
    assert row["desk_pnl_bps"] == pytest.approx(row["pnl_quote"] / notional * 1e4, abs=1e-3)
    pnl = (
        connect(data_dir)
        .execute(
            "select spread_capture_quote, hedge_cost_quote, home_taker_fee_revenue_quote, "
            "desk_pnl_bps, total_pnl_quote from pnl"
        )
        .fetchone()
    )
    assert pnl[0] == pytest.approx(0.6) and pnl[1] == pytest.approx(0.3)
    assert pnl[2] == pytest.approx(notional * 0.001)
    assert pnl[3] == pytest.approx(pnl[4] / notional * 1e4)


def test_markouts_use_the_reference_mid_at_both_ends(data_dir):
    row = (
        connect(data_dir)
        .execute(
            "select mid_5s, effective_spread_bps, realised_spread_5s_bps, adverse_selection_5s_bps "
            "from markouts where fill_id = 'f1'"
        )
        .fetchone()
    )
    assert row[0] == pytest.approx(100.05)  # the sample's reference mid, not its book mid
    assert row[3] == pytest.approx(row[1] - row[2])
    assert row[3] == pytest.approx((100.0 - 100.05) / 100.0 * 1e4)


def _before_issue_13(table: str, values: dict, n: int) -> pa.Table:
    """A part as written before issue 13: the table's columns then, nulls where not given."""
    from analytics.schemas import SCHEMAS
    from analytics.sla import FILL_ADDED_COLUMNS
    from analytics.sla_samples import ADDED_COLUMNS

    added = set(ADDED_COLUMNS) | set(FILL_ADDED_COLUMNS)
    fields = [f for f in SCHEMAS[table] if f.name not in added]
    columns = [
        pa.array(values[f.name], f.type) if f.name in values else pa.nulls(n, f.type)
        for f in fields
    ]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def test_parts_older_than_the_new_columns_read_as_nulls_not_errors(tmp_path):
    """Schemas only grow: a dataset written before these columns is still graded."""
    d = tmp_path / "old"
    old = {
        "ts": pa.array([T0, T0 + S], pa.timestamp("ns", tz="UTC")),
        "run_id": ["r", "r"],
        "config_hash": ["c", "c"],
        "market": ["BTC/USDT"] * 2,
        "mid": [100.0, 100.0],
        "spread_bps": [7.0, 12.0],
        "quoting": [True, True],
        "target_spread_bps": [8.0, 8.0],
        "depth_target_quote": [10.0, 10.0],
        "depth_band_bps": [50.0, 50.0],
        "bid_depth_band": [20.0, 20.0],
        "ask_depth_band": [20.0, 20.0],
        "bot_bid_depth_band": [20.0, 20.0],
        "bot_ask_depth_band": [20.0, 20.0],
    }
    part = Path(d, "book_samples", "date=2024-05-01", "market_id=BTC-USDT")
    part.mkdir(parents=True)
    pq.write_table(_before_issue_13("book_samples", old, 2), part / "part-0.parquet")
    fills = Path(d, "fills", "date=2024-05-01", "market_id=BTC-USDT")
    fills.mkdir(parents=True)
    fill = {
        "ts": pa.array([T0], pa.timestamp("ns", tz="UTC")),
        "run_id": ["r"],
        "config_hash": ["c"],
        "market": ["BTC/USDT"],
        "fill_id": ["f"],
        "side": ["buy"],
        "price": [99.9],
        "amount": [1.0],
        "mid": [100.0],
    }
    pq.write_table(_before_issue_13("fills", fill, 1), fills / "part-0.parquet")
    con = connect(str(d))
    (row,) = sla_summary(con)
    assert row["spread_within_target_pct"] == 50.0
    assert row["breach_reasons"] == {"spread_over_target": 50.0}
    assert row["effective_target_spread_bps"] == 8.0  # what the old row recorded
    assert row["home_taker_fee_revenue_quote"] == 0.0
    assert con.execute("select count(*) from markouts").fetchone() == (1,)
    assert con.execute("select count(*) from pnl").fetchone() == (1,)
    assert con.execute("select count(*) from sla_hourly").fetchone() == (1,)


def test_exclusions_are_configured_by_name_over_known_reasons_only():
    from pydantic import ValidationError

    from analytics.sla_samples import BOOK_REASONS
    from engine.config import AnalyticsConfig
    from engine.config.app import SLA_BREACH_REASONS
    from engine.quote_records import QuoteState

    states = {s.value for s in QuoteState} - {QuoteState.NORMAL.value}
    assert set(SLA_BREACH_REASONS) == states | set(BOOK_REASONS)
    cfg = AnalyticsConfig.model_validate(
        {"sla_exclusions": [{"name": "volatility_halt", "reasons": ["vol_pause"]}]}
    )
    assert cfg.exclusions() == {"volatility_halt": ("vol_pause",)}
    assert AnalyticsConfig().exclusions() == {}  # nothing is excluded unless named
    with pytest.raises(ValidationError, match="unknown breach reason"):
        AnalyticsConfig.model_validate({"sla_exclusions": [{"name": "x", "reasons": ["bad"]}]})


def test_the_cli_applies_the_configs_named_exclusions_and_prints_them(data_dir, tmp_path):
    import json

    import yaml
    from typer.testing import CliRunner

    from marketmesh.cli import app
    from tests.conftest import LOCAL_CONFIG

    data = yaml.safe_load(LOCAL_CONFIG.read_text())
    data.setdefault("analytics", {})["sla_exclusions"] = [
        {"name": "volatility_halt", "reasons": ["vol_pause"]}
    ]
    config = tmp_path / "excl.yaml"
    config.write_text(yaml.safe_dump(data))
    runner = CliRunner()
    plain = runner.invoke(app, ["sla", "--data-dir", data_dir, "--json"])
    excluded = runner.invoke(
        app, ["sla", "--data-dir", data_dir, "--json", "--config", str(config)]
    )
    assert plain.exit_code == 0 and excluded.exit_code == 0, excluded.output
    (before,), (after,) = json.loads(plain.stdout), json.loads(excluded.stdout)
    assert before["exclusions"] == {} and before["spread_within_target_pct"] == 20.0
    assert after["exclusions"] == {"volatility_halt": 20.0}
    assert after["spread_within_target_pct"] == 25.0
    table = runner.invoke(app, ["sla", "--data-dir", data_dir, "--config", str(config)])
    assert table.exit_code == 0 and "Economics" in table.stdout
    from analytics.render import breaches_text

    assert breaches_text(after) == (
        "target_widened 20.0, vol_pause 20.0, one_sided 10.0, +3 more; excl volatility_halt 20.0"
    )
    csv_out = runner.invoke(app, ["sla", "--data-dir", data_dir, "--csv"])
    assert '"{""target_widened"": 20.0' in csv_out.stdout  # maps as JSON in one cell
