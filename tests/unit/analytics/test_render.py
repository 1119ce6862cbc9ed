"""The SLA table as a person reads it: every cell whole in an 80-column terminal."""

from __future__ import annotations

from rich.console import Console

from analytics.render import pct_text, sla_table, sla_tables


def _row(market: str, **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "market": market,
        "samples": 17_280,
        "uptime_pct": 99.98,
        "spread_bps_p50": 29.55,
        "spread_bps_p95": 41.2,
        "target_spread_bps": 30.0,
        "spread_within_target_pct": 96.4,
        "bid_depth_median": 11_509.0,
        "ask_depth_median": 12_491.0,
        "depth_target_quote": 10_000.0,
        "depth_within_target_pct": 87.5,
        "fills": 12_345,
        "hedged_pct": 100.0,
        "hedge_slippage_bps": 1.56,
        "pnl_quote": -12_345.67,
    }
    return {**row, **over}


ROWS = [_row("BTC/USDT"), _row("DOGE/USDT", pnl_quote=5.03, uptime_pct=100.0), _row("ETH/BTC")]


def _render(table: object, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_the_end_of_run_summary_fits_80_columns_with_no_cut_cell():
    text = _render(sla_table(ROWS))
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for cell in ("DOGE/USDT", "99.98", "100.0", "29.55 (30.0)", "96.4", "87.5", "12345"):
        assert cell in text
    assert "-12,345.67" in text


def test_sla_by_period_has_a_period_column_and_fits_80_columns():
    rows = [{**r, "period": f"2026-12-05T{h:02d}:00:00+00:00"} for r in ROWS for h in (9, 10)]
    for table in sla_tables(rows, by="hour"):
        text = _render(table)
        assert "period" in text and "09:00" in text and "10:00" in text
        assert "…" not in text
        assert max(len(line) for line in text.splitlines()) <= 80


def test_wide_shows_every_column():
    text = _render(sla_table(ROWS, wide=True), width=200)
    for cell in ("17280", "11,509 / 12,491 (10,000)", "29.55 / 41.20 (30.0)", "1.56"):
        assert cell in text
    assert "…" not in text


def test_a_share_just_under_100_is_never_shown_as_100():
    assert pct_text(99.98) == "99.98"
    assert pct_text(99.999) == "99.99"
    assert pct_text(100.0) == "100.0"
    assert pct_text(87.54) == "87.5"
    assert pct_text(None) == "-"
