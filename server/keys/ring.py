"""The server's Ed25519 signing keys, with rotation that never strands a valid token.

A new key is published to every station as soon as it exists but signs only from
``activates_at`` (after a propagation delay), so stations know it before they see it. The key
it replaces stops signing then, and stays published until the last token it signed has
expired (``retires_at`` + longest lifetime + clock skew).

Control keys (purpose ``control``) sign what the server tells stations: decisions, commands,
configs, acknowledgements. Stations pin them at provisioning; every published control key
signs, so a new one is announced (in configs signed by the old one too) and the old one
retired later, without a site visit; a retired control key stays published and signing for
``control_key_grace_s`` (a station offline longer than that must be provisioned again).

``KeyHolder`` is the ring as this server process currently knows it, shared by the HTTP and
MQTT threads. Several workers share one database: every change to the ring bumps
``key_ring_state.version`` in its transaction, and a holder re-reads the ring when that
version moved, checked at most every ``check_s`` (default 5 s) when the ring is read and
always before the keys page is published. A new rider key signs only after
``WS_SERVER_KEY_PROPAGATION_S`` (60 s by default, refused below twice ``check_s``), so every
worker knows it before any worker signs with it, and no worker publishes a keys page that
lacks a key another worker has.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from protocol.credential import DEFAULT_SKEW_S, MAX_LIFETIME_S, raw_public_key
from protocol.signing import SigningKey, key_id
from server.audit.repo import audit
from server.core.db import session_scope
from server.core.localtime import Clock, as_utc, utcnow
from server.keys.models import KeyRingState, SigningKeyRecord

log = logging.getLogger(__name__)

# How long a retired rider-token key is still published and accepted (tokens only; with device
# certificates, which it also signs, see ``rider_key_grace``).
RETIRED_KEY_GRACE = timedelta(seconds=MAX_LIFETIME_S + DEFAULT_SKEW_S)
RIDER, CONTROL = "rider", "control"


def rider_key_grace(device_cert_lifetime_s: int) -> timedelta:
    """How long a retired rider key stays published: until the last token or device
    certificate (``protocol.device_cert``) it signed has expired, plus the clock skew."""
    return timedelta(seconds=max(MAX_LIFETIME_S, device_cert_lifetime_s) + DEFAULT_SKEW_S)


class NoSigningKeyError(RuntimeError):
    """No key is active now (only one waiting for its activation time)."""


@dataclass(frozen=True, slots=True)
class KeyEntry:
    kid: str
    private_key: Ed25519PrivateKey
    activates_at: datetime
    retires_at: datetime | None
    # Made once: every decision reads the published keys (3 % of its CPU when made each time).
    public_key: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", raw_public_key(self.private_key))

    @property
    def signing_key(self) -> SigningKey:
        """The same key for libsodium (message signatures, ``protocol.signing``)."""
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return SigningKey(seed)


@dataclass(frozen=True, slots=True)
class KeyRing:
    entries: tuple[KeyEntry, ...]
    grace: timedelta = RETIRED_KEY_GRACE

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
            if e.retires_at is None or now < e.retires_at + self.grace
        }


@dataclass(frozen=True, slots=True)
class ControlKeys:
    """The server's control keys as signers: every published one signs."""

    ring: KeyRing
    signers: tuple[SigningKey, ...]

    @classmethod
    def of(cls, ring: KeyRing, now: datetime) -> ControlKeys:
        published = ring.published(now)
        return cls(ring, tuple(e.signing_key for e in ring.entries if e.kid in published))

    def published(self, now: datetime) -> dict[str, bytes]:
        return self.ring.published(now)


def _entry(record: SigningKeyRecord) -> KeyEntry:
    key = serialization.load_pem_private_key(record.private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"signing key {record.kid} is not Ed25519")
    retires = as_utc(record.retires_at) if record.retires_at is not None else None
    return KeyEntry(record.kid, key, as_utc(record.activates_at), retires)


def load(
    session: Session, *, purpose: str = RIDER, grace: timedelta = RETIRED_KEY_GRACE
) -> KeyRing:
    records = session.exec(
        select(SigningKeyRecord)
        .where(SigningKeyRecord.purpose == purpose)
        .order_by(col(SigningKeyRecord.activates_at))
    )
    return KeyRing(tuple(_entry(r) for r in records), grace)


