"""Joining in the database: attempts counted per client address, requests made, approved and
refused, invite codes made and used. Each staff decision and each invite used is audited in
the transaction that makes it; a decision that lost a race to another (two staff approving at
once, the same invite used twice) changes nothing and says so."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select, update

from server.audit.repo import audit
from server.core.errors import ConflictError, ErrorCode, NotFoundError, ServerError
from server.core.localtime import as_utc
from server.join import rules
from server.join.models import InviteBatch, InviteCode, JoinAttempt, JoinRequest
from server.join.rules import JoinStatus
from server.riders.models import Platform, Rider, RiderCreate
from server.riders.repo import add_rider, hash_secret

_CODE_TRIES = 5  # a new short code collides with a stored one about once in 10^7
ATTEMPTS_KEPT = timedelta(days=1)  # the longest join_window_s allowed


class RateLimitedError(ServerError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(ErrorCode.JOIN_RATE_LIMITED, s=retry_after_s)
        self.retry_after_s = retry_after_s


_INVITE_CODES = {
    "unknown": ErrorCode.INVITE_UNKNOWN,
    "used": ErrorCode.INVITE_USED,
    "expired": ErrorCode.INVITE_EXPIRED,
}


class InviteError(ServerError):
    """An invite code that does not enrol: ``why`` is unknown, used or expired."""

    def __init__(self, why: str) -> None:
        super().__init__(_INVITE_CODES[why])
        self.why = why


@dataclass(frozen=True, slots=True)
class Limits:
    per_window: int
    window: timedelta


def count_attempt(session: Session, *, client: str, now: datetime, limits: Limits) -> None:
    """Count one try from ``client`` (committed before the request is handled, so tries at
    the same time see each other). Raises RateLimitedError, counting nothing, when the
    address has tried ``per_window`` times in the window."""
    since = now - limits.window
    session.exec(
        delete(JoinAttempt).where(col(JoinAttempt.client) == client, col(JoinAttempt.at) <= since)
    )
    row = JoinAttempt(client=client, at=now)
    session.add(row)
    session.commit()
    earlier = session.exec(
        select(JoinAttempt.at)
        .where(
            col(JoinAttempt.client) == client,
            col(JoinAttempt.at) > since,
            col(JoinAttempt.id) != row.id,
        )
        .order_by(col(JoinAttempt.at).desc())
        .offset(limits.per_window - 1)
        .limit(1)
    ).first()
    if earlier is not None:
        session.exec(delete(JoinAttempt).where(col(JoinAttempt.id) == row.id))
        session.commit()
        wait = (as_utc(earlier) + limits.window - now).total_seconds()
        raise RateLimitedError(max(1, math.ceil(wait)))


def prune_attempts(session: Session, *, now: datetime) -> int:
    """Tries older than the longest window the settings allow (a day) count for nothing."""
    result = session.exec(delete(JoinAttempt).where(col(JoinAttempt.at) <= now - ATTEMPTS_KEPT))
    session.commit()
    return int(result.rowcount)


def _new_request(
    session: Session,
    *,
    token: str,
    platform: Platform,
    display_name: str,
    phone_hash: str | None,
    now: datetime,
    ttl_s: int,
) -> JoinRequest:
    request = JoinRequest(
        code=rules.new_request_code(),
        token_hash=rules.token_hash(token),
        link_hash=hash_secret(rules.link_secret(token)),
        platform=platform,
        display_name=display_name,
        phone_hash=phone_hash,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(request)
    return request


def create_request(
    session: Session,
    *,
    platform: Platform,
    display_name: str,
    phone_hash: str | None,
    now: datetime,
    ttl_s: int,
) -> tuple[JoinRequest, str]:
    """A pending request and the token its page keeps (only its hash is stored)."""
    for _ in range(_CODE_TRIES):
        token = rules.new_token()
        request = _new_request(
            session,
            token=token,
            platform=platform,
            display_name=display_name,
            phone_hash=phone_hash,
            now=now,
            ttl_s=ttl_s,
        )
        try:
            session.commit()
        except IntegrityError:  # the short code was taken: draw another
            session.rollback()
            continue
        session.refresh(request)
        return request, token
    raise ConflictError(ErrorCode.NO_FREE_REQUEST_CODE)  # pragma: no cover - 19^6 codes


def request_by_token(session: Session, *, token: str) -> JoinRequest | None:
    if not 0 < len(token) <= 100:
        return None
    statement = select(JoinRequest).where(JoinRequest.token_hash == rules.token_hash(token))
    return session.exec(statement).first()


def state_of(session: Session, request: JoinRequest, *, token: str, now: datetime) -> JoinStatus:
    """The request's status as its page sees it; an approved one whose rider has a new link
    (staff renewed it) no longer opens the pass from here."""
    status = rules.status_at(request.status, expires_at=as_utc(request.expires_at), now=now)
    if status is JoinStatus.APPROVED:
        # A revoked rider still gets the link: the pass page itself says it is disabled.
        rider = session.get(Rider, request.rider_id) if request.rider_id else None
        if rider is None or rider.link_secret_hash != hash_secret(rules.link_secret(token)):
            return JoinStatus.LINK_CHANGED
    return status


def pending_requests(session: Session, *, now: datetime, limit: int = 100) -> list[JoinRequest]:
    """Requests staff can still decide, oldest first (the first to expire)."""
    statement = (
        select(JoinRequest)
        .where(JoinRequest.status == JoinStatus.PENDING.value, col(JoinRequest.expires_at) > now)
        .order_by(col(JoinRequest.expires_at), col(JoinRequest.id))
        .limit(limit)
    )
    return list(session.exec(statement))


def _claim(
    session: Session, request_id: int, status: JoinStatus, staff: str, now: datetime
) -> None:
    """Decide a pending request that has not expired, or raise: one decision wins a race."""
    if session.get(JoinRequest, request_id) is None:
        raise NotFoundError(ErrorCode.NO_JOIN_REQUEST, id=request_id)
    result = session.exec(
        update(JoinRequest)
        .where(
            col(JoinRequest.id) == request_id,
            col(JoinRequest.status) == JoinStatus.PENDING.value,
            col(JoinRequest.expires_at) > now,
        )
        .values(status=status.value, decided_at=now, decided_by=staff)
    )
    if result.rowcount != 1:
        session.rollback()
        raise ConflictError(ErrorCode.JOIN_REQUEST_DECIDED, id=request_id)


def approve(session: Session, *, request_id: int, staff: str, now: datetime) -> JoinRequest:
    """The rider is enrolled with the link their page will get; audited with the change."""
    _claim(session, request_id, JoinStatus.APPROVED, staff, now)
    request = session.get(JoinRequest, request_id)
    assert request is not None
    session.refresh(request)
    rider = add_rider(
        session,
        rider_in=RiderCreate(display_name=request.display_name, platform=request.platform),
        link_secret_hash=request.link_hash,
        phone_hash=request.phone_hash,
        now=now,
    )
    request.rider_id = rider.id
    session.add(request)
    audit(
        session,
        actor=staff,
        action="join_approved",
        at=now,
        rider_id=rider.id,
        detail=f"request {rules.show_code(request.code)} ({request.platform.value})",
        before={"status": "pending"},
        after={"status": "approved", "platform": request.platform.value},
    )
    session.commit()
    session.refresh(request)
    return request


def refuse(session: Session, *, request_id: int, staff: str, now: datetime) -> JoinRequest:
    _claim(session, request_id, JoinStatus.REFUSED, staff, now)
    request = session.get(JoinRequest, request_id)
    assert request is not None
    session.refresh(request)
    audit(
        session,
        actor=staff,
        action="join_refused",
        at=now,
        detail=f"request {rules.show_code(request.code)} ({request.platform.value})",
        before={"status": "pending"},
        after={"status": "refused", "platform": request.platform.value},
    )
    session.commit()
    return request


# -- invite codes -------------------------------------------------------------------------------


def create_invites(
    session: Session,
    *,
    platform: Platform,
    count: int,
    days: int,
    note: str,
    staff: str,
    now: datetime,
) -> InviteBatch:
    """A batch of ``count`` fresh codes, valid for ``days``; audited."""
    batch = InviteBatch(
        platform=platform,
        note=note,
        count=count,
        created_by=staff,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(batch)
    session.flush()
    assert batch.id is not None
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(rules.new_invite_code())
    taken = set(session.exec(select(InviteCode.code).where(col(InviteCode.code).in_(codes))))
    while taken & codes:  # vanishingly rare: replace the ones another batch already has
        codes -= taken
        while len(codes) < count:
            codes.add(rules.new_invite_code())
        taken = set(session.exec(select(InviteCode.code).where(col(InviteCode.code).in_(codes))))
    session.add_all(InviteCode(code=code, batch_id=batch.id) for code in sorted(codes))
    audit(
        session,
        actor=staff,
        action="invites_created",
        at=now,
        reason=note,
        detail=f"batch {batch.id}: {count} for {platform.value}, {days} days. {note}".strip(),
        after={"platform": platform.value, "count": count, "days": days},
    )
    session.commit()
    session.refresh(batch)
    return batch


def use_invite(
    session: Session,
    *,
    code: str,
    display_name: str,
    phone_hash: str | None,
    now: datetime,
) -> tuple[JoinRequest, str]:
    """Enrol at once with an invite code: the rider, an approved request (for the page's
    token) and the audit entry, in one transaction; the code is claimed by a conditional
    update, so it enrols one rider however many try it at the same moment."""
    invite = session.get(InviteCode, code)
    batch = session.get(InviteBatch, invite.batch_id) if invite is not None else None
    if invite is None or batch is None:
        raise InviteError("unknown")
    if invite.used_at is not None:
        raise InviteError("used")
    if as_utc(batch.expires_at) <= now:
        raise InviteError("expired")
    token = rules.new_token()
    request = _new_request(
        session,
        token=token,
        platform=batch.platform,
        display_name=display_name,
        phone_hash=phone_hash,
        now=now,
        ttl_s=0,
    )
    rider = add_rider(
        session,
        rider_in=RiderCreate(display_name=display_name, platform=batch.platform),
        link_secret_hash=request.link_hash,
        phone_hash=phone_hash,
        now=now,
    )
    claimed = session.exec(
        update(InviteCode)
        .where(col(InviteCode.code) == code, col(InviteCode.used_at).is_(None))
        .values(used_at=now, rider_id=rider.id)
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise InviteError("used")
    request.status = JoinStatus.APPROVED.value
    request.decided_at, request.decided_by = now, "invite"
    request.rider_id, request.invite_code = rider.id, code
    audit(
        session,
        actor=rider.id,
        action="invite_used",
        at=now,
        rider_id=rider.id,
        detail=f"invite {rules.show_code(code)} of batch {batch.id} ({batch.platform.value})",
    )
    session.commit()  # a short-code clash here is as rare as in create_request: a 500, retried
    session.refresh(request)
    return request, token


def list_batches(session: Session, *, limit: int = 20) -> list[tuple[InviteBatch, int]]:
    """The newest batches, each with how many of its codes were used."""
    used = (
        select(InviteCode.batch_id, func.count().label("used"))
        .where(col(InviteCode.used_at).is_not(None))
        .group_by(col(InviteCode.batch_id))
        .subquery()
    )
    statement = (
        select(InviteBatch, func.coalesce(used.c.used, 0))
        .join(used, col(InviteBatch.id) == used.c.batch_id, isouter=True)
        .order_by(col(InviteBatch.created_at).desc(), col(InviteBatch.id).desc())
        .limit(limit)
    )
    return [(batch, int(count)) for batch, count in session.exec(statement)]


def batch_codes(session: Session, *, batch_id: int) -> tuple[InviteBatch, list[InviteCode]]:
    batch = session.get(InviteBatch, batch_id)
    if batch is None:
        raise NotFoundError(ErrorCode.NO_INVITE_BATCH, id=batch_id)
    codes = session.exec(
        select(InviteCode).where(InviteCode.batch_id == batch_id).order_by(col(InviteCode.code))
    )
    return batch, list(codes)
