"""Riders, for staff: enrol, read, search, revoke, renew the personal link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from protocol.trust import bucket_of
from server.core.api_errors import ApiError
from server.core.deps import Limit, Offset, ServicesDep, SessionDep
from server.core.errors import ConflictError, ErrorCode, NotFoundError
from server.core.localtime import utcnow
from server.riders import repo
from server.riders.models import (
    RiderChange,
    RiderCreate,
    RiderEnrolled,
    RiderLink,
    RiderPage,
    RiderPublic,
)
from server.staff.deps import AS_VIEWER, OperatorDep

router = APIRouter(tags=["riders"])


@router.post("/api/riders", status_code=status.HTTP_201_CREATED, response_model=RiderEnrolled)
def enrol_rider(rider_in: RiderCreate, session: SessionDep, staff: OperatorDep) -> RiderEnrolled:
    rider, secret = repo.create_rider(
        session, rider_in=rider_in, now=utcnow(), by=staff.user.username
    )
    return RiderEnrolled.model_validate(rider, update={"link": f"/r/{secret}"})


@router.get(
    "/api/riders/{rider_id}",
    response_model=RiderPublic,
    dependencies=AS_VIEWER,
)
def read_rider(rider_id: str, session: SessionDep) -> RiderPublic:
    rider = repo.get_rider(session, rider_id=rider_id)
    if rider is None:
        raise ApiError(status.HTTP_404_NOT_FOUND, ErrorCode.NO_RIDER, id=rider_id)
    return RiderPublic.model_validate(rider)


@router.post("/api/riders/{rider_id}/revoke", response_model=RiderPublic)
def revoke_rider(
    rider_id: str,
    session: SessionDep,
    services: ServicesDep,
    staff: OperatorDep,
    change: RiderChange | None = None,
) -> RiderPublic:
    """Disable a rider everywhere: after the commit, one denylist page (the rider's bucket) is
    published for every station at once; nothing here depends on the number of stations.
    A reason (optional body ``{"reason": ...}``) goes into the audit trail."""
    try:
        rider = repo.revoke_rider(
            session,
            rider_id=rider_id,
            now=utcnow(),
            by=staff.user.username,
            reason=change.reason if change else "",
        )
    except NotFoundError as exc:
        raise ApiError.of(status.HTTP_404_NOT_FOUND, exc) from None
    except ConflictError as exc:
        raise ApiError.of(status.HTTP_409_CONFLICT, exc) from None
    services.publisher.publish_denylist(bucket_of(rider.id))
    return RiderPublic.model_validate(rider)


@router.post("/api/riders/{rider_id}/link", response_model=RiderLink)
def renew_link(
    rider_id: str,
    session: SessionDep,
    services: ServicesDep,
    staff: OperatorDep,
    change: RiderChange | None = None,
) -> RiderLink:
    """A new personal link (a phone lost, say); the old one stops working at once, and the
    codes and device certificates it gave out are refused (the rider's denylist page)."""
    try:
        secret = repo.renew_rider_link(
            session,
            rider_id=rider_id,
            now=utcnow(),
            by=staff.user.username,
            reason=change.reason if change else "",
        )
    except NotFoundError as exc:
        raise ApiError.of(status.HTTP_404_NOT_FOUND, exc) from None
    services.publisher.publish_denylist(bucket_of(rider_id))
    return RiderLink(link=f"/r/{secret}")


@router.get("/api/riders", response_model=RiderPage, dependencies=AS_VIEWER)
def search_riders(
    session: SessionDep,
    q: Annotated[str, Query(max_length=80, description="part of a rider id or name")] = "",
    limit: Limit = 50,
    offset: Offset = 0,
) -> RiderPage:
    rows, total = repo.search_riders(session, q=q.strip(), limit=limit, offset=offset)
    return RiderPage(
        items=[RiderPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )
