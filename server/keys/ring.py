"""The server's Ed25519 signing keys, with rotation that never strands a valid token.

A new key is published to every station as soon as it exists but signs only from
``activates_at`` (after a propagation delay), so stations know it before they see it. The key
it replaces stops signing then, and stays published until the last token it signed has
expired (``retires_at`` + longest lifetime + clock skew).

``KeyHolder`` is the ring as this server process currently knows it, shared by the HTTP and
MQTT threads.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from protocol.credential import DEFAULT_SKEW_S, MAX_LIFETIME_S, raw_public_key
from server.core.db import session_scope
from server.core.localtime import as_utc, utcnow
from server.keys.models import SigningKeyRecord

# How long a retired key is still published and accepted.
RETIRED_KEY_GRACE = timedelta(seconds=MAX_LIFETIME_S + DEFAULT_SKEW_S)


class NoSigningKeyError(RuntimeError):
    """No key is active now (only one waiting for its activation time)."""


@dataclass(frozen=True, slots=True)
class KeyEntry:
    kid: str
    private_key: Ed25519PrivateKey
    activates_at: datetime
    retires_at: datetime | None

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.private_key)


@dataclass(frozen=True, slots=True)
class KeyRing:
    entries: tuple[KeyEntry, ...]

    def signer(self, now: datetime) -> KeyEntry:
        """The newest key that may sign now."""
        active = [
            e
            for e in self.entries
            if e.activates_at <= now and (e.retires_at is None or now < e.retires_at)
        ]
        if not active:
            raise NoSigningKeyError("no signing key is active")
        return max(active, key=lambda e: e.activates_at)

    def published(self, now: datetime) -> dict[str, bytes]:
        """Keys stations must know now: upcoming, active, and retired but still in grace."""
        return {
            e.kid: e.public_key
            for e in self.entries
            if e.retires_at is None or now < e.retires_at + RETIRED_KEY_GRACE
        }


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:8]


def _entry(record: SigningKeyRecord) -> KeyEntry:
    key = serialization.load_pem_private_key(record.private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"signing key {record.kid} is not Ed25519")
    retires = as_utc(record.retires_at) if record.retires_at is not None else None
    return KeyEntry(record.kid, key, as_utc(record.activates_at), retires)


def load(session: Session) -> KeyRing:
    records = session.exec(select(SigningKeyRecord).order_by(col(SigningKeyRecord.activates_at)))
    return KeyRing(tuple(_entry(r) for r in records))


def _new_record(now: datetime, activates_at: datetime) -> SigningKeyRecord:
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKeyRecord(
        kid=key_id(raw_public_key(private_key)),
        private_pem=pem,
        created_at=now,
        activates_at=activates_at,
    )


def ensure_key(session: Session, *, now: datetime) -> bool:
    """Create the first key, active at once (no station can know an older one). True if made."""
    if session.exec(select(SigningKeyRecord)).first() is not None:
        return False
    session.add(_new_record(now, now))
    session.commit()
    return True


def rotate(session: Session, *, now: datetime, propagation: timedelta) -> SigningKeyRecord:
    """Add a key that signs after ``propagation``; the current signer retires then.

    The caller bumps the config version and publishes, in that order, right away.
    """
    new = _new_record(now, now + propagation)
    current = session.exec(
        select(SigningKeyRecord).where(col(SigningKeyRecord.retires_at).is_(None))
    ).all()
    for record in current:
        record.retires_at = new.activates_at
        session.add(record)
    session.add(new)
    session.commit()
    session.refresh(new)
    return new


def list_keys(session: Session) -> list[SigningKeyRecord]:
    return list(session.exec(select(SigningKeyRecord).order_by(col(SigningKeyRecord.created_at))))


class KeyHolder:
    """The key ring of this process: read from the database, replaced whole on reload."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._ring = KeyRing(())

    @property
    def ring(self) -> KeyRing:
        return self._ring  # replaced whole, never mutated: reading needs no lock

    def reload(self) -> KeyRing:
        """Read the keys from the database, creating the first one if there is none."""
        with self._lock, session_scope(self._engine) as session:
            ensure_key(session, now=utcnow())
            self._ring = load(session)
            return self._ring
