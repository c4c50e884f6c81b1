"""Time on the server: stored in UTC, shown and counted in the deployment's local time zone.

Union staff count days and hours in China time; this is the one place that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
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


def offset_changes(
    start: datetime, end: datetime, zone: ZoneInfo = LOCAL_TZ
) -> list[tuple[datetime, timedelta]]:
    """The zone's UTC offset from ``start`` and every change of it before ``end``, as (UTC
    instant it takes effect, offset), so that SQL without time zones (SQLite) can shift stored
    UTC times to local time exactly. China has one offset: a single entry."""

    def offset(at: datetime) -> timedelta:
        return at.astimezone(zone).utcoffset() or timedelta(0)

    changes = [(start, offset(start))]
    day = start
    while day < end:
        after = min(day + timedelta(days=1), end)
        if offset(after) != changes[-1][1]:
            # The change is in (low, high]: halve to the second (zones change on whole seconds).
            low, high = int(day.timestamp()), int(after.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                moved = offset(datetime.fromtimestamp(middle, UTC)) != changes[-1][1]
                low, high = (low, middle) if moved else (middle, high)
            changes.append((datetime.fromtimestamp(high, UTC), offset(after)))
        day = after
    return changes
