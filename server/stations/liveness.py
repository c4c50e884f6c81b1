"""Whether stations are alive, in bulk: a batch of heartbeats is one UPDATE statement (on
PostgreSQL one statement over arrays of the batch's values, its rows locked first in station
order; on SQLite one statement run for every row, executemany, in the process), and stations
gone silent are marked offline by one UPDATE that the database evaluates, not by loading
every station each second."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
    text,
    update,
)
from sqlmodel import Session

from protocol.payloads import Heartbeat
from server.events.models import EventStream
from server.events.store import StreamAck, advance_streams
from server.stations.models import Station

MISSED_HEARTBEATS = 3
_STATION = Station.__table__  # type: ignore[attr-defined]
_STREAM = EventStream.__table__  # type: ignore[attr-defined]


def latest_per_station(heartbeats: Sequence[Heartbeat]) -> list[Heartbeat]:
    """The newest heartbeat of each station, in station order (so that every writer takes
    its row locks in the same order, and two batches cannot deadlock)."""
    newest: dict[str, Heartbeat] = {}
    for heartbeat in heartbeats:
        seen = newest.get(heartbeat.station_id)
        if seen is None or seen.sent_at <= heartbeat.sent_at:
            newest[heartbeat.station_id] = heartbeat
    return [newest[station_id] for station_id in sorted(newest)]


def _heartbeat_update() -> object:
    comes_back = and_(
        _STATION.c.online.is_(False),
        _STATION.c.session_id == bindparam("b_session", type_=String()),
    )
    now = bindparam("b_now", type_=DateTime(timezone=True))
    return (
        update(_STATION)
        .where(_STATION.c.id == bindparam("b_id", type_=String()))
        .values(
            last_heartbeat_at=now,
            heartbeat_interval_s=bindparam("b_interval", type_=Float()),
            camera_ok=bindparam("b_camera_ok", type_=Boolean()),
            outbox_depth=bindparam("b_outbox_depth", type_=Integer()),
            offline_refusal=bindparam("b_refusal", type_=String()),
            config_error=bindparam("b_config_error", type_=String()),
            not_ready=bindparam("b_not_ready", type_=String()),
            # Server minus station, as the station measured it from its last decisions.
            clock_offset_s=func.coalesce(
                bindparam("b_offset", type_=Float()), _STATION.c.clock_offset_s
            ),
            # A station marked offline for silence comes back with its own session's heartbeat.
            online=case((comes_back, True), else_=_STATION.c.online),
            online_changed_at=case((comes_back, now), else_=_STATION.c.online_changed_at),
            offline_reason=case((comes_back, null()), else_=_STATION.c.offline_reason),
        )
    )


_HEARTBEAT_UPDATE = _heartbeat_update()

# PostgreSQL: the batch as one statement over arrays, so that the database plans and runs one
# statement per batch, not one per station (3,100 a second at the national peak). The rows
# are locked in station order first (as ``events.store.lock_stations`` does): an UPDATE joined
# to an array locks in its plan's order, and two workers must never lock in two orders.
_LOCK_PG = text("SELECT id FROM station WHERE id = ANY(:ids) ORDER BY id FOR UPDATE")
_HEARTBEATS_PG = text("""
UPDATE station AS s SET
  last_heartbeat_at = :now,
  heartbeat_interval_s = b.interval_s,
  camera_ok = b.camera_ok,
  outbox_depth = b.outbox_depth,
  offline_refusal = b.refusal,
  config_error = b.config_error,
  not_ready = b.not_ready,
  clock_offset_s = coalesce(b.offset_s, s.clock_offset_s),
  online = CASE WHEN NOT s.online AND s.session_id = b.session_id THEN true ELSE s.online END,
  online_changed_at = CASE WHEN NOT s.online AND s.session_id = b.session_id
                           THEN :now ELSE s.online_changed_at END,
  offline_reason = CASE WHEN NOT s.online AND s.session_id = b.session_id
                        THEN NULL ELSE s.offline_reason END
FROM unnest(
  CAST(:id AS text[]), CAST(:session AS text[]), CAST(:interval AS float8[]),
  CAST(:camera_ok AS boolean[]), CAST(:outbox_depth AS integer[]), CAST(:refusal AS text[]),
  CAST(:offset AS float8[]), CAST(:config_error AS text[]), CAST(:not_ready AS text[])
) AS b(id, session_id, interval_s, camera_ok, outbox_depth, refusal, offset_s, config_error,
       not_ready)
