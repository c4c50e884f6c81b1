"""Each station's registered public key, as the MQTT consumer needs it for every message: read
once and kept, read again when a station is unknown or its key did not verify (another worker
may have provisioned it anew), at most once per pause per station: a flood of messages for
made-up stations, or of forged signatures, must not become a flood of queries."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from sqlmodel import select

from protocol.credential import public_key_from_text
from server.core.db import session_scope
from server.core.localtime import Clock
from server.stations.models import Station

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
        with self._lock:
            if text is None:
                self._keys.pop(station_id, None)
                self._unknown_until[station_id] = self._clock() + UNKNOWN_RETRY_S
                return None
            key = public_key_from_text(text)
            self._keys[station_id] = key
            self._read_at[station_id] = self._clock()
            self._unknown_until.pop(station_id, None)
            return key

    def forget(self, station_id: str) -> None:
        with self._lock:
            self._keys.pop(station_id, None)
            self._unknown_until.pop(station_id, None)
            self._read_at.pop(station_id, None)
