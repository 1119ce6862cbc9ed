"""bench/hedge_touch.py's second arm: the default config, the real-time touch off."""

from engine.config import load_config
from tests.unit.bench._load import bench_module


def test_the_diffs_only_arm_differs_from_the_default_only_in_the_touch(tmp_path):
    bench = bench_module("hedge_touch")
    default = load_config(bench.DEFAULT_CONFIG)
    other = load_config(bench.without_touch(bench.DEFAULT_CONFIG, tmp_path))
    assert [v.touch_stream for v in default.hedge_venues] == [True, True, True]
    assert [v.touch_stream for v in other.hedge_venues] == [False, False, False]
    same = [v.model_copy(update={"touch_stream": True}) for v in other.hedge_venues]
    assert same == list(default.hedge_venues)
    assert other.markets == default.markets and other.risk == default.risk
