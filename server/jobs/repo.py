"""Leases in the database, taken atomically: the row is created if missing, then claimed by an
UPDATE whose WHERE is ``leases.can_take``; two workers racing for it cannot both succeed (the
database serialises the UPDATEs of one row, and the second sees the first's holder)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from server.core.localtime import as_utc
from server.jobs.leases import LEASE_TTL, Lease, renewed
from server.jobs.models import JobLease

_LEASE: Table = JobLease.__table__  # type: ignore[attr-defined]


def take_lease(
    session: Session, *, name: str, taker: str, now: datetime, ttl: timedelta = LEASE_TTL
) -> bool:
    """Take or renew the lease; True if ``taker`` holds it until ``now + ttl``. Commits."""
    lease = renewed(name, taker=taker, now=now, ttl=ttl)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    created = session.execute(
        insert(_LEASE)
        .values(name=name, holder=lease.holder, expires_at=lease.expires_at)
        .on_conflict_do_nothing()
    )
    if created.rowcount == 1:  # type: ignore[attr-defined]
        session.commit()
        return True
    claimed = session.execute(
        update(_LEASE)
        .where(_LEASE.c.name == name)
        .where(or_(_LEASE.c.holder == taker, _LEASE.c.expires_at <= now))
        .values(holder=lease.holder, expires_at=lease.expires_at)
    )
    session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def release_lease(session: Session, *, name: str, holder: str, now: datetime) -> None:
    """Let another worker take over at once (a clean stop). Commits."""
    session.execute(
        update(_LEASE)
        .where(_LEASE.c.name == name, _LEASE.c.holder == holder)
        .values(expires_at=now)
    )
    session.commit()


def current_lease(session: Session, *, name: str) -> Lease | None:
    row = session.get(JobLease, name)
    return None if row is None else Lease(row.name, row.holder, as_utc(row.expires_at))
