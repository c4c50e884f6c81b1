"""The dashboard's API against the real server: the figures it computes from stored events,
the live stream, and bad input (401, 403, 404, 422, 429) that changes nothing."""

from __future__ import annotations

import csv
import io
import json
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, func, select

from demo.broker import PrivateBroker
from demo.processes import free_port
from demo.server_process import ServerProcess
from server.alarms.models import Alarm
from server.audit.models import AuditEntry
from server.core.db import init_db, make_engine
from server.core.errors import ErrorCode
from server.core.localtime import as_utc
from server.events.models import CountCorrection, EventRecord
from server.reports.overview import LiveReader
from server.riders.models import Rider
from server.staff.models import StaffSession
from server.stations.models import Station
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD
from tests.support.stack import ServerHarness, unique_station_id

VIEWER_PASSWORD = "viewer-password-1"


def _event(station_id: str, seq: int, at: datetime, **fields: object) -> EventRecord:
    return EventRecord(
        event_id=uuid.uuid4().hex,
        station_id=station_id,
        epoch="e1",
        seq=seq,
        occurred_at=at,
        received_at=at,
        applied=True,
        **fields,
    )


def _store(server: ServerHarness, *rows: object) -> None:
    with Session(server.services.engine) as session:
        for row in rows:
            session.add(row)
        session.commit()


def _count(server: ServerHarness, table: type) -> int:
    with Session(server.services.engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


@pytest.fixture
def anonymous(server: ServerHarness) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.client.base_url, timeout=10) as client:
        yield client


@contextmanager
def _login(server: ServerHarness, username: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.client.base_url, timeout=10) as client:
        reply = client.post("/api/auth/login", json={"username": username, "password": password})
        assert reply.status_code == 200, reply.text
        client.headers["X-CSRF-Token"] = reply.json()["csrf_token"]  # a browser, with its cookie
        yield client


