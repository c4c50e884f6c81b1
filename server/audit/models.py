"""The audit trail: who did what, when and why, and what it was before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from server.core.columns import timestamp_field

# Why a staff member made a change: required, and blank (spaces only) is not a reason.
StaffNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class AuditEntry(SQLModel, table=True):
    """Staff actions and what stations did with them. ``before`` and ``after`` are JSON
    objects of the fields the change touched (``{}`` when there was nothing before, say a
    station created), rendered in words by ``server.audit.wording``."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = timestamp_field(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    station_id: str | None = Field(default=None, index=True, max_length=63)
    rider_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=200)
    detail: str = Field(default="", max_length=500)
    before: str = Field(default="", sa_type=Text)
    after: str = Field(default="", sa_type=Text)


class AuditPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    station_id: str | None
    rider_id: str | None
    reason: str
    detail: str
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    summary: str = ""  # the entry in words, in the language asked for
