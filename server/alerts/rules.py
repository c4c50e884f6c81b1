"""Who is told about an alarm, when, and how retries space out. Pure; time passed in.

- Routing: a notifier lists the stations it covers: ``*`` (all), an exact station id, or a
  prefix ending in ``*`` (``sz-*``: every station of one district); and optionally the alarm
  kinds it wants (empty: every kind).
- Quiet hours: a local time window (``22:00``-``07:00`` runs past midnight) in which
  non-urgent alarms are held back and sent when it ends. A forced door and a tampered camera
  are never held: someone may be breaking in.
- Retries: exponential backoff from ``base_s`` doubling per failed attempt up to ``cap_s``,
  with jitter (a receiver that comes back is not hit by every server at once); after
  ``max_age`` from the alarm the delivery is given up and counted as failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.core.localtime import LOCAL_TZ

URGENT_KINDS = frozenset({"forced_open", "camera_tamper"})
ALARM_KINDS = (
    "forced_open",
    "held_open",
    "contact_fault",
    "camera_tamper",
    "tailgate",
    "welfare",
    "station_offline",
)
ALL_STATIONS = "*"


@dataclass(frozen=True, slots=True)
class QuietHours:
    starts: time
    ends: time  # earlier than starts: the window runs past midnight


@dataclass(frozen=True, slots=True)
class Route:
    stations: tuple[str, ...]  # "*", ids, or prefixes ending in "*"
    kinds: tuple[str, ...] = ()  # empty: every kind
    quiet: QuietHours | None = None


def parse_quiet_hours(starts: str | None, ends: str | None) -> QuietHours | None:
    """Both "HH:MM" or both absent; raises ValueError naming what is wrong."""
    if starts is None and ends is None:
        return None
    if starts is None or ends is None:
        raise ValueError("quiet hours need both quiet_from and quiet_until")
    try:
        window = QuietHours(time.fromisoformat(starts), time.fromisoformat(ends))
    except ValueError:
        raise ValueError('quiet hours must look like "22:00"') from None
    if window.starts == window.ends:
        raise ValueError("quiet hours must not start and end at the same time")
    return window


def check_station_patterns(patterns: Sequence[str]) -> None:
    if not patterns:
        raise ValueError('stations: list at least one station id, prefix ("sz-*") or "*"')
    for pattern in patterns:
        stem = pattern.removesuffix("*")
        if pattern != ALL_STATIONS and (not stem or "*" in stem):
            raise ValueError(f"stations: {pattern!r} is not an id, a prefix* or *")


def covers(route: Route, *, station_id: str, kind: str) -> bool:
    if route.kinds and kind not in route.kinds:
        return False
    for pattern in route.stations:
        if pattern in (ALL_STATIONS, station_id):
            return True
        if pattern.endswith("*") and station_id.startswith(pattern[:-1]):
            return True
    return False


def send_after(
    route: Route, *, kind: str, raised_at: datetime, tz: ZoneInfo = LOCAL_TZ
) -> datetime:
    """When the alert may go: at once, or at the end of the quiet hours it fell in."""
    quiet = route.quiet
    if quiet is None or kind in URGENT_KINDS:
        return raised_at
    local = raised_at.astimezone(tz)
    at = local.time().replace(tzinfo=None)
    if quiet.starts < quiet.ends:
        inside = quiet.starts <= at < quiet.ends
        end_day = local.date()
    else:
        inside = at >= quiet.starts or at < quiet.ends
        end_day = local.date() + timedelta(days=1) if at >= quiet.starts else local.date()
    if not inside:
        return raised_at
    return datetime.combine(end_day, quiet.ends, tz).astimezone(raised_at.tzinfo)


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 10.0
    cap_s: float = 600.0
    max_age: timedelta = timedelta(hours=24)


def retry_delay_s(backoff: Backoff, *, attempts: int, jitter: float) -> float:
    """Seconds before the next try after ``attempts`` failures; ``jitter`` in [0, 1) picks a
    point between half and all of the exponential step ("equal jitter")."""
    step = min(backoff.cap_s, backoff.base_s * 2.0 ** max(0, attempts - 1))
    return step / 2 + step / 2 * jitter


def given_up(backoff: Backoff, *, raised_at: datetime, now: datetime) -> bool:
    return now - raised_at >= backoff.max_age
