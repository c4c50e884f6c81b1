"""Decisions and used nonces in the database: each decision stored once, and a granted code's
nonce claimed in the same transaction, so one code admits once, anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from protocol.credential import DEFAULT_SKEW_S, MAX_LIFETIME_S
from protocol.payloads import AccessDecision
from protocol.reasons import Reason
from server.access.models import DecisionRecord, UsedNonce

# A code granted offline is kept used until it cannot be valid anymore.
NONCE_KEEP_S = MAX_LIFETIME_S + 2 * DEFAULT_SKEW_S


def get_decision(session: Session, *, request_id: str) -> DecisionRecord | None:
    return session.get(DecisionRecord, request_id)


def record_decision(
    session: Session,
    *,
    decision: AccessDecision,
    nonce: str | None,
    nonce_expires_at: datetime | None,
    flags: Sequence[str] = (),
    nearby_station: str | None = None,
) -> DecisionRecord:
    """Store a decision once, and for a grant claim the token's nonce in the same transaction.

    A repeated request id gets the decision stored first. A grant that loses the race for its
    nonce (the same code at two stations at once) is stored and returned as a replay denial.
    The station's row is not written: a rider's decision never waits for a lock that a batch
    of heartbeats or events holds on it.
    """

    def add(allowed: bool, reason: str) -> DecisionRecord:
        record = DecisionRecord(
            request_id=decision.request_id,
            station_id=decision.station_id,
            rider_id=decision.rider_id,
            allowed=allowed,
            reason=reason,
            nonce=nonce,
            flags=",".join(flags),
            nearby_station=nearby_station,
            decided_at=decision.decided_at,
        )
        session.add(record)
        if allowed and nonce is not None and nonce_expires_at is not None:
            session.add(
                UsedNonce(
                    nonce=nonce,
                    request_id=decision.request_id,
                    station_id=decision.station_id,
                    expires_at=nonce_expires_at,
                )
            )
        return record

    record = add(decision.allowed, decision.reason.value)
    try:
        session.commit()
        return record
    except IntegrityError:
        session.rollback()
    stored = session.get(DecisionRecord, decision.request_id)
    if stored is not None:
        return stored
    record = add(False, Reason.REPLAYED.value)  # the nonce was claimed first elsewhere
    session.commit()
    return record


def nonce_used(session: Session, *, nonce: str) -> bool:
    return session.get(UsedNonce, nonce) is not None


def prune_used_nonces(session: Session, *, now: datetime) -> int:
    """Nonces of tokens that have expired can never be presented validly again."""
    stale = session.exec(select(UsedNonce).where(col(UsedNonce.expires_at) < now)).all()
    for row in stale:
        session.delete(row)
    session.commit()
    return len(stale)
