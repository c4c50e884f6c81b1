"""Joining without a desk, as JSON: the rider's page asks to join and polls its request (no
login: the request's token is the key); staff list, approve and refuse requests and make
invite codes.

A public answer that refuses carries ``{"detail": {"code": ..., "message": ...}}``: the page
words the code (``join.error_<code>``), the message is for everyone else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from fastapi import APIRouter, HTTPException, Request, status

from server.core.api_errors import ApiError
from server.core.deps import Limit, ServicesDep, SessionDep
from server.core.errors import ConflictError, NotFoundError
from server.core.localtime import as_utc, utcnow
from server.core.settings import ServerSettings
from server.join import repo, rules
from server.join.models import (
    InviteAsk,
    InviteBatch,
    InviteBatchCreated,
    InviteBatchPublic,
    InviteCodePublic,
    JoinAsk,
    JoinCreated,
    JoinRequest,
    JoinRequestPublic,
    JoinState,
    JoinToken,
)
from server.join.rules import JoinStatus
from server.riders.models import CHOSEN_PLATFORMS, Platform
from server.staff.deps import AS_VIEWER, OperatorDep
from server.staff.throttle import client_address

router = APIRouter(tags=["join"])

NO_STORE = {"Cache-Control": "no-store"}


def _refuse(status_code: int, code: str, message: str, **headers: str) -> NoReturn:
    raise HTTPException(status_code, {"code": code, "message": message}, headers=headers or None)


def _checked(ask: JoinAsk, settings: ServerSettings) -> tuple[Platform, str, str | None]:
    """Platform, name and phone hash, or a refusal naming the first thing wrong."""
    try:
        platform = Platform(ask.platform)
    except ValueError:
        platform = None
    if platform not in CHOSEN_PLATFORMS:
        _refuse(
            422, "bad_platform", f"platform must be one of {[p.value for p in CHOSEN_PLATFORMS]}"
        )
    assert platform is not None
    name = " ".join(ask.display_name.split())
    if len(name) > rules.MAX_NAME_CHARS:
        _refuse(422, "name_too_long", f"a name has at most {rules.MAX_NAME_CHARS} characters")
    phone_hash = None
    if settings.join_asks_phone:
        number = rules.mainland_mobile(ask.phone)
        if number is None or settings.phone_hash_key is None:
            _refuse(422, "bad_phone", "an 11-digit mainland mobile number is required")
        key = settings.phone_hash_key.get_secret_value().encode()
        phone_hash = rules.phone_hash(number, key=key)
    return platform, name, phone_hash


def _link(token: str) -> str:
    return f"/r/{rules.link_secret(token)}"


def _state(status_: JoinStatus, request: JoinRequest, token: str) -> JoinState:
    return JoinState(
        status=status_,
        code=rules.show_code(request.code),
        expires_at=as_utc(request.expires_at),
        link=_link(token) if status_ is JoinStatus.APPROVED else None,
    )


@router.post("/api/join", status_code=201, response_model=JoinCreated)
def ask_to_join(
    ask: JoinAsk, request: Request, session: SessionDep, services: ServicesDep
) -> JoinCreated:
    """A pending request for staff to decide, or, with an invite code, a rider at once. Each
    try counts against the client address's limit (wrong invite codes too); a request that
    does not validate counts for nothing and changes nothing."""
    settings = services.settings
    platform, name, phone_hash = _checked(ask, settings)
    now = utcnow()
    try:
        repo.count_attempt(
            session,
            client=client_address(request.client.host if request.client else None),
            now=now,
            limits=repo.Limits(
                settings.join_requests_per_window, timedelta(seconds=settings.join_window_s)
            ),
        )
    except repo.RateLimitedError as exc:
        _refuse(429, "rate_limited", str(exc), **{"Retry-After": str(exc.retry_after_s)})
    if ask.invite.strip():
        try:
            joined, token = repo.use_invite(
                session,
                code=rules.typed_code(ask.invite),
                display_name=name,
                phone_hash=phone_hash,
                now=now,
            )
        except repo.InviteError as exc:
            _refuse(409 if exc.why != "unknown" else 404, f"invite_{exc.why}", str(exc))
    else:
        joined, token = repo.create_request(
            session,
            platform=platform,
            display_name=name,
            phone_hash=phone_hash,
            now=now,
            ttl_s=settings.join_request_ttl_s,
        )
    state = _state(JoinStatus(joined.status), joined, token)
    return JoinCreated(**state.model_dump(), token=token)


@router.post("/api/join/status", response_model=JoinState)
def join_status(body: JoinToken, session: SessionDep) -> JoinState:
    """What the rider's page polls with its token (in the body, so it is in no log)."""
    joined = repo.request_by_token(session, token=body.token)
    if joined is None:
        _refuse(404, "unknown_request", "no request to join with this token")
    return _state(
        repo.state_of(session, joined, token=body.token, now=utcnow()), joined, body.token
    )


