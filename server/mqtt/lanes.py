"""The consumer's lanes: bounded queues between paho's network thread and the workers.

A lane never blocks paho (which would stall every other message, a rider's request among
them): an item that does not fit is shed and counted, and the caller says so. Shedding is safe
for what the lanes carry: a station re-sends events it has no acknowledgement for, heartbeats
come again, and an access request not answered in time is decided offline by the station.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class Queued(Generic[Item]):
    item: Item
    queued_at: float  # the lane's monotonic clock when paho handed it over


def waited_too_long(queued_at: float, now: float, limit_s: float) -> bool:
    """A request that waited past ``limit_s`` has no one waiting for its answer."""
    return now - queued_at > limit_s


class Lane(Generic[Item]):
    """A bounded FIFO; ``None`` from ``take`` means "stop"."""

    def __init__(
        self, name: str, capacity: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.capacity = capacity
        self._monotonic = monotonic
        self._queue: queue.Queue[Queued[Item] | None] = queue.Queue(maxsize=capacity)
        # A batch worker lingering for a fuller batch is woken once, when the lane holds what
        # it asked for (or closes): not once per message, which would cost a thread switch
        # (and a turn of the GIL) per heartbeat.
        self._filled = threading.Condition()
        self._wanted = 0
        self._closing = False

    def offer(self, item: Item) -> bool:
        """Queue the item, or False at once when the lane is full."""
        try:
            self._queue.put_nowait(Queued(item, self._monotonic()))
        except queue.Full:
            return False
        if self._wanted and self._queue.qsize() >= self._wanted:
            with self._filled:
                self._filled.notify()
        return True

    def take(self) -> Queued[Item] | None:
        """The next item, waiting for one."""
        return self._queue.get()

    def take_more(self, limit: int, linger_s: float = 0.0) -> tuple[list[Queued[Item]], bool]:
        """Up to ``limit`` more items, waiting up to ``linger_s`` for them to come (none: only
        what is queued now); and whether "stop" was met. A batch worker lingers so that a
        trickle makes a few batches, not one per message: what a batch costs is mostly
        fixed (its statements and its commit), not per message."""
        if linger_s > 0 and self._queue.qsize() < limit:
            with self._filled:
                self._wanted = limit
                self._filled.wait_for(
                    lambda: self._closing or self._queue.qsize() >= limit, timeout=linger_s
                )
                self._wanted = 0
        taken: list[Queued[Item]] = []
        while len(taken) < limit:
            try:
                queued = self._queue.get_nowait()
            except queue.Empty:
                break
            if queued is None:
                return taken, True
            taken.append(queued)
        return taken, False

    def close(self, timeout_s: float = 10.0) -> None:
        """Ask the worker to stop once it has what is queued (the producers have stopped)."""
        # A worker that does not drain in time is a daemon thread: it dies with the process.
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout_s)
        with self._filled:
            self._closing = True
            self._filled.notify_all()

    def depth(self) -> int:
        return self._queue.qsize()

    def oldest_age(self) -> float:
        """How long the oldest queued item has waited (0 when none): is the worker keeping up?"""
        with self._queue.mutex:  # queue.Queue's own lock: a consistent look at its head
            head = self._queue.queue[0] if self._queue.queue else None
        return 0.0 if head is None else self._monotonic() - head.queued_at


class WriteTurns:
    """Turns on a database that has one writer at a time (SQLite), riders first.

    ``threading.Lock`` is not fair: a bulk worker that releases it and asks again at once can
    keep it for as long as it has work, while a rider's decision waits. Here bulk work waits
    while any urgent writer is waiting, so a decision waits for one batch at most.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._urgent_waiting = 0

    @property
    def urgent_waiting(self) -> int:
        return self._urgent_waiting

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        with self._changed:
            self._urgent_waiting += 1
        self._lock.acquire()
        with self._changed:
            self._urgent_waiting -= 1
            self._changed.notify_all()
        try:
            yield
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def bulk(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._urgent_waiting == 0)
        with self._lock:
            yield


class RidersFirst:
    """Bulk work steps aside while a rider's request is queued or in hand.

    Python runs one thread at a time (the GIL). An access worker lets go of it at every query,
    signature check and socket write of a decision, a dozen times, and each time it wants it
    back from a bulk worker busy verifying heartbeats it waits up to the switch interval: the
    decision's latency grows with the bulk load, not with its own work. So the bulk worker
    waits between messages while any request is pending, for ``max_pause_s`` at most, so that
    it never stops for long even under a flood of requests (its lane then sheds heartbeats
    first, counted).
    """

    def __init__(self, max_pause_s: float = 0.02) -> None:
        self._max_pause_s = max_pause_s
        self._pending = 0
        self._changed = threading.Condition()

    @property
    def pending(self) -> int:
        return self._pending

    def arrived(self) -> None:
        """A request was queued (paho's thread)."""
        with self._changed:
            self._pending += 1

    def answered(self) -> None:
        """A request was answered or dropped (its worker)."""
        with self._changed:
            self._pending -= 1
            if self._pending == 0:
                self._changed.notify_all()

    def step_aside(self) -> None:
        """Wait (bulk worker) until no request is pending, or ``max_pause_s``."""
        if self._pending:  # read without the lock: a stale look costs one message's time
            with self._changed:
                self._changed.wait_for(lambda: self._pending == 0, timeout=self._max_pause_s)
