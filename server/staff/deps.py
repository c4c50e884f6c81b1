"""Who is asking: the staff session behind a request (cookie or bearer token), CSRF for
cookie-authenticated changes, and the role a route needs."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from server.core.api_errors import ApiError
from server.core.deps import SessionDep
from server.core.errors import ErrorCode
from server.core.localtime import utcnow
from server.staff import repo
from server.staff.models import Role

SESSION_COOKIE = "ws_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared so that OpenAPI names both ways in (generated clients then know the bearer
# token); auto_error=False: they never answer by themselves, session_token() decides.
BEARER_SCHEME = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="a token from POST /api/auth/login"
)
COOKIE_SCHEME = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session_cookie",
    description="the staff pages' session; changes also need the X-CSRF-Token header",
)


class NotLoggedInError(Exception):
    """No valid session: APIs answer 401, pages send the browser to the login page."""


def session_token(request: Request) -> tuple[str, bool]:
    """The session token and whether it came from the cookie (then CSRF applies): a bearer
    header wins over the cookie."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    return request.cookies.get(SESSION_COOKIE, ""), True


def staff_session(request: Request, session: Session) -> repo.Authenticated:
    """The session behind the request (for a route that checks it itself, as a stream does)."""
    token, _ = session_token(request)
    found = repo.authenticate(session, token=token, now=utcnow())
    if found is None:
        raise NotLoggedInError
    return found


def authenticated(
    request: Request,
    session: SessionDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER_SCHEME)],
    _cookie: Annotated[str | None, Depends(COOKIE_SCHEME)],
) -> repo.Authenticated:
    """The session behind the request. A plain ``def``: FastAPI runs it in its threadpool, so
    the database lookup never blocks the event loop. ``_bearer`` and ``_cookie`` only put the
    security schemes in the OpenAPI document."""
    return staff_session(request, session)


# For a route that checks the login itself: names the schemes in OpenAPI, checks nothing.
DECLARES_LOGIN = [Depends(BEARER_SCHEME), Depends(COOKIE_SCHEME)]


async def current_staff(
    request: Request, found: Annotated[repo.Authenticated, Depends(authenticated)]
) -> repo.Authenticated:
    """The logged-in staff member, with CSRF checked for cookie-authenticated changes. Async
    only to read a form body; it touches no database."""
    _, from_cookie = session_token(request)
    if from_cookie and request.method not in _SAFE_METHODS:
        # Double submit: a form field or header must repeat the session's CSRF token, which a
        # page of another site cannot read.
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = str((await request.form()).get("csrf_token", ""))
        if not hmac.compare_digest(sent, found.csrf_token):
            raise ApiError(status.HTTP_403_FORBIDDEN, ErrorCode.CSRF_FAILED)
    return found


StaffDep = Annotated[repo.Authenticated, Depends(current_staff)]


def require(role: Role) -> Callable[[repo.Authenticated], repo.Authenticated]:
    def check(staff: StaffDep) -> repo.Authenticated:
        if staff.user.role.rank < role.rank:
            raise ApiError(status.HTTP_403_FORBIDDEN, ErrorCode.ROLE_REQUIRED, role=role.value)
        return staff

    return check


ViewerDep = Annotated[repo.Authenticated, Depends(require(Role.VIEWER))]
OperatorDep = Annotated[repo.Authenticated, Depends(require(Role.OPERATOR))]
AdminDep = Annotated[repo.Authenticated, Depends(require(Role.ADMIN))]

# Pages: the same checks (a page without a session redirects to the login page).
PageStaff = Annotated[repo.Authenticated, Depends(current_staff)]
PageOperator = Annotated[repo.Authenticated, Depends(require(Role.OPERATOR))]

# For route decorators: ``dependencies=AS_OPERATOR``.
AS_VIEWER = [Depends(require(Role.VIEWER))]
AS_OPERATOR = [Depends(require(Role.OPERATOR))]
AS_ADMIN = [Depends(require(Role.ADMIN))]
