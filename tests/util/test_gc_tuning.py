"""The collector tuning a started server applies (homeserver/util/gc_tuning.py):
start-up's objects frozen out of every collection, larger thresholds."""

from __future__ import annotations

import gc

from homeserver.util.gc_tuning import THRESHOLDS, tune_gc_after_start


def test_a_started_server_freezes_start_up_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    built_at_start = [{"cache": i} for i in range(100)]
    try:
        tune_gc_after_start()
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() >= len(built_at_start)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
