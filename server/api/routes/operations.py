"""Staff operations on a station: standing rules, remote commands, occupancy corrections,
alarms and the audit trail. Every change records who, when and why."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from protocol.payloads import CommandKind, StationCommand
from server import crud
from server.access.occupancy import CorrectionError, correct
from server.api.deps import AS_VIEWER, AdminDep, OperatorDep, ServicesDep, SessionDep
from server.models import (
    AlarmPublic,
    AuditPublic,
    CommandCreate,
    CommandPublic,
    OccupancyCorrection,
    Station,
    StationPublic,
    StationRulesUpdate,
    utcnow,
)
from server.station_rules import parse_opening_hours

router = APIRouter(prefix="/api", tags=["operations"])

COMMAND_TTL = timedelta(seconds=30)
Page = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0)]


def _station(session: SessionDep, station_id: str) -> Station:
    station = crud.get_station(session, station_id=station_id)
    if station is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no station {station_id!r}")
    return station


@router.patch("/stations/{station_id}/rules", response_model=StationPublic)
def update_rules(
    station_id: str,
    change: StationRulesUpdate,
    session: SessionDep,
    services: ServicesDep,
    staff: AdminDep,
) -> StationPublic:
    station = _station(session, station_id)
    if change.opening_hours is not None and change.open_all_day:
        raise HTTPException(422, "give opening_hours or open_all_day, not both")
    if change.emergency is not None and change.end_emergency:
        raise HTTPException(422, "give emergency or end_emergency, not both")
    if change.opening_hours is not None:
        try:
            parse_opening_hours(change.opening_hours)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        station.opening_hours = json.dumps(change.opening_hours)
    if change.open_all_day:
        station.opening_hours = None
    for name in (
        "capacity",
        "soft_limit",
        "maintenance",
        "outdoor_temp_c",
        "latitude",
        "longitude",
    ):
        value = getattr(change, name)
        if value is not None:
            setattr(station, name, value)
    if change.emergency is not None:
        station.emergency = change.emergency.value
    if change.end_emergency:
        station.emergency = None
    if change.passback is not None:
        station.passback = change.passback.value
    changed = change.model_dump(exclude_unset=True, exclude={"reason"})
    crud.audit(
        session,
        actor=staff.user.username,
        action="rules_changed",
        at=utcnow(),
        station_id=station_id,
        reason=change.reason,
        detail=json.dumps(changed, ensure_ascii=False, default=str),
    )
    crud.bump_config_version(session)
    session.add(station)
    session.commit()
    session.refresh(station)
    services.consumer.publish_config(station_id)
    return StationPublic.model_validate(station)


@router.post(
    "/stations/{station_id}/commands",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CommandPublic,
)
def send_command(
    station_id: str,
    request: CommandCreate,
    session: SessionDep,
    services: ServicesDep,
    staff: OperatorDep,
) -> CommandPublic:
    """Remote unlock, lockdown and its release: sent now, acted on at most once, audited; the
    station's answer arrives as a command event in the audit trail."""
    station = _station(session, station_id)
    if (request.mode is not None) != (request.kind is CommandKind.SET_MODE):
        raise HTTPException(422, "mode is given with set_mode and only with it")
    now = utcnow()
    command = StationCommand(
        command_id=uuid.uuid4().hex,
        station_id=station_id,
        kind=request.kind,
        issued_at=now,
        expires_at=now + COMMAND_TTL,
        issued_by=staff.user.username,
        reason=request.reason,
        mode=request.mode,
    )
    if request.kind in (CommandKind.LOCKDOWN, CommandKind.LOCKDOWN_RELEASE):
        station.lockdown = request.kind is CommandKind.LOCKDOWN  # standing, via the config too
        crud.bump_config_version(session)
        session.add(station)
    crud.audit(
        session,
        actor=staff.user.username,
        action=f"command_{request.kind.value}",
        at=now,
        station_id=station_id,
        reason=request.reason,
        detail=f"command {command.command_id}",
    )
    session.commit()
    services.consumer.send_command(command)
    if request.kind in (CommandKind.LOCKDOWN, CommandKind.LOCKDOWN_RELEASE):
        services.consumer.publish_config(station_id)
    return CommandPublic.model_validate(command.model_dump())


@router.post("/stations/{station_id}/occupancy", response_model=StationPublic)
def correct_occupancy(
    station_id: str, request: OccupancyCorrection, session: SessionDep, staff: OperatorDep
) -> StationPublic:
    station = _station(session, station_id)
    now = utcnow()
    outcome = correct(
        station.occupancy,
        station_id=station_id,
        target=request.target,
        by=staff.user.username,
        reason=request.reason,
        at=now,
    )
    if isinstance(outcome, CorrectionError):
        raise HTTPException(422, f"correction refused: {outcome.value}")
    station.occupancy = outcome.after
    if outcome.after == 0:
        crud.end_stays(session, station_id=station_id, at=now)
    crud.audit(
        session,
        actor=outcome.by,
        action="occupancy_corrected",
        at=now,
        station_id=station_id,
        reason=outcome.reason,
        detail=f"{outcome.before} -> {outcome.after}",
    )
    session.add(station)
    session.commit()
    session.refresh(station)
    return StationPublic.model_validate(station)


@router.get("/alarms", response_model=list[AlarmPublic], dependencies=AS_VIEWER)
def list_alarms(
    session: SessionDep,
    station_id: str | None = None,
    unacknowledged: bool = False,
    limit: Page = 50,
    offset: Offset = 0,
) -> list[AlarmPublic]:
    alarms = crud.list_alarms(
        session, station_id=station_id, unacknowledged=unacknowledged, limit=limit, offset=offset
    )
    return [AlarmPublic.model_validate(a) for a in alarms]


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmPublic)
def acknowledge_alarm(alarm_id: int, session: SessionDep, staff: OperatorDep) -> AlarmPublic:
    try:
        alarm = crud.acknowledge_alarm(
            session, alarm_id=alarm_id, by=staff.user.username, now=utcnow()
        )
    except crud.NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except crud.ConflictError as exc:
        raise HTTPException(409, str(exc)) from None
    return AlarmPublic.model_validate(alarm)


@router.get("/audit", response_model=list[AuditPublic], dependencies=AS_VIEWER)
def list_audit(
    session: SessionDep, station_id: str | None = None, limit: Page = 50, offset: Offset = 0
) -> list[AuditPublic]:
    entries = crud.list_audit(session, station_id=station_id, limit=limit, offset=offset)
    return [AuditPublic.model_validate(e) for e in entries]
