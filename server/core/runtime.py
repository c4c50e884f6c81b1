"""How the server's Python runs: thread switches and garbage collection tuned for a process
where a rider's decision must not wait behind the bulk work of the same process
(docs/scaling.md, "One process at the national peak")."""

from __future__ import annotations

import gc
import sys

# A thread that wakes (a rider's request handed over, a database's answer) waits for the GIL
# until the running thread's switch interval is over: 5 ms by default, several times a
# decision while the bulk lane runs Python. 1 ms bounds that wait.
SWITCH_INTERVAL_S = 0.001
# Young objects collected every 2,000 allocations net, not 700: at 3,100 heartbeats a second
# the default collects hundreds of times a second, each time promoting what is in flight
# (messages in a lane, a batch being written), whose pile then sets off full collections.
# Higher is fewer collections but longer ones: at 20,000 each took up to 41 ms (measured,
# docs/benchmarks.md), at 2,000 up to 7 ms.
YOUNGEST_THRESHOLD = 2_000
# A full collection once every 1,000 middle ones (about every 8 minutes at the national peak),
# not every 10 (every 5 s). What is not frozen is mostly messages waiting in the lanes and
# batches in hand, promoted as they wait: a full collection walks them all with the GIL held,
# and the more the lanes hold, the longer: 46, 74, 87 then 111 ms, 5 s apart, each time
# stopping every decision in progress (measured with a gc.callbacks probe, docs/benchmarks.md,
# "Full collections of what waits"). Cycles still go in the young and middle collections; only
# cyclic garbage that lived through both waits for the next full one.
OLDEST_THRESHOLD = 1_000


def tune_interpreter() -> None:
    """Call once, in the server's own process, after the application is built and before it
    serves: what exists then (modules, classes, the ORM's and pydantic's schemas) lives as
    long as the process, so it is frozen out of every later collection. A full collection
    otherwise walks all of it: 150-230 ms with the GIL held, each time, every half minute
    under the national load (measured: docs/benchmarks.md), and a rider's decision waits."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(YOUNGEST_THRESHOLD, middle, OLDEST_THRESHOLD)
