"""The server's signing keys: the table and its API shape (never the private key)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.audit.models import OptionalNote
from server.core.columns import timestamp_field


class SigningKeyRecord(SQLModel, table=True):
    """An Ed25519 key of the server. Published to stations from creation; signs from
    ``activates_at`` until ``retires_at``; published until its last token has expired."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=16)
    # "rider": signs riders' codes (one signer at a time, published ahead of signing);
    # "control": signs what the server tells stations (every published key signs).
    purpose: str = Field(default="rider", max_length=16, index=True)
    private_pem: str
    created_at: datetime = timestamp_field()
    activates_at: datetime = timestamp_field()
    retires_at: datetime | None = timestamp_field(nullable=True)


class KeyRotation(SQLModel):
    """Why a key is rotated: optional, kept in the audit trail."""

    reason: OptionalNote = ""


class SigningKeyPublic(SQLModel):
    kid: str
    purpose: str
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None


class KeyRingState(SQLModel, table=True):
    """One row: a number that changes with every key added or retired, so each server
    worker can tell with one cheap read whether the ring it holds is still the ring."""

    __tablename__ = "key_ring_state"

    id: int = Field(default=1, primary_key=True)
    version: int = 0
