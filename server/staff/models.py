"""Staff accounts, roles and login sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from server.core.columns import timestamp_field


class Role(StrEnum):
    VIEWER = "viewer"  # sees everything, changes nothing
    OPERATOR = "operator"  # acknowledges alarms, unlocks doors, enrols and revokes riders
    ADMIN = "admin"  # stations, rules, keys, staff accounts

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    username: str = Field(primary_key=True, max_length=64)
    password_hash: str
    role: Role = Role.VIEWER
    created_at: datetime = timestamp_field()


class StaffCreate(SQLModel):
    username: str = Field(regex=r"^[A-Za-z0-9_.-]{2,64}$")
    password: str = Field(min_length=10, max_length=200)
    role: Role = Role.VIEWER


class StaffPublic(SQLModel):
    username: str
    role: Role
    created_at: datetime


class StaffSession(SQLModel, table=True):
    """A login: the cookie or bearer token is stored only as a hash."""

    __tablename__ = "staff_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(index=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field(index=True)


class LoginFailure(SQLModel, table=True):
    """One failed (or still running) login, kept for the throttle's longest window. The
    database rather than memory, so that every server worker counts the same tries."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("login_failure_address", "address", "at"),
        Index("login_failure_account", "username", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=64)  # the client's address (IPv6: its /64)
    username: str = Field(max_length=64)  # as typed: unknown names count too
    at: datetime = timestamp_field(index=True)


class LoginRequest(SQLModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class LoginResult(SQLModel):
    username: str
    role: Role
    token: str  # bearer token for API clients; browsers use the cookie
    csrf_token: str
