"""The hot-path collector policy is applied and undone exactly."""

from __future__ import annotations

import gc

from engine.gc_policy import GcPolicy, restore


def test_apply_freezes_start_up_objects_and_restore_undoes_it():
    before = gc.get_threshold()
    kept = [[] for _ in range(10)]  # alive at "start-up" (lists are tracked)
    state = GcPolicy(freeze=True, gen0_threshold=12_345).apply()
    try:
        assert gc.get_threshold()[0] == 12_345
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() >= state.frozen + len(kept)
    finally:
        restore(state)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == state.frozen


def test_without_freeze_only_the_threshold_changes():
    frozen = gc.get_freeze_count()
    state = GcPolicy(freeze=False, gen0_threshold=900).apply()
    try:
        assert gc.get_freeze_count() == frozen and gc.get_threshold()[0] == 900
    finally:
        restore(state)
