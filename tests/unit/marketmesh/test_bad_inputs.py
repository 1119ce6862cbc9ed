"""What a new user sees for a broken config, flag, data dir or dataset: exit code 2, one
message naming the file / key / path and the reason, and never a traceback.

Every case fails before Ray or the venue simulator would start, so the table runs
in-process (typer's runner) in a few seconds.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from analytics.schemas import SCHEMAS
from marketmesh.cli import app
from tests.conftest import LOCAL_CONFIG

BASE: dict[str, Any] = yaml.safe_load(LOCAL_CONFIG.read_text())
Patch = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Patch:
    """A patch setting the dotted `path` (list indexes as numbers) to `value`."""

    def patch(cfg: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
        node = cfg
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value

    return patch


def _drop(path: str) -> Patch:
    def patch(cfg: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
        node = cfg
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]

    return patch


def _doge_market(cfg: dict[str, Any]) -> None:
    """DOGE priced by the simulator and listed on the home venue, but no hedge venue lists it."""
    cfg["sim"]["assets"]["DOGE"] = {"initial_price": 0.4}
    cfg["venues"][0]["symbol_rules"]["DOGE/USDT"] = {"tick_size": "0.00001", "lot_size": "1"}
    cfg["markets"].append({"symbol": "DOGE/USDT", "taker_flow": {"rate_per_s": 0.5}})


def _zero_hedge_balances(cfg: dict[str, Any]) -> None:
    for v in cfg["venues"][1:]:
        v["balances"] = {asset: 0 for asset in v["balances"]}


def _live_venue(exchange: str) -> Patch:
    def patch(cfg: dict[str, Any]) -> None:
        cfg["venues"][1]["exchange"] = exchange
        del cfg["venues"][1]["url"]  # a live venue: ccxt must know the id

    return patch


def _repeat_market(cfg: dict[str, Any]) -> None:
    cfg["markets"].append(copy.deepcopy(cfg["markets"][0]))


def _repeat_venue(cfg: dict[str, Any]) -> None:
    cfg["venues"].append(copy.deepcopy(cfg["venues"][2]))


def _only_role(role: str) -> Patch:
    def patch(cfg: dict[str, Any]) -> None:
        for v in cfg["venues"]:
            v["role"] = role

    return patch


# (id, patch of configs/local.yaml, substrings the message must hold besides the file)
CONFIG_CASES: list[tuple[str, Patch, list[str]]] = [
    ("negative-slippage", _set("risk.max_slippage_bps", -3), ["risk.max_slippage_bps"]),
    (
        "unknown-policy",
        _set("markets.0.policy", "martingale"),
        ["markets[0].policy", "Input should be 'ladder'"],
    ),
    (
        "unlisted-symbol",
        _doge_market,
        ["markets[3] (DOGE/USDT).symbol", "no hedge venue lists DOGE/USDT"],
    ),
    ("zero-hedge-balances", _zero_hedge_balances, ["balances", "zero"]),
    (
        "negative-balance",
        _set("venues.1.balances.BTC", -5),
        ["venues[1].balances.BTC", "greater than or equal to 0"],
    ),
    (
        "alert-unknown-market",
        _set("alerts.rules.0.market", "XRP/USDT"),
        ["alerts.rules[0].market", "'XRP/USDT' is not a configured market"],
    ),
    (
        "unknown-ccxt-id",
        _live_venue("binanse"),
        ["venues[1] (binance-sim).exchange", "'binanse' is not a ccxt exchange id", "binance"],
    ),
    (
        "sim-wrong-dialect",
        _set("venues.2.exchange", "kraken"),
        ["venues[2] (okx-sim).exchange", "venue-sim"],
    ),
    ("repeated-market", _repeat_market, ["markets: symbols must be unique; repeated: BTC/USDT"]),
    ("repeated-venue", _repeat_venue, ["venues: ids must be unique; repeated: okx-sim"]),
    ("no-home", _only_role("hedge"), ["venues: exactly one venue needs role 'home'; found 0"]),
    ("no-hedge", _only_role("home"), ["venues: exactly one venue needs role 'home'; found 4"]),
    ("no-markets", _set("markets", []), ["markets: at least one market"]),
    (
        "unpriced-asset",
        _set("markets.2.symbol", "ADA/USDT"),
        ["markets[2]: market ADA/USDT: sim.assets has no price process for ADA"],
    ),
    (
        "target-above-max",
        _set("markets.0.target_spread_bps", 40),
        ["markets[0]", "target_spread_bps 40.0 is above max_spread_bps"],
    ),
    ("symbol-shape", _set("markets.0.symbol", "BTCUSDT"), ["markets[0].symbol"]),
    ("unknown-key", _set("riskk", {}), ["riskk", "Extra inputs are not permitted"]),
    ("unknown-stage", _set("markets.0.stage", "moon"), ["markets[0]", "stage 'moon'"]),
    ("unknown-tier", _set("markets.2.tier", "gold"), ["markets[2]", "gold"]),
    (
        "missing-env",
        _set("venues.1.api_key", "${MARKETMESH_TEST_NOT_SET}"),
        ["venues[1].api_key", "MARKETMESH_TEST_NOT_SET is not set"],
    ),
    (
        "band-order",
        _set("venues.1.balance_bands", {"BTC": {"low": 3, "target": 2, "high": 4}}),
        ["venues[1].balance_bands.BTC", "low <= target <= high"],
    ),
    ("ccxt-no-exchange", _drop("venues.1.exchange"), ["venues[1]", "needs 'exchange'"]),
    (
        "webhook-scheme",
        _set("alerts.webhook_url", "ftp://hooks.example.com/x"),
        ["alerts.webhook_url", "only http or https"],
    ),
    ("zero-levels", _set("markets.0.levels", 0), ["markets[0].levels"]),
    ("unknown-alert-rule", _set("alerts.rules.0.rule", "moon"), ["alerts.rules[0].rule"]),
    ("venue-id-shape", _set("venues.1.id", "binance sim"), ["venues[1].id"]),
    (
        "text-for-number",
        _set("risk.max_notional_per_trade", "lots"),
        ["risk.max_notional_per_trade", "valid number"],
    ),
    ("negative-fee", _set("venues.1.taker_fee", -0.5), ["venues[1].taker_fee"]),
]


@pytest.fixture(autouse=True)
def _no_sim_env(monkeypatch):
    monkeypatch.delenv("MARKETMESH_TEST_NOT_SET", raising=False)


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _assert_clean_failure(result: Any, expected: list[str]) -> None:
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output, output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"


@pytest.mark.parametrize(
    ("patch", "expected"),
    [pytest.param(p, e, id=i) for i, p, e in CONFIG_CASES],
)
def test_bad_config_is_refused_before_anything_starts(tmp_path, patch, expected):
    cfg = copy.deepcopy(BASE)
    patch(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = _invoke("run", str(path), "--duration", "1", "--data-dir", str(tmp_path / "d"))
    _assert_clean_failure(result, [f"{path}: ", *expected])
    assert not (tmp_path / "d").exists()  # judged before the data dir is even made


def test_a_config_problem_is_named_once(tmp_path):
    cfg = copy.deepcopy(BASE)
    cfg["markets"][1]["policy"] = "martingale"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = _invoke("run", str(path), "--duration", "1", "--data-dir", str(tmp_path / "d"))
    _assert_clean_failure(result, [f"{path}: markets[1].policy: "])
    assert result.output.count("policy") == 1


# files that are not a config at all: (id, file text or None for a directory, expected)
FILE_CASES: list[tuple[str, str | None, list[str]]] = [
    (
        "unclosed-bracket",
        "quote_asset: USDT\nsim: {seed: 7\nvenues: []\n",
        ["line 2: not valid YAML", "flow mapping", "line 3"],
    ),
    ("tab-indent", "quote_asset: USDT\n\tsim: {}\n", ["line 2: not valid YAML"]),
    ("unclosed-quote", 'quote_asset: "USDT\nsim: {}\n', ["line 1: not valid YAML", "quoted"]),
    ("empty-file", "", ["(top level): expected a mapping, got NoneType"]),
    ("a-list", "- 1\n- 2\n", ["(top level): expected a mapping, got list"]),
    ("a-directory", None, ["(file): is a directory"]),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in FILE_CASES])
def test_a_file_that_is_no_config_is_refused_with_its_line(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    if text is None:
        path.mkdir()
    else:
        path.write_text(text)
    result = _invoke("run", str(path), "--duration", "1", "--data-dir", str(tmp_path / "d"))
    _assert_clean_failure(result, [f"{path}: ", *expected])


def test_a_missing_config_is_named(tmp_path):
    path = tmp_path / "nope.yaml"
    result = _invoke("run", str(path), "--data-dir", str(tmp_path / "d"))
    _assert_clean_failure(result, [f"{path}: (file): no such file"])


def _book_samples_part(root: Path, columns: list[str] | None = None) -> Path:
    """One book_samples part of two BTC/USDT samples; only `columns` (all by default)."""
    schema = SCHEMAS["book_samples"]
    rows = [
        {
            "ts": 1_764_900_000_000_000_000 + i * 500_000_000,
            "run_id": "r1",
            "config_hash": "c1",
            "market": "BTC/USDT",
            "best_bid": 64_999.0,
            "best_ask": 65_001.0,
            "mid": 65_000.0,
            "spread_bps": 3.1,
            "quoting": True,
            "bid_depth_band": 60_000.0,
            "ask_depth_band": 55_000.0,
            "target_spread_bps": 8.0,
            "max_spread_bps": 15.0,
            "depth_band_bps": 50.0,
            "depth_target_quote": 50_000.0,
        }
        for i in range(2)
    ]
    table = pa.Table.from_pylist(rows, schema=schema)
    if columns is not None:
        table = table.select(columns)
    part = root / "book_samples" / "date=2025-12-05" / "market_id=BTC-USDT" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(table, part)
    return part


def _file(tmp_path: Path) -> Path:
    f = tmp_path / "a-file"
    f.write_text("x")
    return f


def _empty_dir(tmp_path: Path) -> Path:
    d = tmp_path / "empty"
    d.mkdir()
    return d


def _corrupt_dataset(tmp_path: Path) -> Path:
    root = tmp_path / "corrupt"
    part = root / "fills" / "date=2025-12-05" / "market_id=BTC-USDT" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"not parquet at all")
    return root


def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _book_samples_part(root)
    return root


# (id, builds the args from tmp_path, expected message parts; `{p}` is the path given)
ARG_CASES: list[tuple[str, Callable[[Path], tuple[list[str], str]], list[str]]] = [
    (
        "run-data-dir-is-a-file",
        lambda t: (["run", "--data-dir", str(p := _file(t))], str(p)),
        ["--data-dir {p}: is a file, not a directory"],
    ),
    (
        "run-data-dir-under-a-file",
        lambda t: (["run", "--data-dir", str(p := _file(t) / "data")], str(p)),
        ["--data-dir {p}: ", "a-file is a file, not a directory"],
    ),
    (
        "run-data-dir-cannot-be-made",
        lambda t: (["run", "--data-dir", "/proc/marketmesh-data"], "/proc/marketmesh-data"),
        ["--data-dir {p}: cannot be created"],
    ),
    (
        "sla-missing-dir",
        lambda t: (["sla", "--data-dir", str(p := t / "nope")], str(p)),
        ["no dataset at {p}: no such directory"],
    ),
    (
        "sla-empty-dir",
        lambda t: (["sla", "--data-dir", str(p := _empty_dir(t))], str(p)),
        ["no dataset at {p}: no Parquet parts"],
    ),
    (
        "sla-a-file",
        lambda t: (["sla", "--data-dir", str(p := _file(t))], str(p)),
        ["no dataset at {p}: it is a file"],
    ),
    (
        "sla-json-empty-dir",
        lambda t: (["sla", "--json", "--data-dir", str(p := _empty_dir(t))], str(p)),
        ["no dataset at {p}"],
    ),
    (
        "sql-missing-dir",
        lambda t: (["sql", "select 1", "--data-dir", str(p := t / "nope")], str(p)),
        ["no dataset at {p}: no such directory"],
    ),
    (
        "sql-a-file",
        lambda t: (["sql", "select 1", "--data-dir", str(p := _file(t))], str(p)),
        ["no dataset at {p}: it is a file"],
    ),
    (
        "sql-empty-dir",
        lambda t: (["sql", "select 1", "--data-dir", str(p := _empty_dir(t))], str(p)),
        ["no dataset at {p}"],
    ),
    (
        "report-empty-dir",
        lambda t: (["report", "--data-dir", str(p := _empty_dir(t))], str(p)),
        ["no dataset at {p}"],
    ),
    (
        "sla-unreadable-part",
        lambda t: (["sla", "--data-dir", str(p := _corrupt_dataset(t))], str(p)),
        ["--data-dir {p}: the dataset cannot be read"],
    ),
    (
        "sql-bad-query",
        lambda t: (["sql", "select nope from fills", "--data-dir", str(p := _dataset(t))], str(p)),
        ["sql: ", "nope"],
    ),
    (
        "sla-by-week",
        lambda t: (["sla", "--by", "week", "--data-dir", str(t)], ""),
        ["--by week: expected minute, hour or day"],
    ),
    (
        "sla-from-not-a-date",
        lambda t: (["sla", "--from", "yesterday", "--data-dir", str(t)], ""),
        ["--from yesterday: expected an ISO date"],
    ),
    (
        "run-duration-zero",
        lambda t: (["run", "--duration", "0", "--data-dir", str(t)], ""),
        ["--duration"],
    ),
    (
        "run-metrics-port",
        lambda t: (["run", "--metrics-port", "70000", "--data-dir", str(t)], ""),
        ["--metrics-port"],
    ),
]


@pytest.mark.parametrize(("build", "expected"), [pytest.param(b, e, id=i) for i, b, e in ARG_CASES])
def test_bad_flag_or_data_dir_is_refused(tmp_path, build, expected):
    args, given = build(tmp_path)
    result = _invoke(*args)
    _assert_clean_failure(result, [e.format(p=given) for e in expected])


def test_the_table_holds_at_least_forty_bad_inputs():
    assert len(CONFIG_CASES) + len(FILE_CASES) + 1 + len(ARG_CASES) >= 40


def test_sla_on_samples_older_than_the_target_columns_notes_them_and_answers(tmp_path):
    """Parts written before the target columns existed (or by another tool): nulls and a
    note, not a binder error."""
    targets = {"target_spread_bps", "max_spread_bps", "depth_band_bps", "depth_target_quote"}
    older = [n for n in SCHEMAS["book_samples"].names if n not in targets]
    _book_samples_part(tmp_path / "data", older)
    result = _invoke("sla", "--json", "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    assert "note: the dataset predates some columns (book_samples: target_spread_bps" in (
        result.output
    )
    table = _invoke("sla", "--data-dir", str(tmp_path / "data"))
    assert table.exit_code == 0 and "BTC/USDT" in table.output and "Traceback" not in table.output
    sql = _invoke(
        "sql",
        "select count(target_spread_bps) as n from book_samples",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert sql.exit_code == 0 and "0" in sql.output
