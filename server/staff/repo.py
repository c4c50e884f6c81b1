"""Staff accounts in the database: creation, login with throttling, sessions, the first admin."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select, update

from server.core.errors import AlreadyExistsError
from server.core.localtime import as_utc
from server.staff.models import Role, StaffSession, StaffUser
from server.staff.passwords import (
    check_password_strength,
    hash_password,
    spend_verify_time,
    verify_password,
)

SESSION_LIFETIME = timedelta(hours=12)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=1)


class LoginRefusedError(Exception):
    """Wrong name or password, or locked for a while after too many tries."""

    def __init__(self, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, username: str, password: str, role: Role, now: datetime
) -> StaffUser:
    check_password_strength(password)
    if session.get(StaffUser, username) is not None:
        raise AlreadyExistsError(f"staff account {username!r} already exists")
    user = StaffUser(
        username=username, password_hash=hash_password(password), role=role, created_at=now
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


@dataclass(frozen=True, slots=True)
class NewSession:
    user: StaffUser
    token: str
    csrf_token: str


def login(session: Session, *, username: str, password: str, now: datetime) -> NewSession:
    """A new session, or LoginRefusedError. Five wrong passwords lock the account for a minute."""
    user = session.get(StaffUser, username)
    if user is None:
        spend_verify_time(password)
        raise LoginRefusedError("wrong user name or password")
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        wait = int((as_utc(user.locked_until) - now).total_seconds()) + 1
        raise LoginRefusedError(
            f"too many failed logins: try again in {wait} s", retry_after_s=wait
        )
    if not verify_password(password, user.password_hash):
        # Counted in the database, not in this request's copy of the row: simultaneous wrong
        # tries must not overwrite each other's count and slip past the lock.
        named = col(StaffUser.username) == username
        session.exec(
            update(StaffUser).where(named).values(failed_logins=StaffUser.failed_logins + 1)
        )
        session.exec(
            update(StaffUser)
            .where(named, col(StaffUser.failed_logins) >= MAX_FAILED_LOGINS)
            .values(failed_logins=0, locked_until=now + LOCKOUT)
        )
        session.commit()
        raise LoginRefusedError("wrong user name or password")
    user.failed_logins, user.locked_until = 0, None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(user)
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


def ensure_admin(session: Session, *, username: str, password: str, now: datetime) -> bool:
    """The first admin, from the settings, when there is no staff account yet."""
    if session.get(StaffUser, username) is not None:
        return False
    if session.exec(select(StaffUser)).first() is not None:
        return False
    create_user(session, username=username, password=password, role=Role.ADMIN, now=now)
    return True


def list_users(session: Session) -> list[StaffUser]:
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.username))))
