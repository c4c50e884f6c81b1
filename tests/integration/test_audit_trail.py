"""Every staff change is in the audit trail: the test lists every route of the app that
changes something (any method but GET) and calls each one; each must leave an entry with who
did it, what it touched before and after, and the change in words in both languages. A new
route that changes something fails the test until it is audited and listed here."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session

from server.alarms.repo import raise_alarm
from tests.support.stack import ServerHarness, unique_station_id

# Logging in and out make and end a session; they change nothing staff manage.
NOT_CHANGES = {
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    # A rider's own steps, not staff changes: asking to join (staff decide it, audited), the
    # waiting page asking how it went, a phone getting its device certificate.
    ("POST", "/api/join"),
    ("POST", "/api/join/status"),
    ("POST", "/r/{secret}/device-cert"),
}
READS = {"GET", "HEAD", "OPTIONS"}
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a stored code (held_open, rider_enrolled) shown raw


def changing_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route that is not a read, included routers too."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for item in list(contexts()) if contexts else [route]:
            for method in getattr(item, "methods", None) or ():
                if method not in READS:
                    found.add((method, item.path))
    return found


class Calls:
    """One call per changing route, in an order that gives each what it needs."""

    def __init__(self, server: ServerHarness) -> None:
        self.server = server
        self.client = server.client
        self.station = unique_station_id()
        self.rider = ""
        self.notifier = 0
        self.alarm = 0

    def _ok(self, reply: httpx.Response) -> dict[str, Any]:
        assert reply.status_code < 300, reply.text
        if reply.headers.get("content-type", "").startswith("application/json"):
            body: dict[str, Any] = reply.json()
            return body
        return {}

    def cases(self) -> dict[tuple[str, str], Callable[[], tuple[str, str]]]:
        """(method, path) -> a call returning (the action it should audit, the reason given)."""
        sid = "/api/stations/{station_id}"
        return {
            ("POST", "/api/stations"): self.create_station,
            ("POST", f"{sid}/provision"): self.reprovision,
            ("PATCH", f"{sid}/rules"): self.rules,
            ("POST", f"{sid}/commands"): self.lockdown,
            ("POST", f"{sid}/occupancy"): self.correct,
            ("POST", "/api/riders"): self.enrol,
            ("POST", "/api/riders/{rider_id}/revoke"): self.revoke,
            ("POST", "/api/riders/{rider_id}/link"): self.renew,
            ("POST", "/riders/enrol"): self.enrol_form,
            ("POST", "/riders/{rider_id}/renew"): self.renew_form,
            ("POST", "/api/keys/rotate"): self.rotate_rider_key,
            ("POST", "/api/keys/control/rotate"): self.rotate_control_key,
            ("POST", "/api/staff"): self.create_staff,
            ("POST", "/api/alarms/{alarm_id}/acknowledge"): self.acknowledge,
            ("POST", "/api/alarms/{alarm_id}/resolve"): self.resolve,
            ("POST", "/api/notifiers"): self.add_notifier,
            ("PUT", "/api/notifiers/{notifier_id}"): self.change_notifier,
            ("DELETE", "/api/notifiers/{notifier_id}"): self.remove_notifier,
            ("PATCH", f"{sid}/details"): self.details,
            ("PUT", f"{sid}/photo"): self.photo,
            ("DELETE", f"{sid}/photo"): self.remove_photo,
            ("POST", "/api/join/requests/{request_id}/approve"): self.approve,
            ("POST", "/api/join/requests/{request_id}/refuse"): self.refuse,
            ("POST", "/riders/requests/{request_id}/approve"): self.approve_form,
            ("POST", "/riders/requests/{request_id}/refuse"): self.refuse_form,
            ("POST", "/api/join/invites"): self.invites,
            ("POST", "/riders/invites"): self.invites_form,
        }

    def details(self) -> tuple[str, str]:
        body = {"address": "杭州市西湖区文三路 90 号", "amenities": ["water"], "reason": "opened"}
        self._ok(self.client.patch(f"/api/stations/{self.station}/details", json=body))
        return "station_details_changed", "opened"

    def photo(self) -> tuple[str, str]:
        reply = self.client.put(
            f"/api/stations/{self.station}/photo",
            params={"reason": "new sign"},
            content=_photo(),
            headers={"content-type": "image/png"},
        )
        self._ok(reply)
        return "station_photo_changed", "new sign"

    def remove_photo(self) -> tuple[str, str]:
        reply = self.client.delete(
            f"/api/stations/{self.station}/photo", params={"reason": "wrong place"}
        )
        self._ok(reply)
        return "station_photo_removed", "wrong place"

    def _pending(self) -> int:
        self._ok(self.client.post("/api/join", json={"platform": "meituan"}))
        pending = self._ok(self.client.get("/api/join/requests"))
        return int(pending[0]["id"])

    def approve(self) -> tuple[str, str]:
        self._ok(self.client.post(f"/api/join/requests/{self._pending()}/approve"))
        return "join_approved", ""

    def refuse(self) -> tuple[str, str]:
        self._ok(self.client.post(f"/api/join/requests/{self._pending()}/refuse"))
        return "join_refused", ""

    def approve_form(self) -> tuple[str, str]:
        reply = self.client.post(f"/riders/requests/{self._pending()}/approve")
        assert reply.status_code in (200, 303), reply.text
        return "join_approved", ""

    def refuse_form(self) -> tuple[str, str]:
        reply = self.client.post(f"/riders/requests/{self._pending()}/refuse")
        assert reply.status_code in (200, 303), reply.text
        return "join_refused", ""

    def invites(self) -> tuple[str, str]:
        body = {"platform": "jd", "count": 3, "days": 7, "note": "for the JD depot"}
        self._ok(self.client.post("/api/join/invites", json=body))
        return "invites_created", "for the JD depot"

    def invites_form(self) -> tuple[str, str]:
        form = {"platform": "didi", "count": "2", "days": "7", "note": "for Didi drivers"}
        reply = self.client.post("/riders/invites", data=form)
        assert reply.status_code in (200, 303), reply.text
        return "invites_created", "for Didi drivers"

    def create_station(self) -> tuple[str, str]:
        self.server.add_station(self.station, capacity=8)
        return "station_created", ""

    def reprovision(self) -> tuple[str, str]:
        body = {"reason": "box replaced"}
        self.server.provision(f"/api/stations/{self.station}/provision", body)
        return "station_reprovisioned", "box replaced"

    def rules(self) -> tuple[str, str]:
        hours = {"weekly": [["08:00", "22:00"]] * 5 + [None] * 2}
        body = {"capacity": 12, "opening_hours": hours, "reason": "new hall"}
        self._ok(self.client.patch(f"/api/stations/{self.station}/rules", json=body))
        return "rules_changed", "new hall"

    def lockdown(self) -> tuple[str, str]:
        body = {"kind": "lockdown", "reason": "fight outside"}
        self._ok(self.client.post(f"/api/stations/{self.station}/commands", json=body))
        return "command_lockdown", "fight outside"

    def correct(self) -> tuple[str, str]:
        body = {"target": 2, "reason": "counted by hand"}
        self._ok(self.client.post(f"/api/stations/{self.station}/occupancy", json=body))
        return "occupancy_corrected", "counted by hand"

    def enrol(self) -> tuple[str, str]:
        self.rider = self._ok(self.client.post("/api/riders", json={"platform": "courier"}))["id"]
        return "rider_enrolled", ""

    def revoke(self) -> tuple[str, str]:
        body = {"reason": "phone stolen"}
        self._ok(self.client.post(f"/api/riders/{self.rider}/revoke", json=body))
        return "rider_revoked", "phone stolen"

    def renew(self) -> tuple[str, str]:
        body = {"reason": "new phone"}
        self._ok(self.client.post(f"/api/riders/{self.rider}/link", json=body))
        return "rider_link_renewed", "new phone"

    def enrol_form(self) -> tuple[str, str]:
        reply = self.client.post("/riders/enrol", data={"display_name": "", "platform": "other"})
        assert reply.status_code in (200, 303), reply.text
        return "rider_enrolled", ""

    def renew_form(self) -> tuple[str, str]:
        reply = self.client.post(f"/riders/{self.rider}/renew")
        assert reply.status_code in (200, 303), reply.text
        return "rider_link_renewed", ""

    def rotate_rider_key(self) -> tuple[str, str]:
        self._ok(self.client.post("/api/keys/rotate", json={"reason": "yearly"}))
        return "key_rotated", "yearly"

    def rotate_control_key(self) -> tuple[str, str]:
        self._ok(self.client.post("/api/keys/control/rotate"))
        return "key_rotated", ""

    def create_staff(self) -> tuple[str, str]:
        body = {"username": "op-qian", "password": "operator-pass-9", "role": "operator"}
        self._ok(self.client.post("/api/staff", json=body))
        return "staff_created", ""

    def _alarm(self) -> int:
        with Session(self.server.services.engine) as session:
            alarm = raise_alarm(
                session, station_id=self.station, kind="held_open", at=datetime.now(UTC)
            )
            session.commit()
            assert alarm.id is not None
            return alarm.id

    def acknowledge(self) -> tuple[str, str]:
        self.alarm = self._alarm()
        body = {"note": "on my way"}
        self._ok(self.client.post(f"/api/alarms/{self.alarm}/acknowledge", json=body))
        return "alarm_acknowledged", "on my way"

    def resolve(self) -> tuple[str, str]:
        body = {"note": "door wedge removed"}
        self._ok(self.client.post(f"/api/alarms/{self.alarm}/resolve", json=body))
        return "alarm_resolved", "door wedge removed"

    def add_notifier(self) -> tuple[str, str]:
        body = {"name": "night desk", "format": "webhook", "url": "https://example.com/hook"}
        self.notifier = self._ok(self.client.post("/api/notifiers", json=body))["id"]
        return "notifier_added", ""

    def change_notifier(self) -> tuple[str, str]:
        body = {"name": "night desk 2", "format": "webhook", "url": "https://example.com/hook"}
        self._ok(self.client.put(f"/api/notifiers/{self.notifier}", json=body))
        return "notifier_changed", ""

    def remove_notifier(self) -> tuple[str, str]:
        reply = self.client.delete(f"/api/notifiers/{self.notifier}")
        assert reply.status_code == 204, reply.text
        return "notifier_removed", ""


def _photo() -> bytes:
    """A small real PNG, made with Pillow (the server re-encodes what it is given)."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (320, 240), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def _newest_id(server: ServerHarness) -> int:
    entries = server.client.get("/api/audit", params={"limit": 1}).json()
    return int(entries[0]["id"]) if entries else 0


def _since(server: ServerHarness, after_id: int, language: str) -> list[dict[str, Any]]:
    entries = server.client.get("/api/audit", params={"limit": 50, "lang": language}).json()
    return [e for e in entries if e["id"] > after_id]


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_every_staff_changing_route_leaves_an_audit_entry(server: ServerHarness) -> None:
    assert server.app is not None
    calls = Calls(server)
    cases = calls.cases()
    assert changing_routes(server.app) - NOT_CHANGES == set(cases), (
        "a route that changes something is missing here (and maybe from the audit trail)"
    )
    for route, call in cases.items():
        newest = _newest_id(server)
        action, reason = call()
        found = [e for e in _since(server, newest, "zh") if e["action"] == action]
        assert len(found) == 1, (route, found)
        entry = found[0]
        assert entry["actor"] == "admin", route
        assert entry["before"] or entry["after"], (route, "no before and after")
        assert entry["reason"] == reason, route
        english = next(e for e in _since(server, newest, "en") if e["id"] == entry["id"])
        for summary in (entry["summary"], english["summary"]):
            assert summary, route
            assert not CODE.search(summary), (route, summary)  # words, not codes
            assert "command " not in summary, (route, summary)
        assert entry["summary"] != english["summary"], route
