from collections import Counter
from pathlib import Path

import pytest

from engine.config import ConfigError, FaultConfig, OutageWindowConfig
from engine.sim.faults import NO_FAULT, Failure, FaultModel, RequestClass, load_faults

FLAKY = Path(__file__).parents[4] / "configs" / "faults" / "flaky.yaml"
T0 = 1_700_000_000 * 10**9
ORDER, BOOK, OTHER = RequestClass.ORDER, RequestClass.BOOK, RequestClass.OTHER
CONFIG = FaultConfig(
    latency_median_ms=10,
    timeout_rate=0.10,
    timeout_after_execution_share=0.5,
    rate_limit_rate=0.05,
    rate_limit_burst=1,
    reject_rate=0.05,
    partial_fill_rate=0.1,
    stale_book_rate=0.2,
)


def model(config: FaultConfig = CONFIG, seed: int = 3, venue: str = "binance-sim") -> FaultModel:
    return FaultModel(config, seed=seed, venue_id=venue, start_ns=T0)


def decisions(m: FaultModel, request_class: RequestClass, n: int) -> list:
    return [m.decide(request_class, T0 + i) for i in range(n)]


def test_the_same_seed_gives_the_same_faults_and_another_seed_other_ones():
    first = decisions(model(), ORDER, 500)
    assert decisions(model(), ORDER, 500) == first
    assert decisions(model(seed=4), ORDER, 500) != first
    assert decisions(model(venue="okx-sim"), ORDER, 500) != first


def test_a_request_class_meets_the_same_faults_whatever_the_others_did():
    no_bursts = CONFIG.model_copy(update={"rate_limit_rate": 0.0})  # bursts span classes
    alone = decisions(model(no_bursts), ORDER, 300)
    m = model(no_bursts)
    mixed = []
    for i in range(300):
        m.decide(BOOK, T0)
        m.decide(OTHER, T0)
        mixed.append(m.decide(ORDER, T0 + i))
    assert mixed == alone


def test_rates_match_the_config_over_many_orders():
    counts = Counter(d.failure for d in decisions(model(), ORDER, 20_000))
    n = 20_000
    assert counts[Failure.RATE_LIMITED] / n == pytest.approx(0.05, abs=0.01)
    timeouts = counts[Failure.TIMEOUT_BEFORE] + counts[Failure.TIMEOUT_AFTER]
    assert timeouts / n == pytest.approx(0.95 * 0.10, abs=0.01)
    assert counts[Failure.TIMEOUT_AFTER] / timeouts == pytest.approx(0.5, abs=0.05)
    assert counts[Failure.REJECT] / n == pytest.approx(0.95 * 0.9 * 0.05, abs=0.01)


def test_partial_fills_and_stale_books_only_where_they_belong():
    orders = decisions(model(), ORDER, 5_000)
    books = decisions(model(), BOOK, 5_000)
    shares = [d.fill_share for d in orders if d.fill_share is not None]
    assert 300 < len(shares) < 600
    assert all(0.2 <= s < 1 for s in shares)
    assert all(d.book_age_ms == 0 for d in orders)
    assert all(d.fill_share is None and d.failure is not Failure.REJECT for d in books)
    stale = [d for d in books if d.book_age_ms]
    assert all(d.book_age_ms == CONFIG.stale_book_age_ms for d in stale)
    assert 700 < len(stale) < 1_000  # ~5000 * 0.95 * 0.9 * 0.2


def test_latency_is_lognormal_around_its_median_and_timeouts_hang():
    ds = decisions(model(), OTHER, 4_000)
    latencies = sorted(d.latency_s for d in ds)
    assert latencies[len(latencies) // 2] == pytest.approx(0.010, rel=0.1)
    assert latencies[-1] > 3 * latencies[len(latencies) // 2]
    hung = [d for d in ds if d.failure in (Failure.TIMEOUT_BEFORE, Failure.TIMEOUT_AFTER)]
    assert hung and all(d.hang_s == CONFIG.timeout_hang_s and d.http_status == 504 for d in hung)
    assert all(d.executes == (d.failure is Failure.TIMEOUT_AFTER) for d in hung)


def test_a_429_burst_answers_the_next_requests_of_any_class():
    m = model(FaultConfig(rate_limit_rate=0.02, rate_limit_burst=4))
    for _ in range(10_000):
        if m.decide(ORDER, T0).failure is Failure.RATE_LIMITED:
            break
    assert [m.decide(c, T0).failure for c in (BOOK, OTHER, ORDER)] == [Failure.RATE_LIMITED] * 3


def test_outage_windows_answer_503_from_their_start_for_their_duration():
    cfg = FaultConfig(outages=[OutageWindowConfig(start_s=10, duration_s=5)])
    m = model(cfg)
    at = {s: m.decide(BOOK, T0 + s * 10**9) for s in (9, 10, 14, 15)}
    assert [at[s].failure for s in (9, 10, 14, 15)] == [
        Failure.NONE,
        Failure.OUTAGE,
        Failure.OUTAGE,
        Failure.NONE,
    ]
    assert at[10].http_status == 503


def test_no_faults_configured_means_no_fault_and_no_draws():
    m = model(FaultConfig())
    assert all(d is NO_FAULT for d in decisions(m, ORDER, 100))


def test_the_flaky_file_loads_with_per_venue_overrides():
    faults = load_faults(FLAKY)
    assert faults.default.active and faults.for_venue("binance-sim") == faults.default
    assert faults.for_venue("kraken-sim").outages[0].duration_s == 20


def test_a_bad_fault_file_names_the_file_and_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("default: {timeout_rate: 1.5}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: default\.timeout_rate"):
        load_faults(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_faults(tmp_path / "missing.yaml")
