"""Logging in and out, and staff accounts (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from server.core.api_errors import ApiError
from server.core.deps import ServicesDep, SessionDep
from server.core.errors import AlreadyExistsError, ErrorCode
from server.core.localtime import utcnow
from server.staff import repo, throttle
from server.staff.deps import AS_ADMIN, SESSION_COOKIE, AdminDep, StaffDep, session_token
from server.staff.models import LoginRequest, LoginResult, StaffCreate, StaffPublic
from server.staff.passwords import WeakPasswordError

router = APIRouter(prefix="/api", tags=["staff"])


def _secure(request: Request, services: ServicesDep) -> bool:
    # The setting covers HTTPS ended at a proxy, where this hop is plain HTTP.
    return services.settings.served_over_https or request.url.scheme == "https"


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(repo.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure,
    )


@router.post("/auth/login", response_model=LoginResult)
def login(
    credentials: LoginRequest,
    session: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
) -> LoginResult:
    # The connection's address; a proxy's X-Forwarded-For only when WS_SERVER_TRUSTED_PROXIES
    # names it (uvicorn rewrites request.client then).
    address = throttle.client_address(request.client.host if request.client else None)
    try:
        new = repo.login(
            session,
            username=credentials.username,
            password=credentials.password,
            address=address,
            now=utcnow(),
        )
    except repo.LoginRefusedError as exc:
        if exc.retry_after_s is not None:
            raise ApiError(
                status.HTTP_429_TOO_MANY_REQUESTS,
                ErrorCode.TOO_MANY_LOGINS,
                headers={"Retry-After": str(exc.retry_after_s)},
                s=exc.retry_after_s,
            ) from None
        raise ApiError(status.HTTP_401_UNAUTHORIZED, ErrorCode.WRONG_LOGIN) from None
    set_session_cookie(response, new.token, secure=_secure(request, services))
    response.headers["Cache-Control"] = "no-store"  # the answer carries the bearer token
    return LoginResult(
        username=new.user.username, role=new.user.role, token=new.token, csrf_token=new.csrf_token
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    staff: StaffDep,
    response: Response,
) -> None:
    # The same token the request was authenticated with: a bearer header, else the cookie
    # (any other Authorization scheme is not ours and is not sliced into a token).
    token, _ = session_token(request)
    repo.logout(session, token=token)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure(request, services)
    )


@router.get("/auth/me", response_model=StaffPublic)
def me(staff: StaffDep) -> StaffPublic:
    return StaffPublic.model_validate(staff.user)


@router.get("/staff", response_model=list[StaffPublic], dependencies=AS_ADMIN)
def list_staff(session: SessionDep) -> list[StaffPublic]:
    return [StaffPublic.model_validate(u) for u in repo.list_users(session)]


@router.post("/staff", status_code=status.HTTP_201_CREATED, response_model=StaffPublic)
def create_staff(account: StaffCreate, session: SessionDep, staff: AdminDep) -> StaffPublic:
    try:
        user = repo.create_user(
            session,
            username=account.username,
            password=account.password,
            role=account.role,
            now=utcnow(),
            by=staff.user.username,
        )
    except WeakPasswordError:
        raise ApiError(422, ErrorCode.WEAK_PASSWORD) from None
    except AlreadyExistsError as exc:
        raise ApiError.of(409, exc) from None
    return StaffPublic.model_validate(user)
