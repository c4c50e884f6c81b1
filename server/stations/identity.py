"""Each station's registered public key, as the MQTT consumer needs it for every message: read
once and kept, read again when a station is unknown or its key did not verify (another worker
may have provisioned it anew), at most once per pause per station: a flood of messages for
made-up stations, or of forged signatures, must not become a flood of queries. ``preload``
reads every key in one query when the consumer starts: at the national peak a restarted
server otherwise meets 3,100 stations a second it has not read yet, one query each."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine
from sqlmodel import select

from protocol.credential import public_key_from_text
from server.core.db import session_scope
from server.core.localtime import Clock
from server.stations.models import Station

log = logging.getLogger(__name__)

UNKNOWN_RETRY_S = 5.0


class StationKeys:
    def __init__(self, engine: Engine, clock: Clock = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}
        self._unknown_until: dict[str, float] = {}
        self._read_at: dict[str, float] = {}

    def get(self, station_id: str, *, fresh: bool = False) -> bytes | None:
        """The station's public key, or None for a station with none (or none we know).
        ``fresh``: read it again, unless it was read within the pause."""
        recently = self._clock() < self._read_at.get(station_id, float("-inf")) + UNKNOWN_RETRY_S
        if station_id in self._keys and (not fresh or recently):
            return self._keys[station_id]
        if self._clock() < self._unknown_until.get(station_id, 0.0):
            return None
        with session_scope(self._engine) as session:
            text = session.exec(select(Station.public_key).where(Station.id == station_id)).first()
        key = _parsed(station_id, text)
        with self._lock:
            if key is None:  # no such station, no key, or one that cannot be a key
                self._keys.pop(station_id, None)
                self._unknown_until[station_id] = self._clock() + UNKNOWN_RETRY_S
                return None
            self._keys[station_id] = key
            self._read_at[station_id] = self._clock()
            self._unknown_until.pop(station_id, None)
            return key

    def preload(self) -> int:
        """Read every station's key at once (one query); how many. A key that does not parse
        is left out (logged): that station's messages then fail their check, as before."""
        with session_scope(self._engine) as session:
            rows = session.exec(
                select(Station.id, Station.public_key).where(Station.public_key.is_not(None))  # type: ignore[union-attr]
            ).all()
        parsed = {station_id: _parsed(station_id, text) for station_id, text in rows}
        keys = {station_id: key for station_id, key in parsed.items() if key is not None}
        now = self._clock()
        with self._lock:
            self._keys.update(keys)
            self._read_at.update(dict.fromkeys(keys, now))
        return len(keys)

    def forget(self, station_id: str) -> None:
        with self._lock:
            self._keys.pop(station_id, None)
            self._unknown_until.pop(station_id, None)
            self._read_at.pop(station_id, None)


def _parsed(station_id: str, text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        return public_key_from_text(text)
    except ValueError as exc:  # its messages are refused as unsigned by a known key
        log.warning("station %s: its registered key is unusable: %s", station_id, exc)
        return None
