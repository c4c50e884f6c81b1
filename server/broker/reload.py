"""Signalling Mosquitto to reread its account files, so that no change is ever left unread.

Mosquitto 2.0 sets a flag on SIGHUP and, in its main loop, logs "Reloading config.", rereads
the files, re-checks every connected client and only then clears the flag
(``src/loop.c``). A SIGHUP that arrives after the files were read but before the flag is
cleared is forgotten: the files written just before it are not read until some later
reload. With nothing after it, a station provisioned at that moment would be refused until
the next provisioning, however long that is.

So every change is signalled at once, and once more ``settle_s`` after it (one trailing
signal covers a burst). A reload lasts well under ``settle_s`` (0.13 s with 2,000 clients
connected, ``accounts.ITERATIONS``), so the trailing signal cannot fall into the reload
that swallowed the first; and any reload running when it arrives began after the change
was written, so it reads it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_SETTLE_S = 2.0


class Reloader:
    """Calls ``signal`` at every :meth:`request`, and once more ``settle_s`` after the last
    request of a burst, from a thread of its own."""

    def __init__(
        self,
        signal: Callable[[], bool],
        *,
        settle_s: float = DEFAULT_SETTLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settle_s <= 0:
            raise ValueError(f"settle_s must be positive, not {settle_s}")
        self._signal = signal
        self._settle_s = settle_s
        self._clock = clock
        self._changed = threading.Condition()
        self._trailing_due: float | None = None  # when the trailing signal is sent
        self._stopped = False
        self._thread: threading.Thread | None = None

    def request(self) -> bool:
        """Signal now (False if there was no broker to signal) and schedule the trailing one."""
        signalled = self._signal()
        with self._changed:
            if self._stopped:
                return signalled
            self._trailing_due = self._clock() + self._settle_s
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="broker-reload", daemon=True)
                self._thread.start()
            self._changed.notify_all()
        return signalled

    @property
    def pending(self) -> bool:
        """Whether a trailing signal is still to be sent."""
        with self._changed:
            return self._trailing_due is not None

    def stop(self) -> None:
        """Send nothing more (a pending trailing signal is dropped)."""
        with self._changed:
            self._stopped = True
            self._trailing_due = None
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(5)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopped and self._trailing_due is None:
                    self._changed.wait()
                if self._stopped:
                    return
                assert self._trailing_due is not None
                wait_s = self._trailing_due - self._clock()
                if wait_s > 0:
                    # Woken early by a new request (which moves the due time) or by stop().
                    self._changed.wait(wait_s)
                    continue
                self._trailing_due = None
            try:
                self._signal()
            except Exception:  # the thread must outlive one failed signal
                log.exception("the trailing broker reload signal failed")
