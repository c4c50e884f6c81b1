"""How many people are inside: entries minus exits, never negative, and its corrections. No I/O.

Counts drift in the real world (people leave through a door held open by someone else, two come
in on one unlock unseen), so the count is corrected in two audited ways:

- ``reconcile_quiet_hour``: call it from a periodic job (every few minutes) for each station,
  with the station's count, the time, the station's ``QuietHour``, the local date it last ran
  (stored per station), whether the station is open at this hour by its hours or modes, and
  when its door was last used. Inside the quiet hour, once per local day, it decides; outside
  it, or when it already ran that day, it returns None. It corrects a count only with
  evidence that nobody can be inside: the station is closed at this hour *and* its door has
  been quiet for ``QuietHour.door_quiet`` (a setting). A station open now (24 hours, or a
  night station) is never zeroed: people sleep there, and a quiet door is what sleep looks
  like. Every decision says why (``Outcome``); a correction carries its evidence for the
  audit trail.
- ``correct``: a staff member sets the count; who and why are required. Store the returned
  ``OccupancyChange`` with the new count in one transaction; a ``CorrectionError`` is shown to
  staff as it is.

``apply`` is the per-event rule used when a ``door_opened`` event is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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
    # What made the quiet hour sure (for the audit trail): {"door_quiet_h": 5.5, ...}.
    evidence: Mapping[str, object] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True, slots=True)
class QuietHour:
    """The local hour [hour:00, hour+1:00) in which the count is checked, and how long the
    door must have been quiet before a closed station's count may be set to zero."""

    hour: int = 4
    tz: ZoneInfo = LOCAL_TZ
    door_quiet: timedelta = timedelta(hours=3)


class Outcome(StrEnum):
    ALREADY_EMPTY = "already_empty"  # nothing to correct
    CORRECTED = "corrected"  # closed now, door quiet long enough: set to zero
    OPEN_NOW = "open_now"  # open at this hour (24 hours, a night station): kept
    DOOR_USED = "door_used"  # closed, but the door was used lately: kept


@dataclass(frozen=True, slots=True)
class Reconciled:
    count: int
    outcome: Outcome
    run_on: date  # the local date: pass it as ``last_run_on`` from now on
    change: OccupancyChange | None = None  # to store, when the count was corrected


def reconcile_quiet_hour(
    count: int,
    *,
    station_id: str,
    now: datetime,
    quiet: QuietHour,
    last_run_on: date | None,
    open_now: bool,
    last_door_at: datetime | None,
) -> Reconciled | None:
    """Once a local day inside the quiet hour: the count corrected to zero with evidence, or
    kept and why; else None.

    Only inside the hour: a job that missed it (server down) must not reset a busy station in
    the afternoon; the count waits for the next night. ``last_door_at`` None: the door has
    never reported being used (as quiet as a door can be).
    """
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    local = now.astimezone(quiet.tz)
    if local.hour != quiet.hour or last_run_on == local.date():
        return None
    today = local.date()
    if count <= 0:
        return Reconciled(count, Outcome.ALREADY_EMPTY, today)
    if open_now:
        return Reconciled(count, Outcome.OPEN_NOW, today)
    quiet_for = None if last_door_at is None else now - last_door_at
    if quiet_for is not None and quiet_for < quiet.door_quiet:
        return Reconciled(count, Outcome.DOOR_USED, today)
    evidence: dict[str, object] = {
        "closed": True,
        "door_quiet_h": None if quiet_for is None else round(quiet_for.total_seconds() / 3600, 1),
        "door_quiet_min_h": round(quiet.door_quiet.total_seconds() / 3600, 1),
    }
    reason = f"closed at {local:%H:%M}, door quiet for at least {quiet.door_quiet}"
    change = OccupancyChange(
        station_id, count, 0, now, ChangeSource.QUIET_HOUR, QUIET_HOUR_ACTOR, reason, evidence
    )
    return Reconciled(0, Outcome.CORRECTED, today, change)


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
