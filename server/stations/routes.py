"""Stations, for staff: provision, list, read, change the standing rules, send a remote
command. Every change records who, when and why."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from protocol.payloads import CommandKind, StationCommand
from server.audit.repo import audit
from server.core.api_errors import ApiError
from server.core.deps import Limit, Offset, ServicesDep, SessionDep
from server.core.errors import AlreadyExistsError, ErrorCode, InvalidError, NotFoundError
from server.core.localtime import utcnow
from server.reports.listing import StationQueryDep, station_page
from server.staff.deps import AS_VIEWER, AdminDep, OperatorDep
from server.stations import photos, provisioning, repo
from server.stations.deps import station_or_404
from server.stations.models import (
    CommandCreate,
    CommandPublic,
    ReprovisionRequest,
    Station,
    StationCreate,
    StationDetails,
    StationDetailsUpdate,
    StationPage,
    StationPhoto,
    StationProvisioned,
    StationPublic,
    StationRulesUpdate,
)
from server.stations.opening import closed_now
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
    station.closed_by_hours = closed_now(station, utcnow())  # hours or free entry may change
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


# -- what riders read about a station (the finder, server/finder) ----------------------------
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


@router.get("/stations/{station_id}/details", response_model=StationDetails, dependencies=AS_VIEWER)
def read_details(station_id: str, session: SessionDep) -> StationDetails:
    return repo.station_details(session, station_or_404(session, station_id))


@router.patch("/stations/{station_id}/details", response_model=StationDetails)
def update_details(
    station_id: str, change: StationDetailsUpdate, session: SessionDep, staff: OperatorDep
) -> StationDetails:
    """Address and amenities as riders read them on the finder; audited."""
    station = station_or_404(session, station_id)
    before = {"address": station.address, "amenities": list(station.amenities or [])}
    if change.amenities is not None and len(set(change.amenities)) != len(change.amenities):
        raise HTTPException(422, "amenities: each at most once")
    if change.address is not None:
        address = " ".join(change.address.split())  # one line, as the finder shows it
        if not address.isprintable():
            raise HTTPException(422, "address: no control characters")
        if address and len(address) < 4:
            raise HTTPException(422, "address: at least 4 characters, or empty to remove it")
        station.address = address or None
    if change.amenities is not None:
        station.amenities = [a.value for a in change.amenities]
    audit(
        session,
        actor=staff.user.username,
        action="station_details_changed",
        at=utcnow(),
        station_id=station_id,
        reason=change.reason,
        before=before,
        after={"address": station.address, "amenities": list(station.amenities or [])},
    )
    session.add(station)
    session.commit()
    return repo.station_details(session, station)


async def photo_upload(request: Request) -> bytes:
    """The request's body, refused before it is read past the limit (413), or when it does not
    say it is a JPEG, PNG or WebP (415)."""
    limit = request.app.state.services.settings.photo_max_bytes
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in PHOTO_TYPES:
        raise HTTPException(415, "send the photo as image/jpeg, image/png or image/webp")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the photo is larger than {limit // 1024} KiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the photo is larger than {limit // 1024} KiB")
    return bytes(body)


@router.put("/stations/{station_id}/photo", response_model=StationDetails)
def upload_photo(
    station_id: str,
    session: SessionDep,
    staff: OperatorDep,
    raw: Annotated[bytes, Depends(photo_upload)],
    reason: Annotated[str, Query(min_length=1, max_length=200)],
) -> StationDetails:
    """The station's photo (the body: a JPEG, PNG or WebP), re-encoded before it is kept."""
    station = station_or_404(session, station_id)
    try:
        photo = photos.reencode(raw)
    except photos.PhotoError as exc:
        raise HTTPException(422, str(exc)) from None
    now = utcnow()
    old = session.get(StationPhoto, station_id)
    before = {"photo": f"{old.width}x{old.height}" if old is not None else None}
    photos.store(session, station_id=station_id, photo=photo, now=now)
    audit(
        session,
        actor=staff.user.username,
        action="station_photo_changed",
        at=now,
        station_id=station_id,
        reason=reason,
        detail=f"{photo.width}x{photo.height}, {len(photo.data) // 1024} KiB",
        before=before,
        after={"photo": f"{photo.width}x{photo.height}"},
    )
    session.commit()
    return repo.station_details(session, station)


@router.delete("/stations/{station_id}/photo", response_model=StationDetails)
def delete_photo(
    station_id: str,
    session: SessionDep,
    staff: OperatorDep,
    reason: Annotated[str, Query(min_length=1, max_length=200)],
) -> StationDetails:
    station = station_or_404(session, station_id)
    photo = session.get(StationPhoto, station_id)
    if photo is None:
        raise HTTPException(404, f"station {station_id!r} has no photo")
    session.delete(photo)
    audit(
        session,
        actor=staff.user.username,
        action="station_photo_removed",
        at=utcnow(),
        station_id=station_id,
        reason=reason,
        before={"photo": f"{photo.width}x{photo.height}"},
        after={"photo": None},
    )
    session.commit()
    return repo.station_details(session, station)
