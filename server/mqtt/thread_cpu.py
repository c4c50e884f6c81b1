"""CPU seconds used by named threads: where a server's time goes, per lane."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping


def thread_cpu(threads: Mapping[str, threading.Thread]) -> dict[str, float]:
    """CPU seconds each live thread of ``threads`` has used so far."""
    used: dict[str, float] = {}
    for name, thread in threads.items():
        if thread.ident is not None and thread.is_alive():
            with contextlib.suppress(OSError):  # it ended meanwhile
                clock = time.pthread_getcpuclockid(thread.ident)
                used[name] = time.clock_gettime(clock)
    return used
