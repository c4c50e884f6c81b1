"""Riders in the database: enrolment, personal links, revocation and the denylist it feeds,
search."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from protocol.trust import bucket_of
from server.audit.repo import audit
from server.core.errors import ConflictError, ErrorCode, NotFoundError
from server.riders.models import Rider, RiderCreate
from server.stations.repo import bump_config_version

_RIDER_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0)


def hash_secret(secret: str) -> str:
    """How a personal link's secret is stored (it is random: no key needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_rider_id() -> str:
    return "r-" + "".join(secrets.choice(_RIDER_ID_ALPHABET) for _ in range(12))


def create_rider(
    session: Session, *, rider_in: RiderCreate, now: datetime, by: str, reason: str = ""
) -> tuple[Rider, str]:
    """A new rider and the secret of their personal link (stored only as a hash), audited
    as enrolled by ``by`` (the name stays on the rider's row, not in the trail)."""
    secret = new_link_secret()
    rider = add_rider(session, rider_in=rider_in, link_secret_hash=hash_secret(secret), now=now)
    audit(
        session,
        actor=by,
        action="rider_enrolled",
        at=now,
        rider_id=rider.id,
        reason=reason,
        after={"platform": rider.platform.value, "status": "active"},
    )
    session.commit()
    session.refresh(rider)
    return rider, secret


def add_rider(
    session: Session,
    *,
    rider_in: RiderCreate,
    link_secret_hash: str,
    now: datetime,
    phone_hash: str | None = None,
) -> Rider:
    """A new rider added to the caller's transaction, whose link's secret someone else holds
    (a rider who joined at /join: their page holds it)."""
    rider_id = _new_rider_id()
    rider = Rider.model_validate(
        rider_in,
        update={
            "id": rider_id,
            "link_secret_hash": link_secret_hash,
            "created_at": now,
            "denylist_bucket": bucket_of(rider_id),
            "phone_hash": phone_hash,
        },
    )
    session.add(rider)
    return rider


def get_rider(session: Session, *, rider_id: str) -> Rider | None:
    return session.get(Rider, rider_id)


def get_rider_by_link(session: Session, *, secret: str) -> Rider | None:
    if not 0 < len(secret) <= 64:
        return None
    statement = select(Rider).where(Rider.link_secret_hash == hash_secret(secret))
    return session.exec(statement).first()


def revoke_rider(
    session: Session, *, rider_id: str, now: datetime, by: str, reason: str = ""
) -> Rider:
    """Disable a rider: no new codes, and every code issued so far is refused everywhere."""
    rider = session.get(Rider, rider_id)
    if rider is None:
        raise NotFoundError(ErrorCode.NO_RIDER, id=rider_id)
    if rider.revoked_at is not None:
        raise ConflictError(ErrorCode.RIDER_ALREADY_REVOKED, id=rider_id)
    rider.revoked_at = now
    rider.credential_version += 1
    rider.credential_changed_at = now
    rider.denylist_bucket = bucket_of(rider.id)
    session.add(rider)
    audit(
        session,
        actor=by,
        action="rider_revoked",
        at=now,
        rider_id=rider_id,
        reason=reason,
        before={"status": "active"},
        after={"status": "revoked"},
    )
    bump_config_version(session)
    session.commit()
    session.refresh(rider)
    return rider


def new_link_secret() -> str:
    return secrets.token_urlsafe(24)


def renew_rider_link(
    session: Session,
    *,
    rider_id: str,
    now: datetime,
    by: str,
    reason: str = "",
    commit: bool = True,
) -> str:
    """A new secret link for the rider; the old link stops working at once, and so does every
    code and device certificate issued through it: the credential version moves on, as on a
    revocation (a lost phone holds a device certificate for hours). The caller publishes the
    rider's denylist page after the commit. Audited (neither link is in the trail: they are
    the rider's keys). ``commit=False``: the caller commits."""
    rider = session.get(Rider, rider_id)
    if rider is None:
        raise NotFoundError(ErrorCode.NO_RIDER, id=rider_id)
    secret = new_link_secret()
    rider.link_secret_hash = hash_secret(secret)
    rider.credential_version += 1
    rider.credential_changed_at = now
    rider.denylist_bucket = bucket_of(rider.id)
    session.add(rider)
    bump_config_version(session)
    audit(
        session,
        actor=by,
        action="rider_link_renewed",
        at=now,
        rider_id=rider_id,
        reason=reason,
        before={"link": "old"},
        after={"link": "new"},
    )
    if commit:
        session.commit()
    return secret


def denylist(session: Session, *, since: datetime) -> dict[str, int]:
    """rider id -> lowest credential version still valid, for credentials changed since."""
    statement = select(Rider.id, Rider.credential_version).where(
        col(Rider.credential_changed_at) >= since
    )
    return dict(session.exec(statement).all())


def denylist_by_bucket(session: Session, *, since: datetime) -> dict[int, list[tuple[str, int]]]:
    """Every bucket's entries changed since, newest first (for publishing every page)."""
    statement = (
        select(Rider.denylist_bucket, Rider.id, Rider.credential_version)
        .where(col(Rider.credential_changed_at) >= since)
        .order_by(col(Rider.credential_changed_at).desc(), col(Rider.id))
    )
    pages: dict[int, list[tuple[str, int]]] = {}
    for bucket, rider_id, version in session.exec(statement):
        pages.setdefault(bucket, []).append((rider_id, version))
    return pages


def denylist_bucket(
    session: Session, *, bucket: int, since: datetime, limit: int
) -> list[tuple[str, int]]:
    """One bucket's entries changed since, newest first (index ``ix_rider_denylist``)."""
    statement = (
        select(Rider.id, Rider.credential_version)
        .where(Rider.denylist_bucket == bucket, col(Rider.credential_changed_at) >= since)
        .order_by(col(Rider.credential_changed_at).desc(), col(Rider.id))
        .limit(limit)
    )
    return [(rider_id, version) for rider_id, version in session.exec(statement)]


def search_riders(
    session: Session,
    *,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
    phone_hash: str | None = None,
) -> tuple[list[Rider], int]:
    """Riders whose id or display name contains ``q`` (any case), newest first; or, given
    ``phone_hash`` (``q`` was a phone number), the riders who gave that number."""
    statement = select(Rider)
    counting = select(func.count()).select_from(Rider)
    if phone_hash is not None:
        match = col(Rider.phone_hash) == phone_hash
        statement, counting = statement.where(match), counting.where(match)
    elif q:
        pattern = (
            "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        match = or_(
            func.lower(Rider.id).like(pattern, escape="\\"),
            func.lower(Rider.display_name).like(pattern, escape="\\"),
        )
        statement, counting = statement.where(match), counting.where(match)
    total = session.exec(counting).one()
    statement = statement.order_by(col(Rider.created_at).desc(), col(Rider.id)).offset(offset)
    return list(session.exec(statement.limit(limit))), total
