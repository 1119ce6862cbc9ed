from engine.alerts import AlertMonitor, MarketObservation, Observation
from engine.config import AlertAction, AlertKind, AlertRuleConfig

S = 10**9


def _m(spread=5.0, quoting=True, depth=100.0, age=0.1, market="BTC/USDT"):
    return MarketObservation(market, quoting, spread, 8.0, depth, depth, 50.0, age)


def test_fires_once_after_hold_time_and_rearms_when_cleared():
    rule = AlertRuleConfig(rule=AlertKind.SPREAD_BREACH, for_s=3, action=AlertAction.WIDEN)
    mon = AlertMonitor([rule])
    assert mon.evaluate(Observation(0, [_m(spread=9.0)])) == []
    assert mon.evaluate(Observation(2 * S, [_m(spread=9.0)])) == []
    (alert,) = mon.evaluate(Observation(3 * S, [_m(spread=9.0)]))
    assert alert.kind is AlertKind.SPREAD_BREACH and alert.market == "BTC/USDT"
    assert alert.value == 9.0 and alert.threshold == 8.0
    assert mon.evaluate(Observation(10 * S, [_m(spread=9.0)])) == []  # once per breach
    assert mon.evaluate(Observation(11 * S, [_m(spread=5.0)])) == []  # cleared: re-armed
    assert mon.evaluate(Observation(12 * S, [_m(spread=9.0)])) == []
    assert len(mon.evaluate(Observation(15 * S, [_m(spread=9.0)]))) == 1


def test_a_breach_that_clears_before_the_hold_time_never_fires():
    mon = AlertMonitor([AlertRuleConfig(rule=AlertKind.NOT_QUOTING, for_s=5)])
    for t, quoting in [(0, False), (3, False), (4, True), (8, False), (12, False)]:
        assert mon.evaluate(Observation(t * S, [_m(quoting=quoting)])) == []
    assert len(mon.evaluate(Observation(13 * S, [_m(quoting=False)]))) == 1


def test_market_filter_depth_stale_venue_exposure():
    rules = [
        AlertRuleConfig(rule=AlertKind.DEPTH_BELOW_TARGET, market="ETH/USDT", for_s=0),
        AlertRuleConfig(rule=AlertKind.STALE_REFERENCE, for_s=0),
        AlertRuleConfig(rule=AlertKind.VENUE_UNHEALTHY, for_s=0),
        AlertRuleConfig(rule=AlertKind.EXPOSURE_OVER_THRESHOLD, for_s=0),
    ]
    obs = Observation(
        0,
        [_m(depth=10.0), _m(depth=10.0, market="ETH/USDT"), _m(age=9.0, market="SOL/USDT")],
        venues={"a": (True, ""), "b": (False, "timeout")},
        exposure={"BTC": (0.5, 0.1), "ETH": (-0.01, 0.1)},
    )
    alerts = AlertMonitor(rules).evaluate(obs)
    got = sorted((a.kind.value, a.subject) for a in alerts)
    assert got == [
        ("depth_below_target", "ETH/USDT"),
        ("exposure_over_threshold", "BTC"),
        ("stale_reference", "SOL/USDT"),
        ("venue_unhealthy", "b"),
    ]


def test_hedge_failures_count_batches_from_the_last_alert():
    mon = AlertMonitor([AlertRuleConfig(rule=AlertKind.HEDGE_FAILURES, for_s=0, max_failures=3)])
    assert mon.evaluate(Observation(0, hedge_failures=10)) == []  # baseline: what came before
    assert mon.evaluate(Observation(1, hedge_failures=12)) == []
    assert len(mon.evaluate(Observation(2, hedge_failures=13))) == 1
    assert mon.evaluate(Observation(3, hedge_failures=15)) == []
    assert len(mon.evaluate(Observation(4, hedge_failures=16))) == 1


def test_pnl_drawdown_against_the_running_peak():
    rule = AlertRuleConfig(rule=AlertKind.PNL_DRAWDOWN, for_s=0, max_drawdown_quote=100)
    mon = AlertMonitor([rule])
    assert mon.evaluate(Observation(0, pnl_quote=500.0, pnl_peak_quote=550.0)) == []
    (alert,) = mon.evaluate(Observation(1, pnl_quote=420.0, pnl_peak_quote=550.0))
    assert alert.value == 130.0 and "below its peak" in alert.message
    assert mon.evaluate(Observation(2)) == []  # no PnL observed: nothing to say


