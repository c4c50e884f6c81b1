"""The periodic jobs' table: one lease per kind of work, held by one server worker at a time."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.core.columns import timestamp_field


class JobLease(SQLModel, table=True):
    __tablename__ = "job_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=100)  # the worker: host, process id and a random part
    expires_at: datetime = timestamp_field()
