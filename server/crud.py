"""Database reads and writes, keyword-only. Each write commits its own transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from protocol.credential import DEFAULT_SKEW_S, MAX_LIFETIME_S
from protocol.payloads import (
    AccessDecision,
    EventKind,
    Heartbeat,
    Passage,
    StationEvent,
    StationState,
)
from protocol.reasons import Reason
from server.access import occupancy
from server.models import (
    Alarm,
    AuditEntry,
    ConfigState,
    DecisionRecord,
    EventRecord,
    EventStream,
    Rider,
    RiderCreate,
    Station,
    StationCreate,
    Stay,
    Summary,
    UsedNonce,
    as_utc,
)

# A code granted offline is kept used until it cannot be valid anymore.
NONCE_KEEP_S = MAX_LIFETIME_S + 2 * DEFAULT_SKEW_S
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
    station.offline_reason = None if state.online else "disconnected"
    station.session_id = state.session_id
    if state.lock_type is not None:
        station.lock_type = state.lock_type.value
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
    flags: Sequence[str] = (),
    nearby_station: str | None = None,
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


@dataclass
class StreamAck:
    """What to tell one station's outbox after a commit."""

    station_id: str
    epoch: str
    acked: list[int] = field(default_factory=list)
    missing: list[tuple[int, int]] = field(default_factory=list)


def store_events(
    session: Session, *, events: Sequence[StationEvent], received_at: datetime
) -> list[StreamAck]:
    """Store a batch of events once each, with their effects, in one transaction.

    Duplicates (already stored) are acknowledged again without effect; events of unknown
    stations are neither stored nor acknowledged. Returns, per stream, the seqs to acknowledge
    (only valid after this function's commit) and the ranges still missing below the highest
    seq seen. If another worker stored some of them first, falls back to one event at a time.
    """
    ordered = sorted(events, key=lambda e: (e.station_id, e.epoch, e.seq))
    try:
        acks = _store_batch(session, ordered, received_at)
        session.commit()
    except IntegrityError:
        session.rollback()
        acks = {}
        for event in ordered:
            try:
                for key, ack in _store_batch(session, [event], received_at).items():
                    acks.setdefault(key, StreamAck(ack.station_id, ack.epoch)).acked += ack.acked
                session.commit()
            except IntegrityError:
                session.rollback()
                # Stored meanwhile by another worker: acknowledged as a duplicate.
                key = (event.station_id, event.epoch)
                acks.setdefault(key, StreamAck(*key)).acked.append(event.seq)
    for ack in acks.values():
        ack.missing = _advance_stream(session, ack)
    session.commit()
    return list(acks.values())


def _store_batch(
    session: Session, events: Sequence[StationEvent], received_at: datetime
) -> dict[tuple[str, str], StreamAck]:
    acks: dict[tuple[str, str], StreamAck] = {}
    stations: dict[str, Station | None] = {}
    for event in events:
        if event.station_id not in stations:
            stations[event.station_id] = session.get(Station, event.station_id)
        station = stations[event.station_id]
        if station is None:
            continue
        key = (event.station_id, event.epoch)
        acks.setdefault(key, StreamAck(*key)).acked.append(event.seq)
        if session.get(EventRecord, event.event_id) is not None:
            continue  # a duplicate delivery: stored before, acknowledge again
        session.add(
            EventRecord(
                event_id=event.event_id,
                station_id=event.station_id,
                epoch=event.epoch,
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
                nonce=event.nonce,
                alarm=event.alarm,
                detail=event.detail,
                command_id=event.command_id,
            )
        )
        session.flush()  # a second copy of the same event in this batch is now a duplicate
        if station.last_event_at is None or as_utc(station.last_event_at) < event.occurred_at:
            station.last_event_at = event.occurred_at
        session.add(station)
        # An entry the station decided offline uses its code up everywhere, too.
        if (
            event.kind is EventKind.ACCESS_GRANTED
            and event.nonce is not None
            and session.get(UsedNonce, event.nonce) is None
        ):
            session.add(
                UsedNonce(
                    nonce=event.nonce,
                    request_id=event.request_id or event.event_id,
                    station_id=event.station_id,
                    expires_at=event.occurred_at + timedelta(seconds=NONCE_KEEP_S),
                )
            )
    return acks


_PHASE_OF_ALARM = {"forced_open": "forced_open", "held_open": "held_open"}


