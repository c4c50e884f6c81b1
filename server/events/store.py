"""Storing what stations report: each event once, one INSERT per batch in one transaction, and
each outbox stream (station, epoch) advanced in sequence order under a lock on its row,
applying the events' effects as the contiguous mark moves over them. What to acknowledge, and
what is still missing, comes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Executable, String, Table, bindparam, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from protocol.payloads import EventKind, StationEvent
from server.access.models import UsedNonce
from server.access.repo import NONCE_KEEP_S
from server.events.effects import apply_effects
from server.events.models import EventRecord, EventStream
from server.stations.models import Station

_MAX_MISSING_RANGES = 64
_GAP_SCAN_ROWS = 10_000
_EVENT: Table = EventRecord.__table__  # type: ignore[attr-defined]
_STREAM: Table = EventStream.__table__  # type: ignore[attr-defined]
_NONCE: Table = UsedNonce.__table__  # type: ignore[attr-defined]
_STATION: Table = Station.__table__  # type: ignore[attr-defined]


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

    One INSERT ... ON CONFLICT DO NOTHING for the whole batch: duplicates (stored before, by
    this worker or another) are acknowledged again without effect; events of unknown
    stations are neither stored nor acknowledged. Returns, per stream, the seqs to acknowledge
    (only valid after this function's commit) and the ranges still missing below the highest
    seq seen.
    """
    ordered = sorted(events, key=lambda e: (e.station_id, e.epoch, e.seq))
    station_ids = sorted({event.station_id for event in ordered})
    known = set(session.exec(select(Station.id).where(col(Station.id).in_(station_ids))).all())
    acks: dict[tuple[str, str], StreamAck] = {}
    rows: dict[str, dict[str, object]] = {}
    for event in ordered:
        if event.station_id not in known:
            continue
        key = (event.station_id, event.epoch)
        acks.setdefault(key, StreamAck(*key)).acked.append(event.seq)
        rows.setdefault(event.event_id, _row(event, received_at))
    if rows:
        # Rows in (station, epoch, seq) order: two workers storing overlapping batches take
        # their index locks in the same order, so one waits for the other, never deadlocks.
        session.execute(_insert_ignoring_duplicates(session, _EVENT, list(rows.values())))
        _claim_offline_nonces(session, ordered, known)
        _touch_last_event(session, ordered, known)
    for key in sorted(acks):
        acks[key].missing = advance_stream(session, acks[key])
    session.commit()
    return [acks[key] for key in sorted(acks)]


def _row(event: StationEvent, received_at: datetime) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "station_id": event.station_id,
        "epoch": event.epoch,
        "seq": event.seq,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "rider_id": event.rider_id,
        "request_id": event.request_id,
        "reason": event.reason.value if event.reason else None,
        "decided_by": event.decided_by.value if event.decided_by else None,
        "passage": event.passage.value if event.passage else None,
        "suppressed": event.suppressed,
        "nonce": event.nonce,
        "alarm": event.alarm,
        "detail": event.detail,
        "command_id": event.command_id,
        "applied": False,
    }


def _insert_ignoring_duplicates(
    session: Session, table: Table, rows: list[dict[str, object]]
) -> Executable:
    """One multi-row INSERT that skips rows clashing with any unique key (both dialects)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(rows).on_conflict_do_nothing()


def _claim_offline_nonces(
    session: Session, events: Sequence[StationEvent], known: set[str]
) -> None:
    """An entry the station decided offline uses its code up everywhere, too."""
    claims = {
        event.nonce: {
            "nonce": event.nonce,
            "request_id": event.request_id or event.event_id,
            "station_id": event.station_id,
            "expires_at": event.occurred_at + timedelta(seconds=NONCE_KEEP_S),
        }
        for event in events
        if event.kind is EventKind.ACCESS_GRANTED
        and event.nonce is not None
        and event.station_id in known
    }
    if claims:
        rows = [claims[nonce] for nonce in sorted(claims)]
        session.execute(_insert_ignoring_duplicates(session, _NONCE, rows))


def _touch_last_event(session: Session, events: Sequence[StationEvent], known: set[str]) -> None:
    latest: dict[str, datetime] = {}
    for event in events:
        if event.station_id in known:
            latest[event.station_id] = max(
                latest.get(event.station_id, event.occurred_at), event.occurred_at
            )
    at = bindparam("b_at", type_=DateTime(timezone=True))
    statement = (
        update(_STATION)
        .where(_STATION.c.id == bindparam("b_id", type_=String()))
        .where(or_(_STATION.c.last_event_at.is_(None), _STATION.c.last_event_at < at))
        .values(last_event_at=at)
    )
    rows = [{"b_id": station_id, "b_at": latest[station_id]} for station_id in sorted(latest)]
    session.connection().execute(statement, rows)


def advance_stream(
    session: Session, ack: StreamAck, *, floor: int | None = None
) -> list[tuple[int, int]]:
    """Apply, in order, every stored event the contiguous mark can move over; return the
    ranges still missing. ``floor``: the station says everything below it was acknowledged
    (by this server before a restore, say), so the mark may move up to it regardless."""
    # The stream's row, locked to the end of the transaction (SELECT ... FOR UPDATE on
    # PostgreSQL; on SQLite every caller has written first, so holds the database's write
    # lock): two workers never apply the same event's effects twice. A new stream's row is
    # made first (two workers racing to make it: one waits for the other's).
    stream = _locked_stream(session, ack)
    if stream is None:
        row: dict[str, object] = {"station_id": ack.station_id, "epoch": ack.epoch}
        session.execute(_insert_ignoring_duplicates(session, _STREAM, [row]))
        stream = _locked_stream(session, ack)
        assert stream is not None  # made just now, or by the worker we waited for
    station = session.get(Station, ack.station_id, with_for_update=True, populate_existing=True)
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
                apply_effects(session, station, record)
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
                apply_effects(session, station, record)
        expected = record.seq + 1
    session.add(station)
    session.add(stream)
    return missing


def _locked_stream(session: Session, ack: StreamAck) -> EventStream | None:
    return session.exec(
        select(EventStream)
        .where(EventStream.station_id == ack.station_id, EventStream.epoch == ack.epoch)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def get_stream(session: Session, *, station_id: str, epoch: str) -> EventStream | None:
    return session.get(EventStream, (station_id, epoch))
