"""Storing what stations report: each event once, one INSERT per batch in one transaction, and
each outbox stream (station, epoch) advanced in sequence order under a lock on its row,
applying the events' effects as the contiguous mark moves over them. What to acknowledge, and
what is still missing, comes back. A batch costs a fixed number of statements, not one per
event or per stream: the pure ``server.events.fold`` decides, this module reads and writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import (
    Insert,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    tuple_,
    update,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from protocol.payloads import EventKind, StationEvent
from server.access.models import UsedNonce
from server.access.repo import NONCE_KEEP_S
from server.core.localtime import as_utc
from server.events.effects import fold_and_write
from server.events.fold import Mark, Pending, StationState, advance
from server.events.models import EventRecord, EventStream
from server.reports import tally
from server.stations.models import Station

_GAP_SCAN_SEQS = 10_000
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
    stations are neither stored nor acknowledged. The events really inserted are added to the
    stored totals (``server.reports.tally``) before the commit. Returns, per stream, the seqs
    to acknowledge (only valid after this function's commit) and the ranges still missing
    below the highest seq seen.
    """
    ordered = sorted(events, key=lambda e: (e.station_id, e.epoch, e.seq))
    stations = lock_stations(session, {event.station_id for event in ordered})
    known = set(stations)
    acks: dict[tuple[str, str], StreamAck] = {}
    rows: dict[str, dict[str, object]] = {}
    inserted: dict[str | None, int] = {}
    for event in ordered:
        if event.station_id not in known:
            continue
        key = (event.station_id, event.epoch)
        acks.setdefault(key, StreamAck(*key)).acked.append(event.seq)
        rows.setdefault(event.event_id, _row(event, received_at))
    if rows:
        # Rows in (station, epoch, seq) order: two workers storing overlapping batches take
        # their index locks in the same order, so one waits for the other, never deadlocks.
        inserted = _insert_events(session, list(rows.values()))
        _claim_offline_nonces(session, ordered, known)
    latest: dict[str, datetime] = {}  # each station's newest event: its last_event_at
    for event in ordered:
        if event.station_id in known:
            seen = latest.get(event.station_id)
            latest[event.station_id] = max(seen or event.occurred_at, event.occurred_at)
    missing = advance_streams(
        session, [acks[key] for key in sorted(acks)], stations=stations, last_event=latest
    )
    for key, ack in acks.items():
        ack.missing = missing.get(key, [])
    # The totals, last: their shard's lock is taken after the stations' and streams' locks
    # and held only to the commit. Only the rows really inserted count (not duplicates).
    tally.add(session.connection(), tally.event_counts(inserted))
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
) -> None:
    """Insert the rows in one statement (executemany: compiled once and kept, not rebuilt
    for each batch's number of rows), skipping rows clashing with any unique key."""
    connection = session.connection()
    connection.execute(_ignoring_insert(connection.dialect.name, table), rows)


def _insert_events(session: Session, rows: list[dict[str, object]]) -> dict[str | None, int]:
    """``_insert_ignoring_duplicates`` for events, telling how many rows were really inserted
    of each kind the totals count (``tally.counted_as``): one executemany per kind, whose row
    count is what it inserted (a duplicate adds none). Not ``RETURNING``: SQLAlchemy then
    renders multi-row INSERTs for PostgreSQL, 40 % more CPU per event (measured,
    docs/benchmarks.md). The station rows are locked already, so the order of the kinds
    cannot make two workers wait on each other."""
    kinds: dict[str | None, list[dict[str, object]]] = {}
    for row in rows:  # each kind's rows stay in (station, epoch, seq) order
        kinds.setdefault(tally.counted_as(row), []).append(row)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # psycopg's own executemany (one pipeline): its row count is the sum over the rows.
        return {
            kind: connection.exec_driver_sql(_PG_EVENT_INSERT, kind_rows).rowcount
            for kind, kind_rows in kinds.items()
        }
    insert = _ignoring_insert(connection.dialect.name, _EVENT)
    return {
        kind: connection.execute(insert, kind_rows).rowcount for kind, kind_rows in kinds.items()
    }


_EVENT_COLUMNS = [column.name for column in _EVENT.columns]
# Names from the table itself, none from outside: nothing to quote.
_PG_EVENT_INSERT = (
    f"INSERT INTO event ({', '.join(_EVENT_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(f'%({name})s' for name in _EVENT_COLUMNS)}) ON CONFLICT DO NOTHING"
)


@cache
def _ignoring_insert(dialect: str, table: Table) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


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
        _insert_ignoring_duplicates(session, _NONCE, rows)


def lock_stations(session: Session, station_ids: Iterable[str]) -> dict[str, StationState]:
    """The count and door phase of each of these stations that exists, its row locked to the
    end of the transaction (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one writer)."""
    return {
        row[0]: StationState(row[1], row[2])
        for row in session.execute(
            sql_select(_STATION.c.id, _STATION.c.occupancy, _STATION.c.door_phase)
            .where(_STATION.c.id.in_(sorted(set(station_ids))))
            .order_by(_STATION.c.id)
            .with_for_update()
        )
    }


def advance_stream(
    session: Session, ack: StreamAck, *, floor: int | None = None
) -> list[tuple[int, int]]:
    """One stream's ``advance_streams``: the ranges still missing."""
    key = (ack.station_id, ack.epoch)
    floors = {key: floor} if floor is not None else None
    return advance_streams(session, [ack], floors=floors).get(key, [])


