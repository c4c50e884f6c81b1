"""FastAPI dependencies: the database session and the long-lived parts kept on app.state."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import Engine
from sqlmodel import Session

from server import auth
from server.config import ServerSettings
from server.keyholder import KeyHolder
from server.models import Role, utcnow
from server.mqtt.consumer import Clock, MqttConsumer


@dataclass(frozen=True, slots=True)
class Services:
    settings: ServerSettings
    engine: Engine
    keys: KeyHolder
    consumer: MqttConsumer
    clock: Clock


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

SESSION_COOKIE = "ws_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotLoggedInError(Exception):
    """No valid session: APIs answer 401, pages send the browser to the login page."""


def _credentials(request: Request) -> tuple[str, bool]:
    """The session token and whether it came from the cookie (then CSRF applies)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    return request.cookies.get(SESSION_COOKIE, ""), True


async def current_staff(request: Request, session: SessionDep) -> auth.Authenticated:
    token, from_cookie = _credentials(request)
    found = auth.authenticate(session, token=token, now=utcnow())
    if found is None:
        raise NotLoggedInError
    if from_cookie and request.method not in _SAFE_METHODS:
        # Double submit: a form field or header must repeat the session's CSRF token, which a
        # page of another site cannot read.
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = str((await request.form()).get("csrf_token", ""))
        if not hmac.compare_digest(sent, found.csrf_token):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return found


StaffDep = Annotated[auth.Authenticated, Depends(current_staff)]


def require(role: Role) -> Callable[[auth.Authenticated], Coroutine[Any, Any, auth.Authenticated]]:
    async def check(staff: StaffDep) -> auth.Authenticated:
        if staff.user.role.rank < role.rank:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role.value} role")
        return staff

    return check


ViewerDep = Annotated[auth.Authenticated, Depends(require(Role.VIEWER))]
OperatorDep = Annotated[auth.Authenticated, Depends(require(Role.OPERATOR))]
AdminDep = Annotated[auth.Authenticated, Depends(require(Role.ADMIN))]

# For route decorators: ``dependencies=AS_OPERATOR``.
AS_VIEWER = [Depends(require(Role.VIEWER))]
AS_OPERATOR = [Depends(require(Role.OPERATOR))]
AS_ADMIN = [Depends(require(Role.ADMIN))]
