"""The server's periodic work, in one thread: stations gone silent (every second), minute jobs
(quiet-hour reconciliation, welfare alerts, expired staff sessions, old login failures and
old join attempts pruned), and every ``config_refresh_s`` the keys re-read, used nonces pruned
and the trust pages re-published (denylist freshness; a few hundred messages, not one per
station).

Every worker runs the thread, but only the holder of the ``scheduler`` lease (a database row,
``server.jobs.leases``) runs the jobs: once across workers, and another worker takes over
within ``LEASE_TTL`` when the holder dies. Each worker still re-reads the keys itself (its own
copy of the ring). The jobs stay safe to run twice (idempotent, or guarded by a per-station
date): a holder stalled past its lease may overlap its successor once."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from server.access.repo import prune_used_nonces
from server.alarms.offline import DEFAULT_OFFLINE_AFTER
from server.core.db import session_scope
from server.core.localtime import Clock, utcnow
from server.core.settings import ServerSettings
from server.events.occupancy import QuietHour
from server.homeassistant.bridge import HomeAssistantBridge
from server.jobs.repo import release_lease, take_lease
from server.jobs.station_jobs import DEFAULT_QUIET_HOUR, run_station_jobs
from server.join.repo import prune_attempts
from server.keys.ring import KeyHolder
from server.mqtt.publisher import Publisher
from server.riders.device_certs import prune_device_certs
from server.staff.repo import prune_sessions
from server.stations.liveness import mark_silent_stations
from server.stations.opening import refresh_closed_by_hours
from telemetry.edges import Watch

log = logging.getLogger(__name__)

TICK_S = 1.0
STATION_JOBS_EVERY_S = 60.0
LEASE_NAME = "scheduler"


def run_minute_jobs(
    engine: Engine,
    *,
    now: datetime,
    offline_after: timedelta = DEFAULT_OFFLINE_AFTER,
    quiet: QuietHour = DEFAULT_QUIET_HOUR,
) -> None:
    with session_scope(engine) as session:
        run_station_jobs(session, now=now, offline_after=offline_after, quiet=quiet)
    with session_scope(engine) as session:
        prune_sessions(session, now=now)
    with session_scope(engine) as session:
        prune_device_certs(session, now=now)
        prune_attempts(session, now=now)
        refresh_closed_by_hours(session, now=now)  # the overview's "closed by hours"
        session.commit()


class Scheduler:
    def __init__(
        self,
        settings: ServerSettings,
        engine: Engine,
        keys: KeyHolder,
        publisher: Publisher,
        clock: Clock = time.time,
        *,
        database: Watch | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._keys = keys
        self._publisher = publisher
        self._clock = clock
        # Lost and regained, logged once (``/readyz`` looks too, on a fresh connection); a
        # tick speaks of the database only after one of its own failed.
        self._database = database or Watch("database", log)
        self._database_failed = False
        self._homeassistant = (
            HomeAssistantBridge(
                engine, publisher.publish_homeassistant, lambda: publisher.reconnects
            )
            if settings.homeassistant_discovery
            else None
        )
        self._stopping = threading.Event()
        self.holder = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.leading = False
        self.ticks_led = 0  # ticks on which this worker held the lease and ran the jobs
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.leading:
            with session_scope(self._engine) as session:
                release_lease(session, name=LEASE_NAME, holder=self.holder, now=self._now())

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _lead(self) -> bool:
        """Take or renew the lease; whether this worker runs the jobs this tick."""
        with session_scope(self._engine) as session:
            leading = take_lease(session, name=LEASE_NAME, taker=self.holder, now=self._now())
        if leading != self.leading:
            log.info("%s the periodic jobs", "running" if leading else "no longer running")
        self.leading = leading
        return leading

    def _run(self) -> None:
        next_refresh = self._clock() + self._settings.config_refresh_s
        next_jobs = self._clock()
        while not self._stopping.wait(TICK_S):
            try:
                refresh_due = self._clock() >= next_refresh
                if refresh_due:
                    next_refresh = self._clock() + self._settings.config_refresh_s
                    self._keys.reload()  # a key rotated by another server worker, say
                leading = self._lead()
                if self._database_failed:  # the lease is a write: the database answers again
                    self._database_failed = False
                    self._database.regained()
                if not leading:
                    continue
                self.ticks_led += 1
                with session_scope(self._engine) as session:
                    for station_id in mark_silent_stations(session, now=utcnow()):
                        log.warning("%s: heartbeats missed, marked offline", station_id)
                if self._homeassistant is not None:
                    self._homeassistant.sync()
                if self._clock() >= next_jobs:
                    next_jobs = self._clock() + STATION_JOBS_EVERY_S
                    run_minute_jobs(
                        self._engine,
                        now=utcnow(),
                        offline_after=timedelta(seconds=self._settings.offline_alarm_after_s),
                        quiet=QuietHour(
                            hour=self._settings.reconcile_hour,
                            door_quiet=timedelta(hours=self._settings.reconcile_door_quiet_h),
                        ),
                    )
                if refresh_due:
                    with session_scope(self._engine) as session:
                        prune_used_nonces(session, now=utcnow())
                    self._publisher.publish_trust()
            except OperationalError as exc:
                self._database_failed = True
                self._database.lost(type(exc.orig or exc).__name__)  # once, not every second
            except Exception:
                log.exception("a periodic job failed; retrying")
