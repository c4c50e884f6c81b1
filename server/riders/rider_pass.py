"""The rider's own pass behind their secret link: the page (a large code, refreshed before it
expires, zh-CN or English), the code itself as JSON, token or PNG, and the device certificate
that lets the page make its own codes without signal (``server.riders.device_certs``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse

import i18n
from server.core.deps import ServicesDep, SessionDep
from server.finder.pages import finder_words
from server.riders import repo
from server.riders.device_certs import (
    TooManyDeviceCertsError,
    issue_device_cert,
    parse_device_key,
)
from server.riders.models import (
    DeviceCertPublic,
    DeviceCertRequest,
    Rider,
    RiderCode,
    TokenPublic,
)
from server.riders.tokens import issue_token, render_qr_png, render_qr_svg
from server.web.render import templates

router = APIRouter(tags=["rider pass"])

_NO_STORE = {"Cache-Control": "no-store"}
LinkSecret = Annotated[str, "the secret part of a rider link"]


class _LinkError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        self.status_code, self.detail = status_code, detail


def _rider_for_link(session: SessionDep, secret: str) -> Rider:
    rider = repo.get_rider_by_link(session, secret=secret)
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
    services: ServicesDep,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
    accept_language: Annotated[str, Header()] = "",
) -> HTMLResponse:
    language = lang or ("en" if accept_language.lower().startswith("en") else "zh")
    try:
        _rider_for_link(session, secret)
        problem = None
    except _LinkError as exc:
        problem = exc.status_code
    return _render_rider_page(
        request,
        secret=secret,
        language=language,
        problem=problem,
        hotline=services.settings.hotline,
    )


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


@router.post("/r/{secret}/device-cert", response_model=DeviceCertPublic)
def rider_device_cert(
    secret: LinkSecret,
    body: DeviceCertRequest,
    session: SessionDep,
    services: ServicesDep,
    response: Response,
) -> DeviceCertPublic:
    """Certify this phone's own key (P-256, made and kept by the page) for a few hours, so that
    it can show a code at a door without signal: only for an active rider, a few an hour."""
    try:
        rider = _rider_for_link(session, secret)
    except _LinkError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    try:
        device_key = parse_device_key(body.public_key)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    now = services.clock()
    settings = services.settings
    try:
        issued = issue_device_cert(
            session,
            rider=rider,
            device_key=device_key,
            signer=services.keys.ring.signer(datetime.fromtimestamp(now, UTC)),
            audience=settings.audience,
            lifetime_s=settings.device_cert_lifetime_s,
            presentation_lifetime_s=settings.token_lifetime_s,
            per_hour=settings.device_certs_per_hour,
            now=now,
        )
    except TooManyDeviceCertsError as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(exc),
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None
    response.headers.update(_NO_STORE)
    cert = issued.cert
    return DeviceCertPublic(
        certificate=base64.urlsafe_b64encode(issued.signed).decode("ascii").rstrip("="),
        kid=cert.kid,
        not_before=datetime.fromtimestamp(cert.not_before, UTC),
        not_after=datetime.fromtimestamp(cert.not_after, UTC),
        presentation_lifetime_s=cert.presentation_lifetime_s,
        server_time=datetime.fromtimestamp(now, UTC),
    )


def _render_rider_page(
    request: Request, *, secret: str, language: str, problem: int | None, hotline: str = ""
) -> HTMLResponse:
    texts = i18n.family("rider", language)
    if hotline:  # a number to call instead of staff the rider may never meet
        for key in ("disabled", "invalid"):
            texts[key] = texts[f"{key}_call"].replace("{hotline}", hotline)
    message = None
    if problem == 410:
        message = texts["disabled"]
    elif problem is not None:
        message = texts["invalid"]
    return templates.TemplateResponse(
        request,
        "rider.html",
        {
            "language": language,
            "other_language": "en" if language == "zh" else "zh",
            "texts": texts,
            "code_url": f"/r/{secret}/code",
            "cert_url": f"/r/{secret}/device-cert",
            "message": message,
            "finder_words": finder_words(language),
        },
        status_code=problem or 200,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