def advance_streams(
    session: Session,
    acks: Sequence[StreamAck],
    *,
    floors: Mapping[tuple[str, str], int] | None = None,
    stations: dict[str, StationState] | None = None,
    last_event: Mapping[str, datetime] | None = None,
) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Apply, in order, every stored event each stream's contiguous mark can move over; the
    ranges still missing, by stream. ``floors``: a station says everything below its floor
    was acknowledged (by this server before a restore, say), so the mark may move up to it
    regardless. ``stations``: their rows, already locked by the caller (``lock_stations``);
    ``last_event``: stations' newest event times to record. A few statements for the whole
    batch (``server.events.fold`` decides)."""
    keys = sorted({(ack.station_id, ack.epoch) for ack in acks})
    # Locks, always stations then streams (as heartbeats and the event insert take them), so
    # two workers on overlapping batches wait for each other and never deadlock: the station
    # rows, then the streams' rows, made first if new. Two workers never apply the same
    # event's effects twice.
    if stations is None:
        stations = lock_stations(session, (station_id for station_id, _ in keys))
    keys = [key for key in keys if key[0] in stations]
    marks = _locked_marks(session, keys)
    if len(marks) < len(keys):  # new streams: made (or waited for, if another worker makes
        new: list[dict[str, object]] = [  # them), then locked as the others
            {"station_id": s, "epoch": e} for s, e in keys if (s, e) not in marks
        ]
        _insert_ignoring_duplicates(session, _STREAM, new)
        marks |= _locked_marks(session, [(str(r["station_id"]), str(r["epoch"])) for r in new])
    stored = _stored_beyond_marks(session, keys)
    acked: dict[tuple[str, str], list[int]] = {}
    for ack in acks:
        acked.setdefault((ack.station_id, ack.epoch), []).extend(ack.acked)
    missing: dict[tuple[str, str], list[tuple[int, int]]] = {}
    to_apply: list[Pending] = []
    moved: list[dict[str, object]] = []
    for key in keys:
        mark = marks[key]
        floor = floors.get(key) if floors else None
        result = advance(mark, stored.get(key, []), acked=acked.get(key, ()), floor=floor)
        missing[key] = result.missing
        to_apply += result.to_apply
        if result.mark != mark:
            moved.append(
                {
                    "b_station": key[0],
                    "b_epoch": key[1],
                    "b_through": result.mark.contiguous_through,
                    "b_highest": result.mark.highest_seen,
                }
            )
    if moved:
        session.connection().execute(_STREAM_UPDATE, moved)
    fold_and_write(session, stations, to_apply, last_event=last_event or {})
    return missing


def _locked_marks(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Mark]:
    if not keys:
        return {}
    return {
        (row[0], row[1]): Mark(row[2], row[3])
        for row in session.execute(
            sql_select(
                _STREAM.c.station_id,
                _STREAM.c.epoch,
                _STREAM.c.contiguous_through,
                _STREAM.c.highest_seen,
            )
            .where(tuple_(_STREAM.c.station_id, _STREAM.c.epoch).in_(keys))
            .order_by(_STREAM.c.station_id, _STREAM.c.epoch)
            .with_for_update()
        )
    }


_STREAM_UPDATE = (
    update(_STREAM)
    .where(_STREAM.c.station_id == bindparam("b_station", type_=String()))
    .where(_STREAM.c.epoch == bindparam("b_epoch", type_=String()))
    .values(
        contiguous_through=bindparam("b_through", type_=Integer()),
        highest_seen=bindparam("b_highest", type_=Integer()),
    )
)


def _stored_beyond_marks(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[Pending]]:
    """Each stream's stored events past its mark (at most _GAP_SCAN_SEQS of seqs past it: a
    stream stuck behind a gap is not read whole every batch), in seq order. One query."""
    stream = _STREAM.alias("s")
    e = _EVENT.c
    rows = session.execute(
        sql_select(
            e.event_id,
            e.station_id,
            e.epoch,
            e.seq,
            e.kind,
            e.occurred_at,
            e.applied,
            e.passage,
            e.rider_id,
            e.alarm,
            e.detail,
            e.command_id,
        )
        .join_from(
            _EVENT,
            stream,
            and_(stream.c.station_id == e.station_id, stream.c.epoch == e.epoch),
        )
        .where(tuple_(e.station_id, e.epoch).in_(keys))
        .where(e.seq > stream.c.contiguous_through)
        .where(e.seq <= stream.c.contiguous_through + _GAP_SCAN_SEQS)
        .order_by(e.station_id, e.epoch, e.seq)
    )
    stored: dict[tuple[str, str], list[Pending]] = {}
    for row in rows:
        stored.setdefault((row[1], row[2]), []).append(
            Pending(
                event_id=row[0],
                station_id=row[1],
                seq=row[3],
                kind=row[4],
                occurred_at=as_utc(row[5]),
                applied=bool(row[6]),
                passage=row[7],
                rider_id=row[8],
                alarm=row[9],
                detail=row[10],
                command_id=row[11],
            )
        )
    return stored


def get_stream(session: Session, *, station_id: str, epoch: str) -> EventStream | None:
    return session.get(EventStream, (station_id, epoch))
