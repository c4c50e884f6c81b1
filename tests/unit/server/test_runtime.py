"""The server process's interpreter settings: what ``python -m server`` sets before it serves
(in a child, since they are process-wide)."""

from __future__ import annotations

import subprocess
import sys

from server.core.runtime import OLDEST_THRESHOLD, SWITCH_INTERVAL_S, YOUNGEST_THRESHOLD

_PROBE = """
import gc, sys
import server.main
from server.core.runtime import tune_interpreter
frozen_before = gc.get_freeze_count()
tune_interpreter()
young, _, oldest = gc.get_threshold()
print(frozen_before, gc.get_freeze_count(), young, sys.getswitchinterval(), oldest)
"""


def test_the_startup_heap_is_frozen_and_collections_and_switches_tuned() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    frozen_before, frozen_after = int(out[0]), int(out[1])
    assert frozen_before == 0
    # The modules, classes and schemas loaded with the application: far more than a few.
    assert frozen_after > 100_000
    assert int(out[2]) == YOUNGEST_THRESHOLD
    assert float(out[3]) == SWITCH_INTERVAL_S
    assert int(out[4]) == OLDEST_THRESHOLD  # full collections rare: they walk the lanes
