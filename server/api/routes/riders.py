"""Riders: enrolment by staff, and the rider's own secret link (token and QR image)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from server import crud
from server.api.deps import ServicesDep, SessionDep
from server.credentials import issue_token, render_qr_png
from server.models import Rider, RiderCreate, RiderEnrolled, RiderPublic, TokenPublic, utcnow

router = APIRouter(tags=["riders"])

_NO_STORE = {"Cache-Control": "no-store"}


@router.post("/api/riders", status_code=status.HTTP_201_CREATED, response_model=RiderEnrolled)
def enrol_rider(rider_in: RiderCreate, session: SessionDep) -> RiderEnrolled:
    rider, secret = crud.create_rider(session, rider_in=rider_in, now=utcnow())
    return RiderEnrolled.model_validate(rider, update={"link": f"/r/{secret}"})


@router.get("/api/riders/{rider_id}", response_model=RiderPublic)
def read_rider(rider_id: str, session: SessionDep) -> RiderPublic:
    rider = crud.get_rider(session, rider_id=rider_id)
    if rider is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rider {rider_id!r}")
    return RiderPublic.model_validate(rider)


def _rider_for_link(session: SessionDep, secret: str) -> Rider:
    rider = crud.get_rider_by_link(session, secret=secret)
    if rider is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this rider link is not valid")
    if rider.revoked_at is not None:
        raise HTTPException(status.HTTP_410_GONE, "this rider pass has been disabled")
    return rider


@router.get("/r/{secret}/token", response_model=TokenPublic)
def rider_token(
    secret: str, session: SessionDep, services: ServicesDep, response: Response
) -> TokenPublic:
    rider = _rider_for_link(session, secret)
    token, expires_at = issue_token(
        rider=rider,
        key=services.key,
        audience=services.settings.audience,
        lifetime_s=services.settings.token_lifetime_s,
        now=services.clock(),
    )
    response.headers.update(_NO_STORE)
    return TokenPublic(token=token, expires_at=expires_at)


@router.get("/r/{secret}/qr.png", response_class=Response)
def rider_qr(secret: str, session: SessionDep, services: ServicesDep) -> Response:
    token = rider_token(secret, session, services, Response()).token
    return Response(render_qr_png(token), media_type="image/png", headers=_NO_STORE)
