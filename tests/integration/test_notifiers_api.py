"""Notifiers through the real app: admins add, read, replace and remove them (audited); a
secret is never returned; a bad configuration is refused with a 4xx naming it and nothing is
stored; other roles cannot touch them; the app's own worker delivers a raised alarm."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from server.alarms.repo import raise_alarm
from server.core.db import session_scope
from tests.support.receiver import Receiver
from tests.support.stack import ServerHarness, unique_station_id
from tests.support.waiting import wait_for

GOOD = {
    "name": "ops",
    "format": "webhook",
    "url": "https://hooks.example.cn/a",
    "secret": "s3cret-value",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.start()
    yield made
    made.stop()


def _count(server: ServerHarness) -> int:
    reply = server.client.get("/api/notifiers")
    assert reply.status_code == 200
    return len(reply.json())


def test_admins_manage_notifiers_and_never_see_a_secret(server: ServerHarness) -> None:
    created = server.client.post("/api/notifiers", json={**GOOD, "stations": ["sz-*"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_secret"] is True
    assert "secret" not in body
    assert "s3cret-value" not in created.text
    notifier_id = body["id"]

    replaced = server.client.put(
        f"/api/notifiers/{notifier_id}",
        json={**GOOD, "secret": None, "quiet_from": "22:00", "quiet_until": "07:00"},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["has_secret"] is True  # kept: a PUT without one keeps it
    assert replaced.json()["quiet_from"] == "22:00"
    listed = server.client.get("/api/notifiers")
    assert "s3cret-value" not in listed.text
    assert server.client.get(f"/api/notifiers/{notifier_id}").json()["stations"] == ["*"]

    assert server.client.delete(f"/api/notifiers/{notifier_id}").status_code == 204
    assert server.client.get(f"/api/notifiers/{notifier_id}").status_code == 404
    audit = server.client.get("/api/audit").json()
    actions = [entry["action"] for entry in audit]
    assert {"notifier_added", "notifier_changed", "notifier_removed"} <= set(actions)
    assert "s3cret-value" not in json.dumps(audit)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://hooks.example.cn/a"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"format": "pager"}, "format"),
        ({"quiet_from": "22:00"}, "quiet"),
        ({"quiet_from": "25:00", "quiet_until": "07:00"}, "quiet"),
        ({"stations": []}, "stations"),
        ({"stations": ["sz-*-*"]}, "stations"),
        ({"kinds": ["fire"]}, "kinds"),
        ({"language": "fr"}, "language"),
        ({"recipients": ["+8613800000000"]}, "sms"),
        ({"format": "sms"}, "sms"),
        ({"format": "sms", "template": '{"to": {to}'}, "JSON"),
    ],
)
def test_a_bad_notifier_is_refused_and_nothing_is_stored(
    server: ServerHarness, change: dict[str, object], field: str
) -> None:
    before = _count(server)
    reply = server.client.post("/api/notifiers", json={**GOOD, **change})
    assert reply.status_code == 422, reply.text
    assert field in reply.text
    assert _count(server) == before


def test_a_duplicate_name_or_a_bad_replacement_changes_nothing(server: ServerHarness) -> None:
    first = server.client.post("/api/notifiers", json=GOOD).json()
    assert server.client.post("/api/notifiers", json=GOOD).status_code == 409
    other = server.client.post("/api/notifiers", json={**GOOD, "name": "other"}).json()
    clash = server.client.put(f"/api/notifiers/{other['id']}", json=GOOD)
    assert clash.status_code == 409
    bad = server.client.put(f"/api/notifiers/{first['id']}", json={**GOOD, "url": "nope"})
    assert bad.status_code == 422
    assert server.client.get(f"/api/notifiers/{first['id']}").json()["url"] == GOOD["url"]
    assert server.client.put("/api/notifiers/99999", json=GOOD).status_code == 404
    assert server.client.delete("/api/notifiers/99999").status_code == 404


def test_only_admins_reach_notifiers(server: ServerHarness) -> None:
    with httpx.Client(base_url=server.client.base_url) as anonymous:
        assert anonymous.get("/api/notifiers").status_code == 401
        assert anonymous.post("/api/notifiers", json=GOOD).status_code == 401
    created = server.client.post(
        "/api/staff",
        json={"username": "viewer1", "password": "a-long-viewer-pass", "role": "operator"},
    )
    assert created.status_code in (200, 201), created.text
    login = server.client.post(
        "/api/auth/login", json={"username": "viewer1", "password": "a-long-viewer-pass"}
    ).json()
    operator = {"Authorization": f"Bearer {login['token']}"}
    assert server.client.get("/api/notifiers", headers=operator).status_code == 403
    assert server.client.post("/api/notifiers", json=GOOD, headers=operator).status_code == 403


def test_the_apps_worker_delivers_a_raised_alarm(server: ServerHarness, receiver: Receiver) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    made = server.client.post(
        "/api/notifiers", json={**GOOD, "url": receiver.url("/hook"), "stations": [station_id]}
    )
    assert made.status_code == 201
    with session_scope(server.services.engine) as session:
        raise_alarm(session, station_id=station_id, kind="held_open", at=datetime.now(UTC))
        session.commit()
    wait_for(lambda: len(receiver.received) == 1, timeout_s=20, what="the alert to arrive")
    assert json.loads(receiver.received[0].body)["station_id"] == station_id
    # The receiver answers before the worker records the delivery: wait for the record.
    wait_for(
        lambda: server.client.get("/api/alert-deliveries").json()[0]["delivered_at"] is not None,
        what="the delivery recorded",
    )
