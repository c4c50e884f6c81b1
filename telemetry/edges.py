"""When a dependency's state changed (pure): the broker or the database lost or regained is
logged once each way, however often it is looked at."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from enum import StrEnum


class Change(StrEnum):
    LOST = "lost"
    REGAINED = "regained"


@dataclass(slots=True)
class Edge:
    """The last state seen; ``None`` before the first look. A dependency seen up at the first
    look is no news; one seen down at the first look is lost."""

    up: bool | None = None

    def see(self, up: bool) -> Change | None:
        before, self.up = self.up, up
        if before is None:
            return None if up else Change.LOST
        if before == up:
            return None
        return Change.REGAINED if up else Change.LOST


class Watch:
    """One dependency looked at from several threads (the consumer's links, the scheduler,
    ``/readyz``), logging each change once: a warning when lost, info when regained."""

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self.name = name
        self._log = logger
        self._edge = Edge()
        self._lock = threading.Lock()

    @property
    def up(self) -> bool | None:
        return self._edge.up

    def regained(self) -> None:
        self.see(True)

    def lost(self, why: str = "") -> None:
        self.see(False, why)

    def see(self, up: bool, why: str = "") -> Change | None:
        with self._lock:
            change = self._edge.see(up)
        if change is Change.LOST:
            self._log.warning("%s lost%s", self.name, f": {why}" if why else "")
        elif change is Change.REGAINED:
            self._log.info("%s regained", self.name)
        return change
