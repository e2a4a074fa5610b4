"""settle_heap: what start-up built is kept out of every later full collection."""

from __future__ import annotations

import gc

from flowhooks.process import settle_heap


def test_start_up_objects_leave_the_collectors_sight() -> None:
    kept = [{"n": i} for i in range(1000)]  # stands for start-up state
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(kept)
        assert not any(o is kept for o in gc.get_objects())  # no longer tracked generations
    finally:
        gc.unfreeze()
