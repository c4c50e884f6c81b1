"""Riders: enrolment and revocation by staff; the rider's own secret link (page, code, QR)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from server import crud
from server.api.deps import AS_OPERATOR, AS_VIEWER, ServicesDep, SessionDep
from server.credentials import issue_token, render_qr_png, render_qr_svg
from server.models import (
    Rider,
    RiderCode,
    RiderCreate,
    RiderEnrolled,
    RiderLink,
    RiderPublic,
    TokenPublic,
    utcnow,
)
from server.web.rider_page import render_rider_page

router = APIRouter(tags=["riders"])

_NO_STORE = {"Cache-Control": "no-store"}
LinkSecret = Annotated[str, "the secret part of a rider link"]


@router.post(
    "/api/riders",
    status_code=status.HTTP_201_CREATED,
    response_model=RiderEnrolled,
    dependencies=AS_OPERATOR,
)
def enrol_rider(rider_in: RiderCreate, session: SessionDep) -> RiderEnrolled:
    rider, secret = crud.create_rider(session, rider_in=rider_in, now=utcnow())
    return RiderEnrolled.model_validate(rider, update={"link": f"/r/{secret}"})


@router.get(
    "/api/riders/{rider_id}",
    response_model=RiderPublic,
    dependencies=AS_VIEWER,
)
def read_rider(rider_id: str, session: SessionDep) -> RiderPublic:
    rider = crud.get_rider(session, rider_id=rider_id)
    if rider is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rider {rider_id!r}")
    return RiderPublic.model_validate(rider)


@router.post(
    "/api/riders/{rider_id}/revoke",
    response_model=RiderPublic,
    dependencies=AS_OPERATOR,
)
def revoke_rider(rider_id: str, session: SessionDep, services: ServicesDep) -> RiderPublic:
    """Disable a rider everywhere: stations learn it through their config within seconds."""
    try:
        rider = crud.revoke_rider(session, rider_id=rider_id, now=utcnow())
    except crud.NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except crud.ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    services.consumer.publish_all_configs()
    return RiderPublic.model_validate(rider)


@router.post(
    "/api/riders/{rider_id}/link",
    response_model=RiderLink,
    dependencies=AS_OPERATOR,
)
def renew_link(rider_id: str, session: SessionDep) -> RiderLink:
    """A new personal link (a phone lost, say); the old one stops working at once."""
    try:
        secret = crud.renew_rider_link(session, rider_id=rider_id)
    except crud.NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return RiderLink(link=f"/r/{secret}")


# -- the rider's own link ------------------------------------------------------------------
class _LinkError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        self.status_code, self.detail = status_code, detail


def _rider_for_link(session: SessionDep, secret: str) -> Rider:
    rider = crud.get_rider_by_link(session, secret=secret)
    if rider is None:
        raise _LinkError(status.HTTP_404_NOT_FOUND, "this rider link is not valid")
    if rider.revoked_at is not None:
        raise _LinkError(status.HTTP_410_GONE, "this rider pass has been disabled")
    return rider


def _issue(session: SessionDep, services: ServicesDep, secret: str) -> tuple[str, datetime]:
    try:
        rider = _rider_for_link(session, secret)
    except _LinkError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    now = services.clock()
    return issue_token(
        rider=rider,
        signer=services.keys.ring.signer(datetime.fromtimestamp(now, UTC)),
        audience=services.settings.audience,
        lifetime_s=services.settings.token_lifetime_s,
        now=now,
    )


@router.get("/r/{secret}", response_class=HTMLResponse, include_in_schema=False)
def rider_page(
    request: Request,
    secret: LinkSecret,
    session: SessionDep,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
    accept_language: Annotated[str, Header()] = "",
) -> HTMLResponse:
    language = lang or ("en" if accept_language.lower().startswith("en") else "zh")
    try:
        _rider_for_link(session, secret)
        problem = None
    except _LinkError as exc:
        problem = exc.status_code
    return render_rider_page(request, secret=secret, language=language, problem=problem)


@router.get("/r/{secret}/code", response_model=RiderCode)
def rider_code(
    secret: LinkSecret, session: SessionDep, services: ServicesDep, response: Response
) -> RiderCode:
    token, expires_at = _issue(session, services, secret)
    response.headers.update(_NO_STORE)
    return RiderCode(
        token=token,
        expires_at=expires_at,
        server_time=datetime.fromtimestamp(services.clock(), UTC),
        lifetime_s=services.settings.token_lifetime_s,
        qr_svg=render_qr_svg(token),
    )


@router.get("/r/{secret}/token", response_model=TokenPublic)
def rider_token(
    secret: LinkSecret, session: SessionDep, services: ServicesDep, response: Response
) -> TokenPublic:
    token, expires_at = _issue(session, services, secret)
    response.headers.update(_NO_STORE)
    return TokenPublic(token=token, expires_at=expires_at)


@router.get("/r/{secret}/qr.png", response_class=Response)
def rider_qr(secret: LinkSecret, session: SessionDep, services: ServicesDep) -> Response:
    token, _ = _issue(session, services, secret)
    return Response(render_qr_png(token), media_type="image/png", headers=_NO_STORE)
