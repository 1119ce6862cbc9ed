"""The HTML report: self-contained, one section per market, plots that hold the data."""

import re
import shutil
import subprocess

import pytest

from analytics.report import build_report
from analytics.views import connect
from analytics.writer import PartWriter

T0 = 1_767_225_600 * 10**9
S = 10**9


def _dataset_of(_page: str, tmp_path):
    """The dataset the `page` fixture wrote (same tmp_path)."""
    return tmp_path


@pytest.fixture
def page(tmp_path):
    w = PartWriter(str(tmp_path), "book_samples", writer_id="t", run_id="r", config_hash="c")
    w.append(
        [
            {
                "ts": T0 + i * S,
                "market": m,
                "mid": 100.0,
                "best_bid": 99.95,
                "best_ask": 100.05,
                "spread_bps": 10.0 + i % 3,
                "quoting": True,
                "target_spread_bps": 12.0,
                "depth_target_quote": 500.0,
                "bid_depth_band": 600.0 + i,
                "ask_depth_band": 700.0,
            }
            for m in ("BTC/USDT", "SOL/USDT")
            for i in range(30)
        ]
    )
    w.flush()
    f = PartWriter(str(tmp_path), "fills", writer_id="t", run_id="r", config_hash="c")
    f.append(
        [
            {
                "ts": T0 + 3 * S,
                "market": "BTC/USDT",
                "fill_id": "f1",
                "side": "buy",
                "price": 99.95,
                "amount": 1.0,
                "mid": 100.0,
            }
        ]
    )
    f.flush()
    return build_report(connect(str(tmp_path)))


def test_self_contained_with_a_section_per_market(page):
    assert "<h2>BTC/USDT</h2>" in page and "<h2>SOL/USDT</h2>" in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)  # nothing fetched at view
    assert "Spread vs target" in page and "Markouts over 1 fills" in page


def test_plots_carry_the_data(page):
    # the spread p50 trace of each market holds the bucketed samples: 30 one-second buckets
    assert page.count('"name":"spread p50"') == 2
    assert '"name":"target"' in page
    assert re.search(r'"y":\[10\.0,11\.0,12\.0', page) or "AAAAAAAAJEA" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed: the report's browser check did not run "
    "(.ci/run installs it with apt-get when it can)",
)
def test_renders_in_headless_chromium_with_drawn_traces(page, tmp_path):
    assert CHROMIUM is not None
    html = tmp_path / "report.html"
    html.write_text(page)
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=8000",
            "--dump-dom",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    ).stdout
    assert dom.count('class="main-svg"') >= 8  # plotly drew the figures
    traces = re.findall(r'class="js-line" d="(M[^"]*)"', dom)
    assert len(traces) >= 2 * 3 * 3  # 2 markets x 3 time charts x 3 lines, all drawn
    points = sorted(t.count("L") + 1 for t in traces)
    assert points[-1] >= 10  # the wiggling spread series is drawn, not just its axes


def test_uptime_stays_visible_where_the_compliance_lines_coincide(tmp_path, page):
    import plotly.graph_objects as go

    from analytics.report import _time_figures

    con = connect(str(_dataset_of(page, tmp_path)))
    compliance = _time_figures(go, con, "BTC/USDT")[2]
    by_name = {t.name: t for t in compliance.data}
    assert list(by_name["uptime"].y)[:3] == [100.0, 100.0, 100.0]  # all three at 100 %
    uptime, spread = by_name["uptime"].line, by_name["spread within target"].line
    assert uptime.width > 2 * spread.width  # a band under the thin line, not hidden by it
    assert spread.dash == "dash" and by_name["depth within target"].line.dash == "dot"


def test_an_empty_markout_bar_says_na(page):
    # one fill 3 s into a 30 s recording: no +60 s markout yet
    assert '"n/a"' in page or '"n\\u002fa"' in page  # plotly's JSON may escape the slash


def test_the_latency_histogram_has_a_labelled_x_axis():
    import duckdb
    import plotly.graph_objects as go

    from analytics.report import _hedge_figure

    con = duckdb.connect()
    con.execute(
        "create table hedge_quality as select 'BTC/USDT' as market, "
        "unnest([12.0, 30.0, 55.0]) as fill_to_hedge_ms, unnest([1.0, null, 2.5]) as slippage_bps"
    )
    fig = _hedge_figure(go, con, "BTC/USDT")
    assert "fill -> hedge sent (ms)" in fig.layout.xaxis.title.text
    assert fig.layout.yaxis.title.text == "hedges"


def test_the_operators_economics_and_breach_reasons_are_in_the_report(page):
    """Issue 13: per market and day, spread capture, hedge cost, desk PnL and the exchange's
    taker fees; the SLA's misses broken down by reason."""
    assert page.count("<h3>Economics (quote asset)</h3>") == 1  # only BTC/USDT has fills
    assert "exchange taker fees" in page and "desk PnL bps" in page
    assert "SLA met %" in page
    assert "SLA breaches by reason" not in page  # every sample met its target: no chart


def test_a_sweep_of_configs_is_plotted_as_sla_against_desk_pnl(tmp_path):
    """Issue 13's frontier: one point per config version (target spread labelled)."""
    for cfg, target, spread in (("c1", 8.0, 7.0), ("c2", 15.0, 14.0)):
        w = PartWriter(str(tmp_path), "book_samples", writer_id=cfg, run_id=cfg, config_hash=cfg)
        w.append(
            [
                {
                    "ts": T0 + i * S,
                    "market": "BTC/USDT",
                    "mid": 100.0,
                    "spread_bps": spread if i % 2 else 20.0,
                    "quoting": True,
                    "target_spread_bps": target,
                    "depth_target_quote": 1.0,
                    "bid_depth_band": 10.0,
                    "ask_depth_band": 10.0,
                }
                for i in range(10)
            ]
        )
        w.flush()
        f = PartWriter(str(tmp_path), "fills", writer_id=cfg, run_id=cfg, config_hash=cfg)
        f.append(
            [
                {"ts": T0 + S, "market": "BTC/USDT", "fill_id": f"{cfg}-1", "side": "buy",
                 "price": 100.0 - spread / 200, "amount": 1.0, "mid": 100.0},
            ]
        )  # fmt: skip
        f.flush()
    page = build_report(connect(str(tmp_path)))
    assert "SLA met vs desk PnL per config" in page
    assert '"8 bps","15 bps"' in page
