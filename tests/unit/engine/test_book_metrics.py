import pytest

from engine.book_metrics import book_sample, depth_within


def test_depth_within_counts_only_levels_inside_the_band():
    bids = [(99.95, 10.0), (99.8, 10.0), (98.0, 100.0)]
    # 10 bps below 100 is 99.9: only the first level
    assert depth_within(bids, 100.0, 10, is_bid=True) == pytest.approx(999.5)
    assert depth_within(bids, 100.0, 25, is_bid=True) == pytest.approx(999.5 + 998.0)


def test_sample_of_two_sided_book():
    row = book_sample(
        [(99.9, 1.0)],
        [(100.1, 2.0)],
        [(99.9, 1.0)],
        [(100.1, 1.0)],
        reference_mid=50.0,
        band_bps=50,
    )
    assert row["mid"] == pytest.approx(100.0)
    assert row["spread_bps"] == pytest.approx(20.0)
    assert row["ask_depth_50bps"] == pytest.approx(200.2)
    assert row["bot_ask_depth_50bps"] == pytest.approx(100.1)
    assert row["quoting"] is True


def test_one_sided_book_is_not_quoting_and_uses_reference_mid():
    row = book_sample([(99.9, 1.0)], [], [(99.9, 1.0)], [], reference_mid=100.0, band_bps=50)
    assert row["spread_bps"] is None
    assert row["mid"] == 100.0
    assert row["quoting"] is False
    assert row["bid_depth_band"] == pytest.approx(99.9)
