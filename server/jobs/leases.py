"""Who runs the periodic jobs when several server workers run: the holder of a lease, a row
in the database that one worker at a time holds until it expires. The rule, pure: a lease is
free to take when nobody holds it, when it has expired, or when the taker already holds it
(renewing). ``server.jobs.repo.take_lease`` applies it in one atomic statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Longer than the longest tick of jobs, so that a busy holder is not taken over mid-job; short
# enough that the jobs stop for at most this long when the holder dies.
LEASE_TTL = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    expires_at: datetime


def can_take(lease: Lease | None, *, taker: str, now: datetime) -> bool:
    """Whether ``taker`` may hold the lease from ``now``."""
    return lease is None or lease.holder == taker or lease.expires_at <= now


def renewed(name: str, *, taker: str, now: datetime, ttl: timedelta = LEASE_TTL) -> Lease:
    return Lease(name, taker, now + ttl)
