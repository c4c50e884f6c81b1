"""The night check of counts, through the job on a real database (SQLite, then PostgreSQL):
a station closed at that hour whose door has been quiet long enough is set to zero, with the
evidence in the audit trail; a station open at that hour (24 hours, free entry) keeps its
count, and so does a closed one whose door was used lately."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from server.audit.models import AuditEntry
from server.events.models import CountCorrection, EventRecord, Stay
from server.events.occupancy import QUIET_HOUR_ACTOR, QuietHour
from server.jobs.station_jobs import run_station_jobs
from server.stations.models import Station

AT_FOUR = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)  # 04:30 on 2 Dec in Shanghai
DAYTIME = {"weekly": [["08:00", "22:00"]] * 7}


def _station(
    session: Session, station_id: str, count: int, *, hours: object = DAYTIME, **fields: object
) -> None:
    session.add(
        Station(
            id=station_id,
            name=station_id,
            capacity=10,
            occupancy=count,
            opening_hours=json.dumps(hours) if hours is not None else None,
            **fields,
        )
    )
    if count:
        session.add(Stay(station_id=station_id, rider_id=f"r-{station_id}", entered_at=AT_FOUR
                         - timedelta(hours=9)))  # fmt: skip


def _door(session: Session, station_id: str, ago: timedelta, kind: str = "door_opened") -> None:
    at = AT_FOUR - ago
    session.add(
        EventRecord(
            event_id=uuid.uuid4().hex,
            station_id=station_id,
            epoch="e" * 16,
            seq=int(ago.total_seconds()),
            kind=kind,
            occurred_at=at,
            received_at=at,
            passage="exit" if kind == "door_opened" else None,
            applied=True,
        )
    )


def _counts(session: Session) -> dict[str, int]:
    return {s.id: s.occupancy for s in session.exec(select(Station))}


def test_the_night_check_corrects_only_with_evidence(engine: Engine) -> None:
    with Session(engine) as session:
        _station(session, "closed-quiet", 3)
        _door(session, "closed-quiet", timedelta(hours=6))
        _door(session, "closed-quiet", timedelta(hours=7), kind="exit_pressed")
        _station(session, "closed-never-used", 2)
        _station(session, "closed-busy", 2)
        _door(session, "closed-busy", timedelta(hours=6))
        _door(session, "closed-busy", timedelta(minutes=40), kind="door_closed")
        _station(session, "all-day", 4, hours=None)
        _station(session, "night-shelter", 5, hours={"weekly": [["20:00", "08:00"]] * 7})
        _station(session, "typhoon", 6, emergency="typhoon")
        _station(session, "empty", 0)
        session.commit()

        run_station_jobs(session, now=AT_FOUR - timedelta(hours=2))  # 02:30: not the hour
        assert _counts(session)["closed-quiet"] == 3
        run_station_jobs(session, now=AT_FOUR)
        counts = _counts(session)
        assert counts == {
            "closed-quiet": 0,
            "closed-never-used": 0,
            "closed-busy": 2,  # the door was used 40 minutes ago
            "all-day": 4,  # never zero a station open at this hour: people sleep there
            "night-shelter": 5,
            "typhoon": 6,  # free entry is open whatever its hours
            "empty": 0,
        }
        assert {s.last_reconciled_on for s in session.exec(select(Station))} == {"2026-12-02"}
        entries = list(session.exec(select(AuditEntry).where(AuditEntry.actor == QUIET_HOUR_ACTOR)))
        assert {e.station_id for e in entries} == {"closed-quiet", "closed-never-used"}
        quiet = next(e for e in entries if e.station_id == "closed-quiet")
        assert quiet.action == "occupancy_reconciled"
        assert json.loads(quiet.before) == {"occupancy": 3}
        assert json.loads(quiet.after) == {
            "occupancy": 0,
            "closed": True,
            "door_quiet_h": 6.0,
            "door_quiet_min_h": 3.0,
        }
        never = next(e for e in entries if e.station_id == "closed-never-used")
        assert json.loads(never.after)["door_quiet_h"] is None
        corrections = list(session.exec(select(CountCorrection)))
        assert sorted((c.station_id, c.before, c.after) for c in corrections) == [
            ("closed-never-used", 2, 0),
            ("closed-quiet", 3, 0),
        ]
        open_stays = session.exec(select(Stay).where(Stay.ended_at == None)).all()  # noqa: E711
        assert sorted(s.station_id for s in open_stays) == [
            "all-day",
            "closed-busy",
            "night-shelter",
            "typhoon",
        ]

        # Once a night: later in the hour, nothing more happens.
        station = session.get(Station, "closed-busy")
        assert station is not None
        station.occupancy = 9
        session.add(station)
        session.commit()
        run_station_jobs(session, now=AT_FOUR + timedelta(minutes=20))
        assert _counts(session)["closed-busy"] == 9


def test_the_quiet_door_needed_is_the_deployments_setting(engine: Engine) -> None:
    strict = QuietHour(door_quiet=timedelta(hours=8))
    with Session(engine) as session:
        _station(session, "closed-quiet", 3)
        _door(session, "closed-quiet", timedelta(hours=6))
        session.commit()
        run_station_jobs(session, now=AT_FOUR, quiet=strict)
        assert _counts(session)["closed-quiet"] == 3
        assert session.exec(select(AuditEntry)).all() == []