def _apply_effects(session: Session, station: Station, event: EventRecord) -> None:
    """What a stored event does, in sequence order: the count, door phase, alarms, stays,
    command outcomes."""
    at = as_utc(event.occurred_at)
    kind = EventKind(event.kind)
    passage = Passage(event.passage) if event.passage else None
    station.occupancy = occupancy.apply(station.occupancy, kind, passage)
    event.applied = True
    session.add(event)
    if kind is EventKind.DOOR_OPENED:
        station.door_phase = "open"
        if passage is Passage.ENTRY and event.rider_id is not None:
            _open_stay(session, station_id=station.id, rider_id=event.rider_id, at=at)
    elif kind is EventKind.DOOR_CLOSED:
        station.door_phase = "closed"
    elif kind is EventKind.ALARM_RAISED and event.alarm:
        session.add(
            Alarm(station_id=station.id, kind=event.alarm, raised_at=at, detail=event.detail or "")
        )
        station.door_phase = _PHASE_OF_ALARM.get(event.alarm, station.door_phase)
    elif kind is EventKind.ALARM_CLEARED and event.alarm:
        for alarm in session.exec(
            select(Alarm).where(
                Alarm.station_id == station.id,
                Alarm.kind == event.alarm,
                col(Alarm.cleared_at).is_(None),
            )
        ):
            alarm.cleared_at = at
            session.add(alarm)
    elif kind in (EventKind.COMMAND_DONE, EventKind.COMMAND_REFUSED):
        session.add(
            AuditEntry(
                at=at,
                actor=f"station:{station.id}",
                action=kind.value,
                station_id=station.id,
                detail=f"command {event.command_id}: {event.detail or ''}".strip(),
            )
        )
    if station.occupancy == 0:
        end_stays(session, station_id=station.id, at=at)  # nobody inside: every stay is over


def _open_stay(session: Session, *, station_id: str, rider_id: str, at: datetime) -> None:
    """A rider entering anywhere has left wherever they were before."""
    for stay in session.exec(
        select(Stay).where(Stay.rider_id == rider_id, col(Stay.ended_at).is_(None))
    ):
        stay.ended_at = at
        session.add(stay)
    session.add(Stay(station_id=station_id, rider_id=rider_id, entered_at=at))


def end_stays(session: Session, *, station_id: str, at: datetime) -> None:
    for stay in session.exec(
        select(Stay).where(Stay.station_id == station_id, col(Stay.ended_at).is_(None))
    ):
        stay.ended_at = at
        session.add(stay)


def inside_since(session: Session, *, rider_id: str, station_id: str) -> float | None:
    stay = session.exec(
        select(Stay).where(
            Stay.rider_id == rider_id, Stay.station_id == station_id, col(Stay.ended_at).is_(None)
        )
    ).first()
    return as_utc(stay.entered_at).timestamp() if stay else None


def open_stays(session: Session, *, station_id: str) -> list[Stay]:
    return list(
        session.exec(
            select(Stay).where(Stay.station_id == station_id, col(Stay.ended_at).is_(None))
        )
    )


# -- alarms and the audit trail ---------------------------------------------------------------
def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    station_id: str | None = None,
    rider_id: str | None = None,
    reason: str = "",
    detail: str = "",
) -> None:
    """Added to the caller's transaction: the audit entry commits with the change it records."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            station_id=station_id,
            rider_id=rider_id,
            reason=reason,
            detail=detail,
        )
    )


def list_audit(
    session: Session, *, station_id: str | None = None, limit: int = 50, offset: int = 0
) -> list[AuditEntry]:
    statement = select(AuditEntry)
    if station_id is not None:
        statement = statement.where(AuditEntry.station_id == station_id)
    statement = statement.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return list(session.exec(statement.offset(offset).limit(limit)))


def list_alarms(
    session: Session,
    *,
    station_id: str | None = None,
    unacknowledged: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[Alarm]:
    statement = select(Alarm)
    if station_id is not None:
        statement = statement.where(Alarm.station_id == station_id)
    if unacknowledged:
        statement = statement.where(col(Alarm.acknowledged_at).is_(None))
    statement = statement.order_by(col(Alarm.raised_at).desc(), col(Alarm.id).desc())
    return list(session.exec(statement.offset(offset).limit(limit)))


def active_alarm_counts(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(Alarm.station_id, func.count())
        .where(col(Alarm.acknowledged_at).is_(None))
        .group_by(Alarm.station_id)
    ).all()
    return {station_id: count for station_id, count in rows}


def acknowledge_alarm(session: Session, *, alarm_id: int, by: str, now: datetime) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise NotFoundError(f"no alarm {alarm_id}")
    if alarm.acknowledged_at is not None:
        raise ConflictError(f"alarm {alarm_id} was already acknowledged by {alarm.acknowledged_by}")
    alarm.acknowledged_at, alarm.acknowledged_by = now, by
    session.add(alarm)
    audit(
        session,
        actor=by,
        action="alarm_acknowledged",
        at=now,
        station_id=alarm.station_id,
        detail=f"{alarm.kind} #{alarm.id}",
    )
    session.commit()
    session.refresh(alarm)
    return alarm


def raise_alarm(
    session: Session,
    *,
    station_id: str,
    kind: str,
    at: datetime,
    detail: str = "",
    rider_id: str | None = None,
) -> Alarm:
    """A server-side alarm (welfare, say), in the caller's transaction."""
    alarm = Alarm(station_id=station_id, kind=kind, raised_at=at, detail=detail, rider_id=rider_id)
    session.add(alarm)
    return alarm


