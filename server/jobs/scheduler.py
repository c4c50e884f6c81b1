"""The server's periodic work, in one thread: stations gone silent (every second), minute jobs
(quiet-hour reconciliation, welfare alerts, expired staff sessions and old login failures
pruned), and every ``config_refresh_s`` the keys re-read, used nonces pruned and the trust
pages re-published (denylist freshness; a few hundred messages, not one per station).

Every worker runs it; each job is safe to run on several workers at once (idempotent, or
guarded by a per-station date)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import Engine

from server.access.repo import prune_used_nonces
from server.core.db import session_scope
from server.core.localtime import Clock, utcnow
from server.core.settings import ServerSettings
from server.jobs.station_jobs import run_station_jobs
from server.keys.ring import KeyHolder
from server.mqtt.publisher import Publisher
from server.staff.repo import prune_sessions
from server.stations.repo import mark_silent_stations

log = logging.getLogger(__name__)

TICK_S = 1.0
STATION_JOBS_EVERY_S = 60.0


def run_minute_jobs(engine: Engine, *, now: datetime) -> None:
    with session_scope(engine) as session:
        run_station_jobs(session, now=now)
    with session_scope(engine) as session:
        prune_sessions(session, now=now)


class Scheduler:
    def __init__(
        self,
        settings: ServerSettings,
        engine: Engine,
        keys: KeyHolder,
        publisher: Publisher,
        clock: Clock = time.time,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        self._publisher = publisher
        self._clock = clock
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        next_refresh = self._clock() + self._settings.config_refresh_s
        next_jobs = self._clock()
        while not self._stopping.wait(TICK_S):
            try:
                with session_scope(self._engine) as session:
                    for station_id in mark_silent_stations(session, now=utcnow()):
                        log.warning("%s: heartbeats missed, marked offline", station_id)
                if self._clock() >= next_jobs:
                    next_jobs = self._clock() + STATION_JOBS_EVERY_S
                    run_minute_jobs(self._engine, now=utcnow())
                if self._clock() >= next_refresh:
                    next_refresh = self._clock() + self._settings.config_refresh_s
                    self._keys.reload()  # a key rotated by another server worker, say
                    with session_scope(self._engine) as session:
                        prune_used_nonces(session, now=utcnow())
                    self._publisher.publish_trust()
            except Exception:
                log.exception("a periodic job failed; retrying")
