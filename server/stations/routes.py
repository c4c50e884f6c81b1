"""Stations, for staff: provision, list, read, change the standing rules, send a remote
command. Every change records who, when and why."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, status

from protocol.payloads import CommandKind, StationCommand
from server.audit.repo import audit
from server.core.api_errors import ApiError
from server.core.deps import Limit, Offset, ServicesDep, SessionDep
from server.core.errors import AlreadyExistsError, ErrorCode, InvalidError, NotFoundError
from server.core.localtime import utcnow
from server.reports.listing import StationQueryDep, station_page
from server.staff.deps import AS_VIEWER, AdminDep, OperatorDep
from server.stations import provisioning, repo
from server.stations.deps import station_or_404
from server.stations.models import (
    CommandCreate,
    CommandPublic,
    ReprovisionRequest,
    Station,
    StationCreate,
    StationPage,
    StationProvisioned,
    StationPublic,
    StationRulesUpdate,
)
from server.stations.rules import audit_values, mode_update, rules_update

router = APIRouter(prefix="/api", tags=["stations"])

COMMAND_TTL = timedelta(seconds=30)


@router.post("/stations", status_code=status.HTTP_201_CREATED, response_model=StationProvisioned)
def create_station(
    station_in: StationCreate, session: SessionDep, services: ServicesDep, staff: AdminDep
) -> StationProvisioned:
    """A new station and its provisioning bundle (shown once: it holds the station's broker
    password and signing key)."""
    try:
        station, bundle = provisioning.create_station(
            session,
            station_in=station_in,
            settings=services.settings,
            control=services.keys.control,
            now=utcnow(),
            by=staff.user.username,
        )
    except AlreadyExistsError as exc:
        raise ApiError.of(status.HTTP_409_CONFLICT, exc) from None
    services.broker.sync()
    services.publisher.publish_config(station.id)
    return StationProvisioned.model_validate(station, update={"bundle": bundle})


@router.post(
    "/stations/{station_id}/provision",
    response_model=StationProvisioned,
)
def reprovision_station(
    station_id: str,
    request: ReprovisionRequest,
    session: SessionDep,
    services: ServicesDep,
    staff: AdminDep,
) -> StationProvisioned:
    """A new identity for a station (a replaced or stolen box): a new bundle; the old signing
    key and broker password stop working at once."""
    try:
        station, bundle = provisioning.reprovision(
            session,
            station_id=station_id,
            settings=services.settings,
            control=services.keys.control,
            now=utcnow(),
            by=staff.user.username,
            reason=request.reason,
        )
    except NotFoundError as exc:
        raise ApiError.of(status.HTTP_404_NOT_FOUND, exc) from None
    services.broker.sync()
    services.consumer.station_keys.forget(station_id)
    return StationProvisioned.model_validate(station, update={"bundle": bundle})


@router.get("/stations", response_model=StationPage, dependencies=AS_VIEWER)
def list_stations(
    session: SessionDep, query: StationQueryDep, limit: Limit = 50, offset: Offset = 0
) -> StationPage:
    """A page of stations, filtered and sorted in the database, and how many match."""
    found, total = station_page(session, query=query, limit=limit, offset=offset)
    return StationPage(
        items=[StationPublic.model_validate(s, update={"active_alarms": n}) for s, n in found],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/stations/{station_id}",
    response_model=StationPublic,
    dependencies=AS_VIEWER,
)
def read_station(station_id: str, session: SessionDep) -> StationPublic:
    return StationPublic.model_validate(station_or_404(session, station_id))


@router.patch("/stations/{station_id}/rules", response_model=StationPublic)
def update_rules(
    station_id: str,
    change: StationRulesUpdate,
    session: SessionDep,
    services: ServicesDep,
    staff: AdminDep,
) -> StationPublic:
    """Capacity, modes, hours and the rest: stored, audited with what each was before, and
    sent to the station in its signed config."""
    station = station_or_404(session, station_id)
    try:
        updates = rules_update(change)
    except InvalidError as exc:
        raise ApiError.of(422, exc) from None
    _change_station(
        session,
        station,
        updates,
        action="rules_changed",
        by=staff.user.username,
        reason=change.reason,
    )
    session.commit()
    session.refresh(station)
    services.publisher.publish_config(station_id)
    return StationPublic.model_validate(station)


def _change_station(
    session: SessionDep,
    station: Station,
    updates: dict[str, Any],
    *,
    action: str,
    by: str,
    reason: str,
    detail: str = "",
) -> None:
    """Set the columns, audit them before and after, and bump the config version: in the
    caller's transaction."""
    before = audit_values(station, updates)
    for name, value in updates.items():
        setattr(station, name, value)
    session.add(station)
    audit(
        session,
        actor=by,
        action=action,
        at=utcnow(),
        station_id=station.id,
        reason=reason,
        detail=detail,
        before=before,
        after=audit_values(station, updates),
    )
    repo.bump_config_version(session)


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
    """Remote unlock, lockdown and its release, a mode: sent now, acted on at most once,
    audited; the station's answer arrives as a command event in the audit trail. Lockdown and
    the mode are also stored on the station and sent in its config, so they last (a restart,
    a later config) and the server's own decisions follow them."""
    station = station_or_404(session, station_id)
    if (request.mode is not None) != (request.kind is CommandKind.SET_MODE):
        raise ApiError(422, ErrorCode.MODE_ONLY_WITH_SET_MODE)
    standing: dict[str, Any] = {}
    if request.kind is CommandKind.SET_MODE:
        assert request.mode is not None
        try:
            standing = mode_update(request.mode, request.emergency)
        except InvalidError as exc:
            raise ApiError.of(422, exc) from None
    elif request.emergency is not None:
        raise ApiError(422, ErrorCode.EMERGENCY_ONLY_WITH_FREE_ENTRY)
    if request.kind in (CommandKind.LOCKDOWN, CommandKind.LOCKDOWN_RELEASE):
        standing = {"lockdown": request.kind is CommandKind.LOCKDOWN}
    offline = not station.online
    if request.kind is CommandKind.REMOTE_UNLOCK and offline and not request.confirm_offline:
        raise ApiError(
            status.HTTP_409_CONFLICT,
            ErrorCode.UNLOCK_STATION_OFFLINE,
            s=int(COMMAND_TTL.total_seconds()),
        )
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
    action = f"command_{request.kind.value}"
    detail = f"command {command.command_id}"
    if standing:
        _change_station(
            session,
            station,
            standing,
            action=action,
            by=staff.user.username,
            reason=request.reason,
            detail=detail,
        )
    else:  # a remote unlock: nothing standing changes; whether it could arrive at once does
        audit(
            session,
            actor=staff.user.username,
            action=action,
            at=now,
            station_id=station_id,
            reason=request.reason,
            detail=detail,
            after={"station_online": not offline},
        )
    session.commit()
    services.publisher.send_command(command)
    if standing:
        services.publisher.publish_config(station_id)
    return CommandPublic.model_validate(command.model_dump())
