"""The public station list, computed once for every caller: a rider's finder polls every few
seconds, so a thousand open finders must cost one query every ``max_age_s``, not a thousand.
The body is kept as bytes, gzipped once, with its ETag, so an answer costs no work at all."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from server.core.localtime import Clock


@dataclass(frozen=True, slots=True)
class Snapshot:
    body: bytes  # JSON
    gzipped: bytes
    etag: str  # weak: the same list, gzipped or not
    made_at: float

    @staticmethod
    def of(body: bytes, made_at: float) -> Snapshot:
        digest = hashlib.sha256(body).hexdigest()[:20]
        return Snapshot(body, gzip.compress(body, 6, mtime=0), f'W/"{digest}"', made_at)

    def matches(self, if_none_match: str) -> bool:
        """The client's copy (If-None-Match) is this one."""
        tags = {tag.strip() for tag in if_none_match.split(",")}
        return "*" in tags or self.etag in tags or self.etag.removeprefix("W/") in tags


class SnapshotCache:
    """``get()`` gives the snapshot if it is younger than ``max_age_s``; otherwise one caller
    makes a new one while the others wait for it (a thread per request: FastAPI's pool)."""

    def __init__(self, make: Callable[[float], bytes], *, max_age_s: float, clock: Clock) -> None:
        self._make = make
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Snapshot | None = None
        self.made = 0  # how many times the list was computed (tests, metrics)

    def get(self) -> Snapshot:
        current = self._current
        if current is not None and self._clock() - current.made_at < self._max_age_s:
            return current
        with self._lock:
            current = self._current
            now = self._clock()
            if current is None or now - current.made_at >= self._max_age_s:
                current = Snapshot.of(self._make(now), now)
                self._current = current
                self.made += 1
            return current
