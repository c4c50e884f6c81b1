"""Staff accounts in the database: creation, login with throttling, sessions, the first admin."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from server.audit.repo import audit
from server.core.errors import AlreadyExistsError, ErrorCode
from server.core.localtime import as_utc
from server.staff import throttle
from server.staff.models import Role, StaffSession, StaffUser
from server.staff.passwords import (
    check_password_strength,
    hash_password,
    spend_verify_time,
    verify_password,
)

SESSION_LIFETIME = timedelta(hours=12)


class LoginRefusedError(Exception):
    """Wrong name or password, or too many failed tries from this address for a while."""

    def __init__(self, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    now: datetime,
    by: str,
    reason: str = "",
) -> StaffUser:
    """A new account, audited as created by ``by`` (the password is in neither)."""
    check_password_strength(password)
    if session.get(StaffUser, username) is not None:
        raise AlreadyExistsError(ErrorCode.STAFF_EXISTS, username=username)
    user = StaffUser(
        username=username, password_hash=hash_password(password), role=role, created_at=now
    )
    session.add(user)
    audit(
        session,
        actor=by,
        action="staff_created",
        at=now,
        reason=reason,
        after={"username": username, "role": role.value},
    )
    session.commit()
    session.refresh(user)
    return user


@dataclass(frozen=True, slots=True)
class NewSession:
    user: StaffUser
    token: str
    csrf_token: str


def login(
    session: Session, *, username: str, password: str, address: str, now: datetime
) -> NewSession:
    """A new session, or LoginRefusedError (with a wait when ``address`` is throttled: see
    ``server.staff.throttle``)."""
    try:
        throttle.begin(session, address=address, username=username, now=now)
    except throttle.ThrottledError as exc:
        raise LoginRefusedError(str(exc), retry_after_s=exc.retry_after_s) from None
    user = session.get(StaffUser, username)
    if user is None:
        spend_verify_time(password)
    if user is None or not verify_password(password, user.password_hash):
        throttle.failed(session, username=username, now=now)
        raise LoginRefusedError("wrong user name or password")
    throttle.succeeded(session, address=address, username=username)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            username=user.username,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.commit()
    session.refresh(user)
    return NewSession(user, token, csrf)


@dataclass(frozen=True, slots=True)
class Authenticated:
    user: StaffUser
    csrf_token: str


def authenticate(session: Session, *, token: str, now: datetime) -> Authenticated | None:
    if not token or len(token) > 100:
        return None
    row = session.get(StaffSession, _token_hash(token))
    if row is None or as_utc(row.expires_at) <= now:
        return None
    user = session.get(StaffUser, row.username)
    return Authenticated(user, row.csrf_token) if user is not None else None


def logout(session: Session, *, token: str) -> None:
    row = session.get(StaffSession, _token_hash(token))
    if row is not None:
        session.delete(row)
        session.commit()


def prune_sessions(session: Session, *, now: datetime) -> int:
    """Sessions past their expiry (they already let nobody in) and login failures past every
    throttle window. Commits; the number of sessions removed."""
    result = session.exec(delete(StaffSession).where(col(StaffSession.expires_at) <= now))
    session.commit()
    throttle.prune(session, now=now)
    return int(result.rowcount)


def has_accounts(session: Session) -> bool:
    return session.exec(select(StaffUser.username).limit(1)).first() is not None


def ensure_admin(session: Session, *, username: str, password: str, now: datetime) -> bool:
    """The first admin, from the settings, when there is no staff account yet."""
    if has_accounts(session):
        return False
    create_user(
        session, username=username, password=password, role=Role.ADMIN, now=now, by="system"
    )
    return True


def list_users(session: Session) -> list[StaffUser]:
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.username))))