WHERE s.id = b.id
""")


def record_heartbeats(session: Session, *, heartbeats: Sequence[Heartbeat], now: datetime) -> int:
    """Store what a batch of heartbeats says (the newest per station) in one statement; move
    event streams up to the floor a station reports. Returns how many named no known station
    (when the driver can tell). The caller commits."""
    newest = latest_per_station(heartbeats)
    if not newest:
        return 0
    values = [_stored(h) for h in newest]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = {name: [row[name] for row in values] for name in values[0]}
        connection.execute(_LOCK_PG, {"ids": columns["id"]})
        result = connection.execute(_HEARTBEATS_PG, {"now": now, **columns})
        unknown = len(newest) - result.rowcount
    else:
        rows = [{"b_now": now, **{f"b_{name}": v for name, v in row.items()}} for row in values]
        result = connection.execute(_HEARTBEAT_UPDATE, rows)  # type: ignore[call-overload]
        unknown = 0
        if connection.dialect.supports_sane_multi_rowcount and result.rowcount >= 0:
            unknown = len(rows) - result.rowcount
    _advance_to_floors(session, newest)
    return unknown


def _stored(h: Heartbeat) -> dict[str, object]:
    """What a heartbeat sets on its station's row, by the statements' parameter names."""
    return {
        "id": h.station_id,
        "session": h.session_id,
        "interval": h.interval_s,
        "camera_ok": h.camera_ok,
        "outbox_depth": h.outbox_depth,
        "refusal": h.offline_refusal.value if h.offline_refusal else None,
        "offset": h.clock_offset_s,
        "config_error": h.config_error,
        "not_ready": ",".join(h.not_ready) or None,
    }


def _advance_to_floors(session: Session, heartbeats: Sequence[Heartbeat]) -> None:
    """A station says every seq below its floor was acknowledged (by this server before a
    restore, say): streams stuck below it move up. Rare; one query finds them."""
    floors = {
        (h.station_id, h.epoch): h.outbox_floor
        for h in heartbeats
        if h.epoch is not None and h.outbox_floor is not None
    }
    if not floors:
        return
    streams = session.execute(
        select(_STREAM.c.station_id, _STREAM.c.epoch, _STREAM.c.contiguous_through).where(
            _STREAM.c.station_id.in_(sorted({station_id for station_id, _ in floors}))
        )
    ).all()
    behind = {
        (station_id, epoch): floors[(station_id, epoch)]
        for station_id, epoch, contiguous_through in streams
        if (station_id, epoch) in floors and floors[(station_id, epoch)] - 1 > contiguous_through
    }
    if behind:
        acks = [StreamAck(station_id, epoch) for station_id, epoch in sorted(behind)]
        advance_streams(session, acks, floors=behind)


def _overdue(session: Session, now: datetime) -> ColumnElement[bool]:
    """Last heartbeat more than MISSED_HEARTBEATS of its own intervals before ``now``."""
    last, interval = _STATION.c.last_heartbeat_at, _STATION.c.heartbeat_interval_s
    at = bindparam("now", now, type_=DateTime(timezone=True))
    if session.get_bind().dialect.name == "postgresql":
        window = literal_column("interval '1 second'") * (MISSED_HEARTBEATS * interval)
        return cast(ColumnElement[bool], last + window < at)
    days = MISSED_HEARTBEATS * interval / 86_400.0
    return cast(ColumnElement[bool], func.julianday(last) + days < func.julianday(at))


def mark_silent_stations(session: Session, *, now: datetime) -> list[str]:
    """Stations online by their birth message but silent for several heartbeat intervals.

    They are marked offline since their last heartbeat (the broker's last will can take a
    keepalive and a half to come; a hung agent never sends one). Commits.
    """
    # The rows are locked in id order, as heartbeat and event batches lock them, and a row a
    # batch holds is skipped: a station whose heartbeat is being stored is not silent. An
    # UPDATE alone would lock them in the table's physical order, and could deadlock with a
    # batch (PostgreSQL then cancels one of the two after a second). SQLite has one writer.
    silent = (
        select(_STATION.c.id)
        .where(
            _STATION.c.online.is_(True),
            _STATION.c.last_heartbeat_at.is_not(None),
            _STATION.c.heartbeat_interval_s.is_not(None),
            _overdue(session, now),
        )
        .order_by(_STATION.c.id)
        .with_for_update(skip_locked=True)
        .cte("silent")
        .prefix_with("MATERIALIZED", dialect="postgresql")  # locked first, whole
    )
    statement = (
        update(_STATION)
        .where(_STATION.c.id.in_(select(silent.c.id)))
        .values(
            online=False,
            online_changed_at=_STATION.c.last_heartbeat_at,
            offline_reason="heartbeat_missed",
        )
        .returning(_STATION.c.id)
    )
    marked = sorted(session.execute(statement).scalars())
    session.commit()
    return marked
