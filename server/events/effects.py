"""What a stored event does to the station, applied in sequence order: the count, the door
phase, alarms raised and cleared, stays, and command outcomes in the audit trail."""

from __future__ import annotations

from sqlmodel import Session, col, select

from protocol.payloads import EventKind, Passage
from server.alarms.models import Alarm
from server.alarms.repo import raise_alarm
from server.audit.models import AuditEntry
from server.core.localtime import as_utc
from server.events import occupancy
from server.events.models import EventRecord
from server.events.stays import end_stays, open_stay
from server.stations.models import Station

_PHASE_OF_ALARM = {"forced_open": "forced_open", "held_open": "held_open"}


def apply_effects(session: Session, station: Station, event: EventRecord) -> None:
    """What a stored event does, in sequence order: the count, door phase, alarms, stays,
    command outcomes."""
    at = as_utc(event.occurred_at)
    kind = EventKind(event.kind)
    passage = Passage(event.passage) if event.passage else None
    station.occupancy = occupancy.apply(station.occupancy, kind, passage)
    event.applied = True
    session.add(event)
    if kind is EventKind.DOOR_OPENED:
        station.door_phase = "open"
        if passage is Passage.ENTRY and event.rider_id is not None:
            open_stay(session, station_id=station.id, rider_id=event.rider_id, at=at)
    elif kind is EventKind.DOOR_CLOSED:
        station.door_phase = "closed"
    elif kind is EventKind.ALARM_RAISED and event.alarm:
        raise_alarm(
            session, station_id=station.id, kind=event.alarm, at=at, detail=event.detail or ""
        )
        station.door_phase = _PHASE_OF_ALARM.get(event.alarm, station.door_phase)
    elif kind is EventKind.ALARM_CLEARED and event.alarm:
        for alarm in session.exec(
            select(Alarm).where(
                Alarm.station_id == station.id,
                Alarm.kind == event.alarm,
                col(Alarm.cleared_at).is_(None),
            )
        ):
            alarm.cleared_at = at
            session.add(alarm)
    elif kind in (EventKind.COMMAND_DONE, EventKind.COMMAND_REFUSED):
        session.add(
            AuditEntry(
                at=at,
                actor=f"station:{station.id}",
                action=kind.value,
                station_id=station.id,
                detail=f"command {event.command_id}: {event.detail or ''}".strip(),
            )
        )
    if station.occupancy == 0:
        end_stays(session, station_id=station.id, at=at)  # nobody inside: every stay is over
