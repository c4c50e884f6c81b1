"""Time on the server: stored in UTC, shown and counted in the deployment's local time zone.

Union staff count days and hours in China time; this is the one place that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Seconds since the epoch; passed in wherever time decides something (tests give their own).
Clock = Callable[[], float]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands back naive UTC, PostgreSQL aware)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def as_local(value: datetime) -> datetime:
    """A stored (UTC, possibly naive) time in local time."""
    return as_utc(value).astimezone(LOCAL_TZ)


def local_date(value: datetime) -> date:
    return as_local(value).date()
