from decimal import Decimal

from engine.config import load_config
from engine.readiness import (
    CheckStatus,
    check_exposure,
    check_freshness,
    check_hedge_slippage,
    check_pnl,
    check_sla,
    check_venue,
    overall,
)
from tests.conftest import LOCAL_CONFIG

CFG = load_config(LOCAL_CONFIG)


def _row(market, **kw):
    base = {
        "market": market,
        "samples": 100,
        "uptime_pct": 100.0,
        "spread_within_target_pct": 100.0,
        "depth_within_target_pct": 100.0,
        "fills": 10,
        "hedged_pct": 100.0,
    }
    return {**base, **kw}


def test_clean_day_passes_and_each_breach_grades():
    rows = [_row(m.symbol) for m in CFG.markets]
    assert overall(check_sla(rows, CFG, "d")) is CheckStatus.PASS
    rows[0] = _row("BTC/USDT", uptime_pct=99.2)  # BTC is at the flagship stage
    by = {(r.check, r.subject): r.status for r in check_sla(rows, CFG, "d")}
    assert by[("sla.uptime_pct", "BTC/USDT")] is CheckStatus.WARN
    rows[0] = _row("BTC/USDT", spread_within_target_pct=50.0, hedged_pct=90.0)
    by = {(r.check, r.subject): r.status for r in check_sla(rows, CFG, "d")}
    assert by[("sla.spread_within_target_pct", "BTC/USDT")] is CheckStatus.FAIL
    assert by[("sla.hedged_pct", "BTC/USDT")] is CheckStatus.FAIL


def test_a_configured_market_without_samples_fails():
    results = check_sla([_row("BTC/USDT")], CFG, "2026-01-01")
    missing = [r for r in results if r.subject == "SOL/USDT"]
    assert missing and missing[0].status is CheckStatus.FAIL
    assert "no book samples for 2026-01-01" in missing[0].detail


def test_slippage_pnl_exposure_freshness():
    slip = check_hedge_slippage([{"market": "X", "hedge_slippage_bps": 25.0}], 20)
    assert slip[0].status is CheckStatus.FAIL
    assert check_pnl([{"market": "X", "pnl_quote": -5.0}], 100)[0].status is CheckStatus.WARN
    assert check_pnl([{"market": "X", "pnl_quote": -500.0}], 100)[0].status is CheckStatus.FAIL
    over = check_exposure(
        [{"asset": "BTC", "net": 0.5, "pending": -0.1, "target": 0, "threshold": 0.2}]
    )
    assert over[0].status is CheckStatus.FAIL
    ok = check_exposure(
        [{"asset": "BTC", "net": 0.5, "pending": -0.4, "target": 0, "threshold": 0.2}]
    )
    assert ok[0].status is CheckStatus.PASS  # a pending hedge covers it
    fresh = check_freshness({"fills": 100 * 10**9, "quotes": None}, 200 * 10**9, 3600)
    assert [r.status for r in fresh] == [CheckStatus.PASS, CheckStatus.FAIL]


def test_a_backtest_dataset_needs_no_ledger_and_runs_on_simulated_time():
    latest = {"book_samples": 10**9, "fills": None, "ledger_entries": None}
    fresh = check_freshness(latest, 10**9 * 86_400 * 30, 3600, backtest=True)
    assert [r.status for r in fresh] == [CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.PASS]
    assert fresh[2].detail == "backtest: no ledger"


def test_venue_rules():
    down = check_venue(
        "v",
        ["BTC/USDT"],
        error="v: load_markets: timed out",
        specs=None,
        balances=None,
        required={},
    )
    assert [r.status for r in down] == [CheckStatus.FAIL]
    res = check_venue(
        "v",
        ["BTC/USDT", "ETH/USDT"],
        error=None,
        specs={"BTC/USDT": 1},
        balances={"BTC": Decimal("1")},
        required={"BTC": Decimal("4"), "USDT": Decimal("10")},
    )
    by = {(r.check, r.subject): r.status for r in res}
    assert by[("venue.symbols", "v")] is CheckStatus.FAIL
    assert by[("venue.balance", "v BTC")] is CheckStatus.WARN  # below half of configured
    assert by[("venue.balance", "v USDT")] is CheckStatus.FAIL  # none at all


