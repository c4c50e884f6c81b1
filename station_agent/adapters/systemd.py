"""Telling systemd how the agent is (``Type=notify``): ready once running, alive from every
turn of the loop (``WatchdogSec=``: a loop stuck for longer gets the agent restarted),
stopping on the way out. Without ``$NOTIFY_SOCKET`` (not under systemd) it does nothing."""

from __future__ import annotations

import os
import socket
import time


class SystemdNotifier:
    """The ``Supervisor`` port, as systemd's sd_notify datagrams."""

    def __init__(self, socket_path: str | None = None, *, every_s: float = 1.0) -> None:
        path = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET")
        self._address = "\0" + path[1:] if path and path.startswith("@") else path
        self._every_s = every_s
        self._last_alive = float("-inf")

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, message: str) -> bool:
        if not self._address:
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message.encode(), self._address)
            except OSError:
                return False
        return True

    def ready(self) -> None:
        self.notify("READY=1\nSTATUS=running")

    def alive(self) -> None:
        # The loop turns ten times a second; systemd needs a ping every WatchdogSec/2.
        now = time.monotonic()
        if now - self._last_alive >= self._every_s:
            self._last_alive = now
            self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