def test_storage_faults_alert_then_stop_cleanly_whatever_the_rules():
    """Issue 11, cases 5 and 6: storage failing is never silent, and past the configured
    outage the graph stops through the clean shutdown (kill switch) instead of dying."""
    from engine.alerts import builtin_rules
    from engine.config import AlertAction, AlertsConfig

    cfg = AlertsConfig(storage_alert_after_s=10, storage_max_outage_s=60)
    monitor = AlertMonitor(builtin_rules(cfg))
    fired = []
    for t in range(0, 75, 5):
        failing = {"ledger": float(t), "market BTC/USDT": 0.0}
        fired += monitor.evaluate(Observation(ts_ns=t * 10**9, storage_failing_s=failing))
    assert [(a.subject, a.rule.action, a.ts_ns // 10**9) for a in fired] == [
        ("ledger", AlertAction.NOTIFY, 15),  # failing seen from 5 s, 10 s later
        ("ledger", AlertAction.KILL_SWITCH, 65),
    ]


def test_webhook_urls_are_http_only_without_link_local_and_never_quoted():
    import pytest
    import yaml

    from engine.config import AlertsConfig, ConfigError, parse_config
    from tests.conftest import LOCAL_CONFIG

    base = yaml.safe_load(LOCAL_CONFIG.read_text())
    for bad, why in [
        ("file:///etc/passwd", "only http or https"),
        ("gopher://127.0.0.1:70/x", "only http or https"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("not a url", "only http or https"),
        ("https:///no-host", "no host"),
    ]:
        data = {**base, "alerts": {"webhook_url": bad}}
        with pytest.raises(ConfigError, match=f"x.yaml: alerts.webhook_url: .*{why}") as err:
            parse_config(data, "x.yaml")
        assert bad not in str(err.value)  # a URL may hold a token
    ok = AlertsConfig(webhook_url="https://hooks.example.com/T0K3N")
    assert ok.webhook_url is not None
    hosts = {"webhook_url": "https://evil.example.net/x", "webhook_allowed_hosts": ["a.example"]}
    with pytest.raises(ConfigError, match="not in webhook_allowed_hosts") as err:
        parse_config({**base, "alerts": hosts}, "x.yaml")
    assert "evil" not in str(err.value)


def test_a_widening_reverts_once_the_breach_stays_clear_for_the_hysteresis_time():
    """Issue 13: `spread_breach -> widen` raised the target and never lowered it."""
    rule = AlertRuleConfig(
        rule=AlertKind.SPREAD_BREACH, for_s=3, action=AlertAction.WIDEN, revert_after_s=10
    )
    mon = AlertMonitor([rule])
    mon.evaluate(Observation(0, [_m(spread=9.0)]))
    (widen,) = mon.evaluate(Observation(3 * S, [_m(spread=9.0)]))
    assert not widen.reverts and mon.active_actions == [(0, "BTC/USDT")]
    assert mon.evaluate(Observation(4 * S, [_m(spread=5.0)])) == []  # clear: the wait starts
    assert mon.evaluate(Observation(13 * S, [_m(spread=5.0)])) == []  # 9 s: not yet
    assert mon.evaluate(Observation(13 * S + S // 2, [_m(spread=9.0)])) == []  # flicker
    assert mon.evaluate(Observation(14 * S, [_m(spread=5.0)])) == []  # the wait restarts
    assert mon.evaluate(Observation(23 * S, [_m(spread=5.0)])) == []
    (revert,) = mon.evaluate(Observation(24 * S, [_m(spread=5.0)]))
    assert revert.reverts and revert.market == "BTC/USDT" and "reverted" in revert.message
    assert mon.active_actions == []
    assert mon.evaluate(Observation(60 * S, [_m(spread=5.0)])) == []  # reverted once


def test_actions_that_are_not_widening_or_opt_out_never_revert():
    rules = [
        AlertRuleConfig(rule=AlertKind.NOT_QUOTING, for_s=0, action=AlertAction.PAUSE_MARKET),
        AlertRuleConfig(
            rule=AlertKind.SPREAD_BREACH, for_s=0, action=AlertAction.WIDEN, revert_after_s=None
        ),
    ]
    mon = AlertMonitor(rules)
    assert len(mon.evaluate(Observation(0, [_m(spread=None, quoting=False)]))) == 2
    assert mon.active_actions == []
    assert mon.evaluate(Observation(1000 * S, [_m()])) == []


def test_stream_down_fires_per_venue_after_its_hold_time_and_says_it_polls():
    mon = AlertMonitor([AlertRuleConfig(rule=AlertKind.STREAM_DOWN, for_s=5)])
    down = {"binance-sim": (False, "NetworkError: closed"), "okx-sim": (True, "")}
    assert mon.evaluate(Observation(0, streams=down)) == []
    (alert,) = mon.evaluate(Observation(5 * S, streams=down))
    assert alert.kind is AlertKind.STREAM_DOWN and alert.venue == "binance-sim"
    assert "polling REST" in alert.message
    assert mon.evaluate(Observation(6 * S, streams={"binance-sim": (True, "")})) == []
