"""The periodic jobs' lease rule: free when nobody holds it, when it has expired, or to its
own holder (renewing); never to a second worker while the first holds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.jobs.leases import LEASE_TTL, Lease, can_take, renewed

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def test_nobody_holds_it_yet() -> None:
    assert can_take(None, taker="a", now=T0)


def test_the_holder_renews() -> None:
    lease = renewed("scheduler", taker="a", now=T0)
    assert lease.expires_at == T0 + LEASE_TTL
    assert can_take(lease, taker="a", now=T0 + timedelta(seconds=1))


def test_another_worker_waits_for_expiry() -> None:
    lease = Lease("scheduler", "a", T0 + LEASE_TTL)
    assert not can_take(lease, taker="b", now=T0)
    assert not can_take(lease, taker="b", now=T0 + LEASE_TTL - timedelta(microseconds=1))
    assert can_take(lease, taker="b", now=T0 + LEASE_TTL)