_MAX_MISSING_RANGES = 64
_GAP_SCAN_ROWS = 10_000


def _advance_stream(
    session: Session, ack: StreamAck, *, floor: int | None = None
) -> list[tuple[int, int]]:
    """Apply, in order, every stored event the contiguous mark can move over; return the
    ranges still missing. ``floor``: the station says everything below it was acknowledged
    (by this server before a restore, say), so the mark may move up to it regardless."""
    stream = session.get(EventStream, (ack.station_id, ack.epoch))
    if stream is None:
        stream = EventStream(station_id=ack.station_id, epoch=ack.epoch)
    station = session.get(Station, ack.station_id)
    if station is None:
        return []
    if ack.acked:
        stream.highest_seen = max(stream.highest_seen, *ack.acked)
    stored = session.exec(
        select(EventRecord)
        .where(EventRecord.station_id == ack.station_id, EventRecord.epoch == ack.epoch)
        .where(col(EventRecord.seq) > stream.contiguous_through)
        .order_by(col(EventRecord.seq))
        .limit(_GAP_SCAN_ROWS)
    ).all()
    if floor is not None and floor - 1 > stream.contiguous_through:
        for record in stored:  # stored beyond a gap that will never be filled: apply now
            if record.seq < floor and not record.applied:
                _apply_effects(session, station, record)
        stream.contiguous_through = floor - 1
        stream.highest_seen = max(stream.highest_seen, floor - 1)
    missing: list[tuple[int, int]] = []
    expected = stream.contiguous_through + 1
    for record in stored:
        if record.seq < expected:
            continue
        if record.seq > expected and len(missing) < _MAX_MISSING_RANGES:
            missing.append((expected, record.seq - 1))
        if not missing and record.seq == expected:
            stream.contiguous_through = record.seq
            if not record.applied:
                _apply_effects(session, station, record)
        expected = record.seq + 1
    session.add(station)
    session.add(stream)
    return missing


def get_stream(session: Session, *, station_id: str, epoch: str) -> EventStream | None:
    return session.get(EventStream, (station_id, epoch))


def record_heartbeat(session: Session, *, heartbeat: Heartbeat, now: datetime) -> bool:
    """Store what a heartbeat says; a station marked unavailable for silence comes back."""
    station = session.get(Station, heartbeat.station_id)
    if station is None:
        return False
    station.last_heartbeat_at = now
    station.heartbeat_interval_s = heartbeat.interval_s
    station.camera_ok = heartbeat.camera_ok
    station.outbox_depth = heartbeat.outbox_depth
    station.offline_refusal = heartbeat.offline_refusal.value if heartbeat.offline_refusal else None
    if heartbeat.epoch is not None and heartbeat.outbox_floor is not None:
        stream = session.get(EventStream, (station.id, heartbeat.epoch))
        if stream is not None and heartbeat.outbox_floor - 1 > stream.contiguous_through:
            ack = StreamAck(station.id, heartbeat.epoch)
            _advance_stream(session, ack, floor=heartbeat.outbox_floor)
    if not station.online and station.session_id == heartbeat.session_id:
        station.online, station.online_changed_at, station.offline_reason = True, now, None
    session.add(station)
    return True


MISSED_HEARTBEATS = 3


def mark_silent_stations(session: Session, *, now: datetime) -> list[str]:
    """Stations online by their birth message but silent for several heartbeat intervals.

    They are marked offline since their last heartbeat (the broker's last will can take a
    keepalive and a half to come; a hung agent never sends one).
    """
    marked = []
    statement = select(Station).where(
        col(Station.online).is_(True), col(Station.last_heartbeat_at).is_not(None)
    )
    for station in session.exec(statement):
        if station.last_heartbeat_at is None or station.heartbeat_interval_s is None:
            continue
        last = as_utc(station.last_heartbeat_at)
        if now - last > timedelta(seconds=MISSED_HEARTBEATS * station.heartbeat_interval_s):
            station.online, station.online_changed_at = False, last
            station.offline_reason = "heartbeat_missed"
            session.add(station)
            marked.append(station.id)
    session.commit()
    return marked


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