# -- the figures --------------------------------------------------------------------------------
@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_events_page_filter_and_csv(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    base = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    _store(
        server,
        *[
            _event(
                station_id,
                i + 1,
                base + timedelta(minutes=i),
                kind="door_opened",
                passage="entry",
                rider_id=f"r-{i % 3}",
            )
            for i in range(7)
        ],
        _event(
            station_id,
            8,
            base + timedelta(minutes=8),
            kind="access_denied",
            reason="revoked",
            detail="=cmd()",
        ),
    )

    page = server.client.get("/api/events", params={"station_id": station_id, "limit": 3})
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (8, 3, 0)
    assert [e["seq"] for e in body["items"]] == [8, 7, 6]  # newest first
    second = server.client.get(
        "/api/events", params={"station_id": station_id, "limit": 3, "offset": 3}
    ).json()
    assert [e["seq"] for e in second["items"]] == [5, 4, 3]

    denied = server.client.get(
        "/api/events", params={"station_id": station_id, "kind": "access_denied"}
    ).json()
    assert [e["reason"] for e in denied["items"]] == ["revoked"]
    window = server.client.get(
        "/api/events",
        params={
            "station_id": station_id,
            "since": "2026-11-20T10:02:00",  # China time when no zone is given
            "until": (base + timedelta(minutes=4)).isoformat(),
        },
    ).json()
    assert [e["seq"] for e in window["items"]] == [4, 3]

    exported = server.client.get("/api/events.csv", params={"station_id": station_id})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["occurred_at", "station_id", "kind"]
    assert len(rows) == 9
    assert rows[1][0] == "2026-11-20T10:00:00+08:00"
    assert rows[8][8] == "'=cmd()"  # a spreadsheet must not run it as a formula


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_reports_count_visits_riders_and_local_hours(server: ServerHarness) -> None:
    a, b = unique_station_id(), unique_station_id()
    server.add_station(a)
    server.add_station(b)
    # 2026-11-23 is a Monday. 23:30 UTC on the 23rd is 07:30 on the 24th in Shanghai.
    day1 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 local, Monday 23rd
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 07:30 local, Tuesday 24th
    _store(
        server,
        _event(a, 1, day1, kind="door_opened", passage="entry", rider_id="r-1"),
        _event(
            a, 2, day1 + timedelta(minutes=5), kind="door_opened", passage="entry", rider_id="r-1"
        ),
        _event(a, 3, day1 + timedelta(minutes=6), kind="door_opened", passage="exit"),
        _event(a, 4, late, kind="door_opened", passage="entry", rider_id="r-2"),
        _event(b, 1, day1, kind="door_opened", passage="entry", rider_id=None),
        _event(b, 2, day1, kind="access_granted", rider_id="r-3"),
    )
    params = {"since": "2026-11-23", "until": "2026-11-29"}

    daily = server.client.get("/api/reports/visits", params={**params, "period": "day"})
    assert daily.status_code == 200, daily.text
    rows = {(r["station_id"], r["period_start"]): r for r in daily.json()["rows"]}
    assert rows[(a, "2026-11-23")]["visits"] == 2
    assert rows[(a, "2026-11-23")]["unique_riders"] == 1
    assert rows[(a, "2026-11-24")]["visits"] == 1  # counted on the local day
    assert rows[(b, "2026-11-23")] | {"unique_riders": 0} == rows[(b, "2026-11-23")]
    weekly = server.client.get("/api/reports/visits", params={**params, "period": "week"}).json()
    week_a = next(r for r in weekly["rows"] if r["station_id"] == a)
    assert (week_a["period_start"], week_a["visits"], week_a["unique_riders"]) == (
        "2026-11-23",
        3,
        2,
    )

    peaks = server.client.get("/api/reports/peak-hours", params=params).json()
    by_hour = {h["hour"]: h["visits"] for h in peaks["hours"]}
    assert len(by_hour) == 24
    assert (by_hour[9], by_hour[7], by_hour[1]) == (3, 1, 0)

    exported = server.client.get("/api/reports/visits.csv", params={**params, "period": "day"})
    assert exported.status_code == 200
    lines = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert lines[0] == ["period_start", "station_id", "station_name", "visits", "unique_riders"]
    assert [a, a] == [row[1] for row in lines[1:] if row[1] == a]
    hours_csv = server.client.get("/api/reports/peak-hours.csv", params=params)
    assert hours_csv.text.lstrip("\ufeff").splitlines()[10] == "9,3"


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_occupancy_history_rebuilds_the_count(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    now = datetime.now(UTC)
    _store(
        server,
        _event(station_id, 1, now - timedelta(hours=3), kind="door_opened", passage="entry"),
        _event(station_id, 2, now - timedelta(hours=2), kind="door_opened", passage="entry"),
        _event(station_id, 3, now - timedelta(hours=1), kind="door_opened", passage="exit"),
    )
    with Session(server.services.engine) as session:  # as the consumer would have counted
        station = session.get(Station, station_id)
        assert station is not None
        station.occupancy = 1
        session.add(station)
        session.commit()

    day = server.client.get(f"/api/stations/{station_id}/occupancy-history").json()
    assert (day["range"], day["step_s"], day["capacity"]) == ("24h", 300, 10)
    assert 288 <= len(day["points"]) <= 289
    values = [p["occupancy"] for p in day["points"]]
    changes = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    assert changes == [0, 1, 2, 1]

    server.client.post(
        f"/api/stations/{station_id}/occupancy", json={"target": 3, "reason": "counted"}
    ).raise_for_status()
    corrected = server.client.get(f"/api/stations/{station_id}/occupancy-history").json()
    values = [p["occupancy"] for p in corrected["points"]]
    changes = [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
    assert changes == [0, 1, 2, 1, 3]  # the correction shows when it was made
    week = server.client.get(
        f"/api/stations/{station_id}/occupancy-history", params={"range": "7d"}
    ).json()
    assert week["step_s"] == 3600
    assert [p["peak"] for p in week["points"]][-5:-1].count(2) >= 1
    assert week["points"][-1]["occupancy"] == 3

    # The correction is stored as values, not as audit text for the history to re-parse.
    with Session(server.services.engine) as session:
        [correction] = session.exec(
            select(CountCorrection).where(CountCorrection.station_id == station_id)
        ).all()
        assert (correction.before, correction.after) == (1, 3)
        assert (correction.source, correction.reason) == ("staff", "counted")
        assert correction.actor == "admin"
        [entry] = session.exec(
            select(AuditEntry).where(
                AuditEntry.station_id == station_id, AuditEntry.action == "occupancy_corrected"
            )
        ).all()
        entry.detail = "edited by hand"  # the trail's wording is for people, not for figures
        session.add(entry)
        session.commit()
    again = server.client.get(f"/api/stations/{station_id}/occupancy-history").json()
    assert again["points"] == corrected["points"]


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_rider_search(server: ServerHarness) -> None:
    tag = uuid.uuid4().hex[:6]
    for name in (f"Wang {tag}", f"wang_{tag}", "Li"):
        server.client.post("/api/riders", json={"display_name": name}).raise_for_status()
    found = server.client.get("/api/riders", params={"q": f"WANG {tag}"}).json()
    assert [r["display_name"] for r in found["items"]] == [f"Wang {tag}"]
    underscore = server.client.get("/api/riders", params={"q": f"_{tag}"}).json()
    assert [r["display_name"] for r in underscore["items"]] == [f"wang_{tag}"]  # not a wildcard
    by_id = found["items"][0]["id"]
    assert server.client.get("/api/riders", params={"q": by_id}).json()["total"] == 1
    everyone = server.client.get("/api/riders", params={"limit": 2}).json()
    assert (everyone["total"], len(everyone["items"])) == (3, 2)


def test_station_pages_and_counts_over_http(server: ServerHarness) -> None:
    ids = sorted(unique_station_id() for _ in range(3))
    for station_id in ids:
        server.add_station(station_id, capacity=2)
    with Session(server.services.engine) as session:
        full = session.get_one(Station, ids[2])
        full.occupancy = 2
        session.add(full)
        session.add(Alarm(station_id=ids[1], kind="forced_open", raised_at=datetime.now(UTC)))
        session.commit()
    page = server.client.get("/api/stations", params={"limit": 2}).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [s["id"] for s in page["items"]] == ids[:2]
    assert page["items"][1]["active_alarms"] == 1
    problems = server.client.get("/api/stations", params={"sort": "problems"}).json()
    # All offline: the one with an alarm, then the full one, then the rest.
    assert [s["id"] for s in problems["items"]] == [ids[1], ids[2], ids[0]]
    full_only = server.client.get("/api/stations", params={"state": "full"}).json()
    assert [s["id"] for s in full_only["items"]] == [ids[2]]
    found = server.client.get("/api/stations", params={"q": ids[0][-5:].upper()}).json()
    assert [s["id"] for s in found["items"]] == [ids[0]]
    summary = server.client.get("/api/summary").json()
    assert summary | {"events_stored": 0, "decisions": 0} == {
        "stations": 3,
        "stations_online": 0,
        "stations_offline": 3,
        "stations_with_alarms": 1,
        "alarms_open": 1,
        "stations_full": 1,
        "stations_nearly_full": 0,
        "stations_lockdown": 0,
        "stations_maintenance": 0,
        "occupancy": 2,
        "events_stored": 0,
        "entries": 0,
        "exits": 0,
        "denials": 0,
        "decisions": 0,
    }
    overview = server.client.get("/", params={"state": "full"})
    assert overview.status_code == 200
    assert overview.text.count("<tr data-station=") == 1
    assert 'data-count="stations_full">1<' in overview.text


def test_stream_sends_every_row_then_changes(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    with server.client.stream("GET", "/api/stream") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        lines = reply.iter_lines()

        def next_rows() -> list[dict[str, object]]:
            for line in lines:
                if line.startswith("data: "):
                    rows: list[dict[str, object]] = json.loads(line[6:])
                    return rows
            raise AssertionError("the stream ended")

        [first] = next_rows()
        assert (first["id"], first["occupancy"], first["active_alarms"]) == (station_id, 0, 0)
        _store(
            server, Alarm(station_id=station_id, kind="forced_open", raised_at=datetime.now(UTC))
        )
        [changed] = next_rows()
        assert (changed["id"], changed["active_alarms"]) == (station_id, 1)


# -- bad input --------------------------------------------------------------------------------
READS = [
    "/api/events",
    "/api/events.csv",
    "/api/riders",
    "/api/reports/visits",
    "/api/reports/visits.csv",
    "/api/reports/peak-hours",
    "/api/reports/peak-hours.csv",
    "/api/stream",
]


def test_reads_need_a_login(server: ServerHarness, anonymous: httpx.Client) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    for path in [*READS, f"/api/stations/{station_id}/occupancy-history"]:
        reply = anonymous.get(path)
        assert reply.status_code == 401, path
        assert reply.json() == {"detail": "log in first", "code": "login_required", "values": {}}
    for page in ("/", "/riders", "/reports", f"/stations/{station_id}"):
        reply = anonymous.get(page)
        assert reply.status_code == 303, page
        assert reply.headers["location"] == f"/login?next={page}"


BAD_QUERIES: list[tuple[str, dict[str, object], str]] = [
    ("/api/events", {"limit": 0}, "greater than or equal to 1"),
    ("/api/events", {"limit": 201}, "less than or equal to 200"),
    ("/api/events", {"offset": -1}, "greater than or equal to 0"),
    ("/api/events", {"kind": "party"}, "'access_granted'"),
    ("/api/events", {"since": "yesterday"}, "valid datetime"),
    ("/api/events", {"since": "2026-11-02", "until": "2026-11-01"}, "'since' must be earlier"),
    ("/api/events.csv", {"until": "soon"}, "valid datetime"),
    ("/api/riders", {"q": "x" * 81}, "at most 80 characters"),
    ("/api/riders", {"limit": "many"}, "valid integer"),
    ("/api/reports/visits", {"period": "month"}, "'day' or 'week'"),
    ("/api/reports/visits", {"since": "2026-13-01"}, "valid date"),
    ("/api/reports/visits", {"since": "2026-11-05", "until": "2026-11-01"}, "not be after"),
    ("/api/reports/visits.csv", {"since": "2020-01-01", "until": "2026-01-01"}, "366 days"),
    ("/api/reports/peak-hours", {"until": "tomorrow"}, "valid date"),
    ("/api/reports/peak-hours.csv", {"since": "2026-11-05", "until": "2026-11-01"}, "after"),
    ("/api/stations", {"state": "sleepy"}, "'nearly_full'"),
    ("/api/stations", {"sort": "random"}, "'problems'"),
    ("/api/stations", {"q": "x" * 81}, "at most 80 characters"),
    ("/api/stations", {"limit": 201}, "less than or equal to 200"),
    ("/api/stations", {"offset": -1}, "greater than or equal to 0"),
    ("/api/stream", {"ids": "st-a,Not_An_Id"}, "not a station id"),
    ("/api/stream", {"ids": ",".join(f"st-{i}" for i in range(201))}, "at most 200 stations"),
    ("/", {"page": -1}, "greater than or equal to 0"),
    ("/", {"state": "sleepy"}, "'nearly_full'"),
]


def test_bad_queries_are_explained(server: ServerHarness) -> None:
    # One server for the whole list: starting one per case would cost a second each.
    for path, params, says in BAD_QUERIES:
        reply = server.client.get(path, params=params)
        assert reply.status_code == 422, (path, params, reply.text)
        assert says in reply.text, (path, params, reply.text)
        assert reply.json()["code"] in set(ErrorCode), (path, params)


def test_unknown_station_is_404(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    history = server.client.get(f"/api/stations/{station_id}/occupancy-history?range=30d")
    assert history.status_code == 422
    assert "'24h' or '7d'" in history.text
    for path, params in [
        ("/api/stations/st-nowhere/occupancy-history", {}),
        ("/api/events", {"station_id": "st-nowhere"}),
        ("/api/events.csv", {"station_id": "st-nowhere"}),
        ("/api/reports/visits", {"station_id": "st-nowhere"}),
        ("/api/reports/peak-hours.csv", {"station_id": "st-nowhere"}),
    ]:
        reply = server.client.get(path, params=params)
        assert reply.status_code == 404, path
        assert reply.json() == {
            "detail": "no station 'st-nowhere'",
            "code": "no_station",
            "values": {"id": "st-nowhere"},
        }
    page = server.client.get("/stations/st-nowhere")
    assert page.status_code == 404
    assert "st-nowhere" in page.text


def test_a_viewer_sees_but_cannot_act(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    rider_id, _ = server.enrol()
    _store(server, Alarm(station_id=station_id, kind="forced_open", raised_at=datetime.now(UTC)))
    [alarm] = server.client.get("/api/alarms", params={"station_id": station_id}).json()
    server.client.post(
        "/api/staff", json={"username": "viewer-wu", "password": VIEWER_PASSWORD, "role": "viewer"}
    ).raise_for_status()
    audit_before, riders_before = _count(server, AuditEntry), _count(server, Rider)

    with _login(server, "viewer-wu", VIEWER_PASSWORD) as viewer:
        for path in READS[:-1]:
            assert viewer.get(path).status_code == 200, path
        page = viewer.get(f"/stations/{station_id}")
        assert page.status_code == 200
        assert "ack-button" not in page.text
        assert "unlock-form" not in page.text
        assert "enrol-form" not in viewer.get("/riders").text
        for path, body in [
            (f"/api/alarms/{alarm['id']}/acknowledge", None),
            (f"/api/stations/{station_id}/commands", {"kind": "remote_unlock", "reason": "x"}),
            (f"/api/stations/{station_id}/occupancy", {"target": 3, "reason": "x"}),
            ("/api/riders", {"display_name": "Zhao"}),
            (f"/api/riders/{rider_id}/revoke", None),
            (f"/api/riders/{rider_id}/link", None),
        ]:
            reply = viewer.post(path, json=body)
            assert reply.status_code == 403, path
            assert reply.json() == {
                "detail": "this needs the operator role",
                "code": "role_required",
                "values": {"role": "operator"},
            }
        form = viewer.post("/riders/enrol", data={"csrf_token": viewer.headers["X-CSRF-Token"]})
        assert form.status_code == 403
        no_csrf = viewer.post("/riders/enrol", data={"display_name": "Zhao"})
        assert no_csrf.status_code == 403

    assert (_count(server, AuditEntry), _count(server, Rider)) == (audit_before, riders_before)
    [unchanged] = server.client.get("/api/alarms", params={"station_id": station_id}).json()
    assert unchanged["acknowledged_at"] is None
    assert server.client.get(f"/api/riders/{rider_id}").json()["revoked_at"] is None
    assert server.station(station_id).occupancy == 0


def test_wrong_passwords_are_rate_limited(server: ServerHarness, anonymous: httpx.Client) -> None:
    sessions_before = _count(server, StaffSession)
    codes = [
        anonymous.post(
            "/api/auth/login", json={"username": "admin", "password": f"guess-{i}"}
        ).status_code
        for i in range(5)
    ]
    assert codes == [401] * 5
    locked = anonymous.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert locked.status_code == 429  # even the right password, for a while
    assert 0 < int(locked.headers["Retry-After"]) <= 61
    assert "too many failed logins" in locked.json()["detail"]
    assert "ws_session" not in anonymous.cookies
    assert _count(server, StaffSession) == sessions_before
    malformed = anonymous.post("/api/auth/login", json={"username": "", "password": "x"})
    assert malformed.status_code == 422
    assert "at least 1 character" in malformed.text


def test_sigterm_ends_open_streams(broker: PrivateBroker, tmp_path: Path) -> None:
    """A staff browser left open on the overview must not hold a server shutdown."""
    process = ServerProcess(
        data_dir=tmp_path / "server",
        http_port=free_port(),
        broker_port=broker.port,
        extra_env=broker.server_env(SERVER_BROKER_PASSWORD),
    ).start()
    client = process.client()
    try:
        with client.stream("GET", "/api/stream") as reply:
            assert reply.status_code == 200
            next(reply.iter_lines())  # the stream is open
            started = time.monotonic()
            code = process.stop()
            assert time.monotonic() - started < 10
    finally:
        process.stop()
        client.close()
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done


def test_live_rows_follow_new_and_late_entries(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    init_db(engine)
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    def store(seq: int, at: datetime, passage: str | None) -> None:
        with Session(engine) as session:
            kind = "door_opened" if passage else "door_closed"
            session.add(_event("st-a", seq, at, kind=kind, passage=passage))
            station = session.get(Station, "st-a")
            assert station is not None
            if station.last_event_at is None or as_utc(station.last_event_at) < at:
                station.last_event_at = at  # as the consumer does
            session.add(station)
            session.commit()

    with Session(engine) as session:
        session.add(Station(id="st-a", name="A", capacity=5))
        session.commit()
    store(1, t0, "entry")
    read = LiveReader(engine)
    [row], counts = read(["st-a", "st-unknown"], False)
    assert (row.last_entry_at, counts) == (t0, None)
    store(2, t0 + timedelta(minutes=5), "entry")
    store(3, t0 + timedelta(minutes=6), None)
    [row], _ = read(["st-a"], False)
    assert row.last_entry_at == t0 + timedelta(minutes=5)
    store(5, t0 + timedelta(minutes=20), None)
    store(4, t0 + timedelta(minutes=10), "entry")  # a re-sent gap, older than the newest
    [row], counts = read(["st-a"], True)
    assert row.last_entry_at == t0 + timedelta(minutes=10)
    assert counts is not None
    assert (counts.stations, counts.stations_offline) == (1, 1)
    engine.dispose()


def test_pages_render_in_both_languages(server: ServerHarness) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    _store(
        server,
        _event(station_id, 1, datetime.now(UTC), kind="door_opened", passage="entry"),
        Alarm(station_id=station_id, kind="welfare", raised_at=datetime.now(UTC)),
    )
    expected = {"zh": ("站点总览", "关怀提醒"), "en": ("Overview", "welfare check")}
    for lang, (nav, alarm) in expected.items():
        for path in ("/", f"/stations/{station_id}", "/riders", "/reports", "/login"):
            page = server.client.get(path, params={"lang": lang})
            assert page.status_code == 200, (path, lang)
            assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in page.text
            if path != "/login":
                assert nav in page.text
        assert alarm in server.client.get(f"/stations/{station_id}", params={"lang": lang}).text
