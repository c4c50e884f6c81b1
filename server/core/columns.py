"""Column helpers shared by the tables of every capability."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime
from sqlmodel import Field


def timestamp_field(*, nullable: bool = False, index: bool = False) -> Any:
    """A time column stored as UTC; PostgreSQL keeps the zone, SQLite hands back naive UTC
    (read it through ``server.core.localtime.as_utc``)."""
    column = Column(DateTime(timezone=True), nullable=nullable, index=index)
    return Field(default=None, sa_column=column) if nullable else Field(sa_column=column)
