"""The key ring as this server process currently knows it, shared by HTTP and MQTT threads."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from server import keyring
from server.db import session_scope
from server.keyring import KeyRing
from server.models import utcnow


class KeyHolder:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._ring = KeyRing(())

    @property
    def ring(self) -> KeyRing:
        return self._ring  # replaced whole, never mutated: reading needs no lock

    def reload(self) -> KeyRing:
        """Read the keys from the database, creating the first one if there is none."""
        with self._lock, session_scope(self._engine) as session:
            keyring.ensure_key(session, now=utcnow())
            self._ring = keyring.load(session)
            return self._ring
