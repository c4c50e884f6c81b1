"""What stored events do to their stations, on the database: the inputs of the pure fold
(``server.events.fold``) read in one query for the open stays, and its result written in one
statement per kind of change (executemany), whatever the number of events. Alarms and command
outcomes are rare and go through their own modules (an alarm queues its alerts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    insert,
    or_,
    update,
)
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from server.alarms.models import Alarm
from server.alarms.repo import raise_alarm
from server.audit.repo import audit
from server.core.localtime import as_utc
from server.events.fold import Effects, OpenStay, Pending, StationState, fold
from server.events.models import EventRecord, Stay
from server.stations.models import Station

_EVENT: Table = EventRecord.__table__  # type: ignore[attr-defined]
_STAY: Table = Stay.__table__  # type: ignore[attr-defined]
_STATION: Table = Station.__table__  # type: ignore[attr-defined]
_CHUNK = 900  # bound parameters per IN list (well under SQLite's limit)

_AT = bindparam("b_at", type_=DateTime(timezone=True))
_STATION_UPDATE = (
    update(_STATION)
    .where(_STATION.c.id == bindparam("b_id", type_=String()))
    .values(
        occupancy=bindparam("b_occupancy", type_=Integer()),
        door_phase=bindparam("b_phase", type_=String()),
        # The newest event's time, unless an older one is all this batch brings.
        last_event_at=case(
            (
                and_(
                    _AT.is_not(None),
                    or_(_STATION.c.last_event_at.is_(None), _STATION.c.last_event_at < _AT),
                ),
                _AT,
            ),
            else_=_STATION.c.last_event_at,
        ),
    )
)
_STAY_END = (
    update(_STAY)
    .where(_STAY.c.id == bindparam("b_id", type_=Integer()))
    .values(ended_at=bindparam("b_at", type_=DateTime(timezone=True)))
)
_APPLIED = (
    update(_EVENT)
    .where(_EVENT.c.event_id.in_(bindparam("b_ids", expanding=True)))
    .values(applied=bindparam("b_true", type_=Boolean()))
)


def open_stays_of(
    session: Session, *, riders: Iterable[str], stations: Iterable[str]
) -> list[OpenStay]:
    """The stays with no end of these riders (anywhere) or at these stations: all a fold of
    their events can end. One query."""
    riders, stations = sorted(set(riders)), sorted(set(stations))
    if not riders and not stations:
        return []
    rows = session.execute(
        sql_select(_STAY.c.id, _STAY.c.station_id, _STAY.c.rider_id, _STAY.c.entered_at)
        .where(_STAY.c.ended_at.is_(None))
        .where(or_(_STAY.c.rider_id.in_(riders), _STAY.c.station_id.in_(stations)))
        .order_by(_STAY.c.id)
    ).all()
    return [OpenStay(row[0], row[1], row[2], as_utc(row[3])) for row in rows]


def write_effects(
    session: Session,
    effects: Effects,
    *,
    stations: Mapping[str, StationState] | None = None,
    last_event: Mapping[str, datetime] | None = None,
) -> None:
    """The fold's result, in the caller's transaction; with ``last_event`` (each station's
    newest event) recorded in the same statement (``stations``: their state, for those the
    fold did not change)."""
    connection = session.connection()
    ids = effects.applied
    for start in range(0, len(ids), _CHUNK):
        connection.execute(_APPLIED, {"b_ids": ids[start : start + _CHUNK], "b_true": True})
    last_event = last_event or {}
    changed = {**{sid: stations[sid] for sid in last_event if stations}, **effects.stations}
    if changed:
        rows = [
            {
                "b_id": sid,
                "b_occupancy": state.occupancy,
                "b_phase": state.door_phase,
                "b_at": last_event.get(sid),
            }
            for sid, state in sorted(changed.items())
        ]
        connection.execute(_STATION_UPDATE, rows)
    if effects.stays_ended:
        ended = [{"b_id": i, "b_at": at} for i, at in sorted(effects.stays_ended.items())]
        connection.execute(_STAY_END, ended)
    if effects.stays_new:
        rows = [
            {
                "station_id": stay.station_id,
                "rider_id": stay.rider_id,
                "entered_at": stay.entered_at,
                "ended_at": ended_at,
                "welfare_alerted": False,
            }
            for stay, ended_at in effects.stays_new
        ]
        connection.execute(insert(_STAY), rows)
    for change in effects.alarms:
        if change.raised:
            raise_alarm(
                session,
                station_id=change.station_id,
                kind=change.kind,
                at=change.at,
                detail=change.detail,
            )
            continue
        for alarm in session.exec(
            select(Alarm).where(
                Alarm.station_id == change.station_id,
                Alarm.kind == change.kind,
                col(Alarm.cleared_at).is_(None),
            )
        ):
            alarm.cleared_at = change.at
            session.add(alarm)
    for outcome in effects.commands:
        audit(
            session,
            actor=f"station:{outcome.station_id}",
            action=outcome.action,
            at=outcome.at,
            station_id=outcome.station_id,
            detail=outcome.detail,
        )


def fold_and_write(
    session: Session,
    stations: dict[str, StationState],
    events: Sequence[Pending],
    *,
    last_event: Mapping[str, datetime] | None = None,
) -> Effects:
    """Apply ``events`` (in order) to ``stations`` (their current state, rows locked by the
    caller) and write the result, with each station's newest event time (``last_event``)."""
    effects = Effects()
    if events:
        entering = [e.rider_id for e in events if e.rider_id and e.passage == "entry"]
        touched = {e.station_id for e in events}
        stays = open_stays_of(session, riders=entering, stations=touched)
        effects = fold(stations, stays, events)
    write_effects(session, effects, stations=stations, last_event=last_event)
    return effects


def pending_of(record: EventRecord) -> Pending:
    return Pending(
        event_id=record.event_id,
        station_id=record.station_id,
        seq=record.seq,
        kind=record.kind,
        occurred_at=as_utc(record.occurred_at),
        applied=record.applied,
        passage=record.passage,
        rider_id=record.rider_id,
        alarm=record.alarm,
        detail=record.detail,
        command_id=record.command_id,
    )


def apply_effects(session: Session, station: Station, event: EventRecord) -> None:
    """What one stored event does to its station (the ORM objects given), in the caller's
    transaction: the same fold as a batch's."""
    state = {station.id: StationState(station.occupancy, station.door_phase)}
    session.flush()
    effects = fold_and_write(session, state, [pending_of(event)])
    changed = effects.stations.get(station.id)
    if changed is not None:  # the objects say what the rows now say
        station.occupancy, station.door_phase = changed.occupancy, changed.door_phase
        event.applied = True