def test_stage_selects_defaults_and_its_own_limits():
    import yaml

    from engine.config import MarketStage, parse_config

    data = yaml.safe_load(LOCAL_CONFIG.read_text())
    data["markets"] = [
        {"symbol": "BTC/USDT", "stage": "aggregation"},
        {"symbol": "SOL/USDT", "stage": "bootstrap"},
    ]
    cfg = parse_config(data, "x")
    btc, sol = cfg.market("BTC/USDT"), cfg.market("SOL/USDT")
    assert btc.stage is MarketStage.AGGREGATION and btc.hedge_mode.value == "net"
    assert btc.tier.value == "flagship" and btc.target_spread_bps == 8.0
    assert sol.tier.value == "long_tail" and sol.hedge_mode.value == "mirror"
    rows = [_row("BTC/USDT", uptime_pct=96.0), _row("SOL/USDT", uptime_pct=96.0)]
    by = {(r.check, r.subject): r.status for r in check_sla(rows, cfg, "d")}
    assert by[("sla.uptime_pct", "SOL/USDT")] is CheckStatus.PASS  # fine for a new book
    assert by[("sla.uptime_pct", "BTC/USDT")] is CheckStatus.FAIL  # not for a flagship


def test_unknown_stage_names_the_choices():
    import pytest
    import yaml

    from engine.config import ConfigError, parse_config

    data = yaml.safe_load(LOCAL_CONFIG.read_text())
    data["markets"][0]["stage"] = "launch"
    with pytest.raises(ConfigError, match="stage 'launch': expected one of bootstrap, routing"):
        parse_config(data, "x")


def test_balances_outside_their_bands_and_our_orders_left_open_are_flagged():
    from engine.config import BalanceBandConfig

    band = BalanceBandConfig(low=Decimal(2), target=Decimal(4), high=Decimal(8))
    res = check_venue(
        "okx-sim",
        ["BTC/USDT"],
        error=None,
        specs={"BTC/USDT": object()},
        balances={"BTC": Decimal(1), "ETH": Decimal(0), "USDT": Decimal(5)},
        required={},
        bands={"BTC": band, "ETH": band, "USDT": band},
        open_orders=["mm0123456789abcdef01234567-0", "user-1"],
    )
    by = {(r.check, r.subject): r for r in res}
    assert by[("venue.balance_band", "okx-sim BTC")].status is CheckStatus.WARN
    assert "below low" in by[("venue.balance_band", "okx-sim BTC")].detail
    assert by[("venue.balance_band", "okx-sim ETH")].status is CheckStatus.FAIL
    assert by[("venue.balance_band", "okx-sim USDT")].status is CheckStatus.PASS
    assert by[("venue.open_orders", "okx-sim")].status is CheckStatus.FAIL
    clean = check_venue(
        "okx-sim",
        ["BTC/USDT"],
        error=None,
        specs={"BTC/USDT": object()},
        balances={"BTC": Decimal(3)},
        required={},
        open_orders=["user-1"],
    )
    assert {r.check: r.status for r in clean}["venue.open_orders"] is CheckStatus.PASS


def test_check_grades_the_configured_target_names_breaches_and_counts_netting():
    """Issue 13: graded against the config's target, reasons named, netted risk covered."""
    from engine.readiness import check_economics

    rows = [_row(m.symbol, target_spread_bps=m.target_spread_bps) for m in CFG.markets]
    rows[0] = _row(
        "BTC/USDT",
        target_spread_bps=10.0,  # a widened target recorded by an older run
        spread_within_target_pct=98.0,
        breach_reasons={"vol_widen": 1.5, "one_sided": 0.5},
        exclusions={"volatility_halt": 0.2},
        hedged_pct=70.0,
        netted_pct=30.0,
    )
    results = check_sla(rows, CFG, "d")
    by = {(r.check, r.subject): r for r in results}
    assert by[("sla.target", "BTC/USDT")].status is CheckStatus.WARN
    assert "config's target is 8 bps" in by[("sla.target", "BTC/USDT")].detail
    assert "of 8 bps" in by[("sla.spread_within_target_pct", "BTC/USDT")].detail
    breaches = by[("sla.breaches", "BTC/USDT")]
    assert breaches.status is CheckStatus.WARN  # as the spread figure it explains
    assert "vol_widen 1.50%, one_sided 0.50%" in breaches.detail
    assert "excluded: volatility_halt 0.20%" in breaches.detail
    assert by[("sla.hedged_pct", "BTC/USDT")].status is CheckStatus.PASS  # 70 + 30
    assert ("sla.target", "ETH/USDT") not in by
    econ = check_economics(
        [
            {"market": "X", "fills": 3, "spread_capture_quote": 1.0, "hedge_cost_quote": 2.0,
             "pnl_quote": -1.0, "volume_quote": 1e4, "desk_pnl_bps": -1.0,
             "home_taker_fee_revenue_quote": 10.0},
        ]
    )  # fmt: skip
    assert econ[0].status is CheckStatus.WARN and "exchange taker fees 10.00" in econ[0].detail