def _new_record(now: datetime, activates_at: datetime, purpose: str) -> SigningKeyRecord:
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKeyRecord(
        kid=key_id(raw_public_key(private_key)),
        purpose=purpose,
        private_pem=pem,
        created_at=now,
        activates_at=activates_at,
    )


def ensure_key(session: Session, *, now: datetime, purpose: str = RIDER) -> bool:
    """Create the first key, active at once (no station can know an older one). True if made."""
    if (
        session.exec(select(SigningKeyRecord).where(SigningKeyRecord.purpose == purpose)).first()
        is not None
    ):
        return False
    session.add(_new_record(now, now, purpose))
    bump_ring_version(session)
    session.commit()
    return True


def bump_ring_version(session: Session) -> int:
    """In the transaction of every change to the keys: other workers re-read the ring."""
    state = session.get(KeyRingState, 1, with_for_update=True) or KeyRingState(id=1, version=0)
    state.version += 1
    session.add(state)
    return state.version


def ring_version(session: Session) -> int:
    state = session.get(KeyRingState, 1)
    return state.version if state is not None else 0


def rotate(
    session: Session,
    *,
    now: datetime,
    propagation: timedelta,
    by: str,
    purpose: str = RIDER,
    reason: str = "",
) -> SigningKeyRecord:
    """Add a key that signs after ``propagation``; the current signer retires then. (Control
    keys: pass no propagation; every published control key signs anyway.) Audited as done by
    ``by``: which key replaced which (key ids only, never a key).

    The caller bumps the config version and publishes, in that order, right away.
    """
    new = _new_record(now, now + propagation, purpose)
    current = session.exec(
        select(SigningKeyRecord).where(
            col(SigningKeyRecord.retires_at).is_(None), SigningKeyRecord.purpose == purpose
        )
    ).all()
    for record in current:
        record.retires_at = new.activates_at
        session.add(record)
    session.add(new)
    audit(
        session,
        actor=by,
        action="key_rotated",
        at=now,
        reason=reason,
        before={"kid": ", ".join(sorted(r.kid for r in current))},
        after={"kid": new.kid, "purpose": purpose},
    )
    bump_ring_version(session)
    session.commit()
    session.refresh(new)
    return new


def list_keys(session: Session) -> list[SigningKeyRecord]:
    return list(session.exec(select(SigningKeyRecord).order_by(col(SigningKeyRecord.created_at))))


class KeyHolder:
    """The key ring of this process: read from the database, replaced whole on reload, and
    re-read when another worker changed it (``key_ring_state``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        control_grace: timedelta = timedelta(days=30),
        rider_grace: timedelta = RETIRED_KEY_GRACE,
        check_s: float = 5.0,
        clock: Clock = time.time,
    ) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._control_grace = control_grace
        self._rider_grace = rider_grace
        self._check_s = check_s
        self._clock = clock
        self._version = -1  # not read yet
        self._checked_at = float("-inf")
        self._ring = KeyRing(())
        self._control = ControlKeys(KeyRing((), control_grace), ())

    @property
    def ring(self) -> KeyRing:
        """The rider-token keys (replaced whole, never mutated: reading needs no lock)."""
        self._check_due()
        return self._ring

    @property
    def control(self) -> ControlKeys:
        self._check_due()
        return self._control

    @property
    def version(self) -> int:
        """The ``key_ring_state`` version of the ring held now."""
        return self._version

    def reload(self) -> KeyRing:
        """Read the keys from the database, creating the first of each kind if there is none."""
        now = utcnow()
        with self._lock, session_scope(self._engine) as session:
            ensure_key(session, now=now, purpose=RIDER)
            ensure_key(session, now=now, purpose=CONTROL)
            version = ring_version(session)
            self._ring = load(session, purpose=RIDER, grace=self._rider_grace)
            control = load(session, purpose=CONTROL, grace=self._control_grace)
            self._control = ControlKeys.of(control, now)
            self._version, self._checked_at = version, self._clock()
            return self._ring

    def refresh_if_changed(self) -> bool:
        """One read of the ring's version; the whole ring again only if it moved. True if so."""
        with session_scope(self._engine) as session:
            version = ring_version(session)
        self._checked_at = self._clock()
        if version == self._version:
            return False
        self.reload()
        return True

    def _check_due(self) -> None:
        if self._version < 0 or self._clock() - self._checked_at < self._check_s:
            return
        try:
            self.refresh_if_changed()
        except Exception:  # a database hiccup: keep the ring held, try again next time
            self._checked_at = self._clock()
            log.exception("could not check the key ring's version")
