"""Database reads and writes, keyword-only. Each write commits its own transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from protocol.payloads import AccessDecision, EventKind, Passage, StationEvent, StationState
from protocol.reasons import Reason
from server.access import occupancy
from server.models import (
    ConfigState,
    DecisionRecord,
    EventRecord,
    Rider,
    RiderCreate,
    Station,
    StationCreate,
    Summary,
    UsedNonce,
    as_utc,
)

_RIDER_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0)


class AlreadyExistsError(Exception):
    """A row with this key is already stored."""


# -- stations -------------------------------------------------------------------------------
def create_station(session: Session, *, station_in: StationCreate) -> Station:
    if session.get(Station, station_in.id) is not None:
        raise AlreadyExistsError(f"station {station_in.id} already exists")
    station = Station.model_validate(station_in)
    session.add(station)
    session.commit()
    session.refresh(station)
    return station


def get_station(session: Session, *, station_id: str) -> Station | None:
    return session.get(Station, station_id)


def list_stations(session: Session) -> list[Station]:
    return list(session.exec(select(Station).order_by(col(Station.id))))


def set_station_state(session: Session, *, state: StationState, now: datetime) -> Station | None:
    """Record a birth or a last will; a stale will from an older session changes nothing."""
    station = session.get(Station, state.station_id)
    if station is None:
        return None
    if not state.online and station.session_id not in (None, state.session_id):
        return station  # the will of a session that has since been replaced
    if station.online != state.online:
        station.online_changed_at = now
    station.online = state.online
    station.session_id = state.session_id
    session.add(station)
    session.commit()
    return station


# -- riders ---------------------------------------------------------------------------------
def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_rider_id() -> str:
    return "r-" + "".join(secrets.choice(_RIDER_ID_ALPHABET) for _ in range(12))


def create_rider(session: Session, *, rider_in: RiderCreate, now: datetime) -> tuple[Rider, str]:
    """A new rider and the secret of their personal link (stored only as a hash)."""
    secret = secrets.token_urlsafe(24)
    rider = Rider.model_validate(
        rider_in,
        update={"id": _new_rider_id(), "link_secret_hash": _hash_secret(secret), "created_at": now},
    )
    session.add(rider)
    session.commit()
    session.refresh(rider)
    return rider, secret


def get_rider(session: Session, *, rider_id: str) -> Rider | None:
    return session.get(Rider, rider_id)


def get_rider_by_link(session: Session, *, secret: str) -> Rider | None:
    if not 0 < len(secret) <= 64:
        return None
    statement = select(Rider).where(Rider.link_secret_hash == _hash_secret(secret))
    return session.exec(statement).first()


# -- decisions and events -------------------------------------------------------------------
def get_decision(session: Session, *, request_id: str) -> DecisionRecord | None:
    return session.get(DecisionRecord, request_id)


def record_decision(
    session: Session,
    *,
    decision: AccessDecision,
    nonce: str | None,
    nonce_expires_at: datetime | None,
    station_clock_offset_s: float | None,
) -> DecisionRecord:
    """Store a decision once, and for a grant claim the token's nonce in the same transaction.

    A repeated request id gets the decision stored first. A grant that loses the race for its
    nonce (the same code at two stations at once) is stored and returned as a replay denial.
    """

    def add(allowed: bool, reason: str) -> DecisionRecord:
        record = DecisionRecord(
            request_id=decision.request_id,
            station_id=decision.station_id,
            rider_id=decision.rider_id,
            allowed=allowed,
            reason=reason,
            nonce=nonce,
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
        station = session.get(Station, decision.station_id)
        if station is not None and station_clock_offset_s is not None:
            station.clock_offset_s = station_clock_offset_s
            session.add(station)
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


def store_event(session: Session, *, event: StationEvent, received_at: datetime) -> bool:
    """Store an event once, with its effect on occupancy in the same transaction.

    Returns False for a duplicate (already stored) or an event of an unknown station.
    """
    if session.get(EventRecord, event.event_id) is not None:
        return False
    station = session.get(Station, event.station_id)
    if station is None:
        return False
    session.add(
        EventRecord(
            event_id=event.event_id,
            station_id=event.station_id,
            seq=event.seq,
            kind=event.kind.value,
            occurred_at=event.occurred_at,
            received_at=received_at,
            rider_id=event.rider_id,
            request_id=event.request_id,
            reason=event.reason.value if event.reason else None,
            decided_by=event.decided_by.value if event.decided_by else None,
            passage=event.passage.value if event.passage else None,
            suppressed=event.suppressed,
        )
    )
    station.occupancy = occupancy.apply(station.occupancy, event.kind, event.passage)
    if station.last_event_at is None or as_utc(station.last_event_at) < event.occurred_at:
        station.last_event_at = event.occurred_at
    session.add(station)
    try:
        session.commit()
    except IntegrityError:  # another worker stored it first
        session.rollback()
        return False
    return True


def recent_events(
    session: Session, *, station_id: str | None = None, limit: int = 20
) -> list[EventRecord]:
    statement = select(EventRecord)
    if station_id is not None:
        statement = statement.where(EventRecord.station_id == station_id)
    statement = statement.order_by(col(EventRecord.occurred_at).desc()).limit(limit)
    return list(session.exec(statement))


def summary(session: Session) -> Summary:
    def count_events(kind: EventKind, passage: Passage | None = None) -> int:
        statement = (
            select(func.count()).select_from(EventRecord).where(EventRecord.kind == kind.value)
        )
        if passage is not None:
            statement = statement.where(EventRecord.passage == passage.value)
        return session.exec(statement).one()

    stations = list_stations(session)
    return Summary(
        stations=len(stations),
        stations_online=sum(1 for s in stations if s.online),
        occupancy=sum(s.occupancy for s in stations),
        events_stored=session.exec(select(func.count()).select_from(EventRecord)).one(),
        entries=count_events(EventKind.DOOR_OPENED, Passage.ENTRY),
        exits=count_events(EventKind.DOOR_OPENED, Passage.EXIT),
        denials=count_events(EventKind.ACCESS_DENIED),
        decisions=session.exec(select(func.count()).select_from(DecisionRecord)).one(),
    )


# -- revocation and the published configuration ---------------------------------------------
class NotFoundError(Exception):
    """No row with this key."""


class ConflictError(Exception):
    """The change does not apply to the row as it is (already done, say)."""


def bump_config_version(session: Session) -> int:
    """Called in the transaction of any change a station must learn about."""
    state = session.get(ConfigState, 1) or ConfigState(id=1, version=0)
    state.version += 1
    session.add(state)
    return state.version


def config_version(session: Session) -> int:
    state = session.get(ConfigState, 1)
    return state.version if state is not None else 1


def revoke_rider(session: Session, *, rider_id: str, now: datetime) -> Rider:
    """Disable a rider: no new codes, and every code issued so far is refused everywhere."""
    rider = session.get(Rider, rider_id)
    if rider is None:
        raise NotFoundError(f"no rider {rider_id!r}")
    if rider.revoked_at is not None:
        raise ConflictError(f"rider {rider_id} is already revoked")
    rider.revoked_at = now
    rider.credential_version += 1
    rider.credential_changed_at = now
    session.add(rider)
    bump_config_version(session)
    session.commit()
    session.refresh(rider)
    return rider


def renew_rider_link(session: Session, *, rider_id: str) -> str:
    """A new secret link for the rider; the old link stops working at once."""
    rider = session.get(Rider, rider_id)
    if rider is None:
        raise NotFoundError(f"no rider {rider_id!r}")
    secret = secrets.token_urlsafe(24)
    rider.link_secret_hash = _hash_secret(secret)
    session.add(rider)
    session.commit()
    return secret


def denylist(session: Session, *, since: datetime) -> dict[str, int]:
    """rider id -> lowest credential version still valid, for credentials changed since."""
    statement = select(Rider).where(col(Rider.credential_changed_at) >= since)
    return {rider.id: rider.credential_version for rider in session.exec(statement)}


def nonce_used(session: Session, *, nonce: str) -> bool:
    return session.get(UsedNonce, nonce) is not None


def prune_used_nonces(session: Session, *, now: datetime) -> int:
    """Nonces of tokens that have expired can never be presented validly again."""
    stale = session.exec(select(UsedNonce).where(col(UsedNonce.expires_at) < now)).all()
    for row in stale:
        session.delete(row)
    session.commit()
    return len(stale)
