"""Storing what stations report: each event once, in one transaction per batch, and each
outbox stream (station, epoch) advanced in sequence order, applying the events' effects as the
contiguous mark moves over them. What to acknowledge, and what is still missing, comes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from protocol.payloads import EventKind, StationEvent
from server.access.models import UsedNonce
from server.access.repo import NONCE_KEEP_S
from server.core.localtime import as_utc
from server.events.effects import apply_effects
from server.events.models import EventRecord, EventStream
from server.stations.models import Station

_MAX_MISSING_RANGES = 64
_GAP_SCAN_ROWS = 10_000


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
        ack.missing = advance_stream(session, ack)
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


def advance_stream(
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


def get_stream(session: Session, *, station_id: str, epoch: str) -> EventStream | None:
    return session.get(EventStream, (station_id, epoch))