def public_request(request: JoinRequest, now: datetime) -> JoinRequestPublic:
    status_ = rules.status_at(request.status, expires_at=as_utc(request.expires_at), now=now)
    return JoinRequestPublic.model_validate(
        request, update={"code": rules.show_code(request.code), "status": status_}
    )


@router.get("/api/join/requests", response_model=list[JoinRequestPublic], dependencies=AS_VIEWER)
def list_pending(session: SessionDep) -> list[JoinRequestPublic]:
    now = utcnow()
    return [public_request(r, now) for r in repo.pending_requests(session, now=now)]


def decide(session: SessionDep, staff: str, request_id: int, *, approve: bool) -> JoinRequest:
    """Approve or refuse, as HTTP: 404 unknown, 409 expired or already decided."""
    try:
        if approve:
            return repo.approve(session, request_id=request_id, staff=staff, now=utcnow())
        return repo.refuse(session, request_id=request_id, staff=staff, now=utcnow())
    except NotFoundError as exc:
        raise ApiError.of(status.HTTP_404_NOT_FOUND, exc) from None
    except ConflictError as exc:
        raise ApiError.of(status.HTTP_409_CONFLICT, exc) from None


@router.post("/api/join/requests/{request_id}/approve", response_model=JoinRequestPublic)
def approve_request(request_id: int, session: SessionDep, staff: OperatorDep) -> JoinRequestPublic:
    """Enrol the rider: their page, still open, turns into their pass at its next poll."""
    decided = decide(session, staff.user.username, request_id, approve=True)
    return public_request(decided, utcnow())


@router.post("/api/join/requests/{request_id}/refuse", response_model=JoinRequestPublic)
def refuse_request(request_id: int, session: SessionDep, staff: OperatorDep) -> JoinRequestPublic:
    decided = decide(session, staff.user.username, request_id, approve=False)
    return public_request(decided, utcnow())


def batch_public(batch: InviteBatch, used: int) -> InviteBatchPublic:
    return InviteBatchPublic.model_validate(batch, update={"used": used})


@router.post("/api/join/invites", status_code=201, response_model=InviteBatchCreated)
def make_invites(ask: InviteAsk, session: SessionDep, staff: OperatorDep) -> InviteBatchCreated:
    """``count`` invite codes for one platform, each enrolling one rider at once until the
    batch expires."""
    batch = repo.create_invites(
        session,
        platform=ask.platform,
        count=ask.count,
        days=ask.days,
        note=ask.note.strip(),
        staff=staff.user.username,
        now=utcnow(),
    )
    assert batch.id is not None
    _, codes = repo.batch_codes(session, batch_id=batch.id)
    return InviteBatchCreated.model_validate(
        batch,
        update={
            "used": 0,
            "codes": [
                InviteCodePublic(code=rules.show_code(c.code), used_at=None, rider_id=None)
                for c in codes
            ],
        },
    )


@router.get("/api/join/invites", response_model=list[InviteBatchPublic], dependencies=AS_VIEWER)
def list_invites(session: SessionDep, limit: Limit = 20) -> list[InviteBatchPublic]:
    """The newest batches, with how many of their codes were used."""
    return [batch_public(b, used) for b, used in repo.list_batches(session, limit=limit)]
