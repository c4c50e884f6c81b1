"""When a station offline for a while becomes an alarm. Pure; time passed in.

A station that lost its link (its last will, or heartbeats missed) is shown offline at once;
staff are alerted only when it stays offline for ``after`` (a reboot or a short network
drop should not wake anyone), once per offline spell, and the alarm is cleared when the
station comes back."""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_OFFLINE_AFTER = timedelta(minutes=10)


def offline_alarm_due(
    *,
    online: bool,
    changed_at: datetime | None,
    last_alarm_at: datetime | None,
    now: datetime,
    after: timedelta = DEFAULT_OFFLINE_AFTER,
) -> bool:
    """Whether to raise a ``station_offline`` alarm now: offline since ``changed_at`` for at
    least ``after``, with no such alarm raised since it went offline."""
    if online or changed_at is None or now - changed_at < after:
        return False
    return last_alarm_at is None or last_alarm_at < changed_at
