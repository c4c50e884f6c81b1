"""How many people are inside: entries minus exits, never negative, and its corrections. No I/O.

Counts drift in the real world (people leave through a door held open by someone else, two come
in on one unlock unseen), so the count is corrected in two audited ways:

- ``reconcile_quiet_hour``: call it from a periodic job (every few minutes) for each station,
  with the station's count, the time, the station's ``QuietHour`` and the local date it last
  ran (stored per station). Inside the quiet hour, once per local day, it returns the
  corrected count and an ``OccupancyChange`` to store (also when the count was already right:
  the record shows the check ran). Outside it, or when it already ran that day, it returns
  None. Pass ``expected`` when the station is not empty at that hour (a 24-hour station where
  people sleep): the count it should have, from staff or from the stays known to be open.
- ``correct``: a staff member sets the count; who and why are required. Store the returned
  ``OccupancyChange`` with the new count in one transaction; a ``CorrectionError`` is shown to
  staff as it is.

``apply`` is the per-event rule used when a ``door_opened`` event is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from protocol.payloads import EventKind, Passage
from server.core.localtime import LOCAL_TZ

QUIET_HOUR_ACTOR = "system:quiet-hour"


def apply(occupancy: int, kind: EventKind, passage: Passage | None) -> int:
    if kind is not EventKind.DOOR_OPENED:
        return occupancy
    if passage is Passage.ENTRY:
        return occupancy + 1
    if passage is Passage.EXIT:
        return max(0, occupancy - 1)
    return occupancy


class ChangeSource(StrEnum):
    QUIET_HOUR = "quiet_hour"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class OccupancyChange:
    """The audit record of one correction."""

    station_id: str
    before: int
    after: int
    at: datetime
    source: ChangeSource
    by: str  # staff account, or QUIET_HOUR_ACTOR
    reason: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True, slots=True)
class QuietHour:
    """The local hour [hour:00, hour+1:00) in which the station is expected (nearly) empty."""

    hour: int = 4
    tz: ZoneInfo = LOCAL_TZ


@dataclass(frozen=True, slots=True)
class Reconciled:
    count: int
    change: OccupancyChange
    run_on: date  # the local date: pass it as ``last_run_on`` from now on


def reconcile_quiet_hour(
    count: int,
    *,
    station_id: str,
    now: datetime,
    quiet: QuietHour,
    last_run_on: date | None,
    expected: int = 0,
) -> Reconciled | None:
    """The count corrected to ``expected`` once a local day inside the quiet hour, else None.

    Only inside the hour: a job that missed it (server down) must not reset a busy station in
    the afternoon; the count waits for the next night.
    """
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    local = now.astimezone(quiet.tz)
    if local.hour != quiet.hour or last_run_on == local.date():
        return None
    after = max(0, expected)
    reason = f"daily reconciliation at {quiet.hour:02d}:00 {quiet.tz.key}"
    change = OccupancyChange(
        station_id, count, after, now, ChangeSource.QUIET_HOUR, QUIET_HOUR_ACTOR, reason
    )
    return Reconciled(after, change, local.date())


class CorrectionError(StrEnum):
    NEGATIVE_TARGET = "negative_target"
    NO_STAFF = "no_staff"
    EMPTY_REASON = "empty_reason"


def correct(
    count: int, *, station_id: str, target: int, by: str, reason: str, at: datetime
) -> OccupancyChange | CorrectionError:
    """A staff correction of the count, or why it is refused. Never raises."""
    if target < 0:
        return CorrectionError.NEGATIVE_TARGET
    if not by.strip():
        return CorrectionError.NO_STAFF
    if not reason.strip():
        return CorrectionError.EMPTY_REASON
    return OccupancyChange(
        station_id, count, target, at, ChangeSource.STAFF, by.strip(), reason.strip()
    )
