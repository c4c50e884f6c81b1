"""Periodic jobs run once across server workers: the lease in the database is held by one
worker at a time, renewed by it, and taken over only after it expires or is released; two
schedulers on one database, one of them runs the jobs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from server.core.db import session_scope
from server.core.settings import ServerSettings
from server.jobs.leases import LEASE_TTL
from server.jobs.repo import current_lease, release_lease, take_lease
from server.jobs.scheduler import Scheduler
from server.keys.ring import KeyHolder
from tests.support.waiting import wait_for

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _take(engine: Engine, taker: str, now: datetime) -> bool:
    with session_scope(engine) as session:
        return take_lease(session, name="jobs", taker=taker, now=now)


def test_one_holder_at_a_time(engine: Engine) -> None:
    assert _take(engine, "a", T0)
    assert not _take(engine, "b", T0 + timedelta(seconds=1))
    assert _take(engine, "a", T0 + timedelta(seconds=2))  # renewed: expires later now
    assert not _take(engine, "b", T0 + LEASE_TTL + timedelta(seconds=1))
    assert _take(engine, "b", T0 + timedelta(seconds=2) + LEASE_TTL)  # expired: taken over
    assert not _take(engine, "a", T0 + timedelta(seconds=3) + LEASE_TTL)
    with session_scope(engine) as session:
        lease = current_lease(session, name="jobs")
    assert lease is not None
    assert lease.holder == "b"


def test_a_released_lease_is_taken_at_once(engine: Engine) -> None:
    assert _take(engine, "a", T0)
    with session_scope(engine) as session:
        release_lease(session, name="jobs", holder="b", now=T0)  # not b's to release
    assert not _take(engine, "b", T0 + timedelta(seconds=1))
    with session_scope(engine) as session:
        release_lease(session, name="jobs", holder="a", now=T0 + timedelta(seconds=1))
    assert _take(engine, "b", T0 + timedelta(seconds=1))


def test_racing_takers_one_wins(engine: Engine) -> None:
    """Many workers asking at the same moment for a lease nobody holds: exactly one gets it."""
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def race(taker: str) -> None:
        barrier.wait(5)
        try:
            results.append(_take(engine, taker, T0))
        except Exception:  # losing an insert race may surface as an error: not a win
            results.append(False)

    threads = [threading.Thread(target=race, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False] * 5 + [True]


class CountingPublisher:
    def __init__(self) -> None:
        self.refreshes = 0

    def publish_trust(self) -> None:
        self.refreshes += 1


def test_two_schedulers_one_runs_the_jobs(tmp_path: Path, engine: Engine) -> None:
    settings = ServerSettings(data_dir=tmp_path, demo_mode=True, config_refresh_s=1.0)
    keys = KeyHolder(engine)
    keys.reload()
    publishers = [CountingPublisher(), CountingPublisher()]
    schedulers = [Scheduler(settings, engine, keys, p) for p in publishers]  # type: ignore[arg-type]
    for scheduler in schedulers:
        scheduler.start()
    try:
        wait_for(lambda: sum(s.ticks_led for s in schedulers) >= 4, timeout_s=20, what="four ticks")
        leaders = [s for s in schedulers if s.ticks_led > 0]
        assert len(leaders) == 1
        follower = next(s for s in schedulers if s is not leaders[0])
        leaders[0].stop()  # a clean stop releases the lease: the other takes over
        wait_for(lambda: follower.ticks_led > 0, timeout_s=20, what="the other to take over")
        assert sum(p.refreshes for p in publishers) >= 1
    finally:
        for scheduler in schedulers:
            scheduler.stop()
