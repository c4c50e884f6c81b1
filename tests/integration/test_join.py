"""Joining without a desk through the real server: a rider asks at /join with no login, staff
approve or refuse, the rider's page polls its token and gets the personal link; invite codes
enrol at once, once; every rejection says what is wrong and changes nothing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from demo.broker import PrivateBroker
from protocol.payloads import ProvisioningBundle
from server.audit.models import AuditEntry
from server.core.localtime import utcnow
from server.core.settings import ServerSettings
from server.join.models import InviteBatch, JoinAttempt, JoinRequest
from server.riders.models import Rider
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD, logged_in_server
from tests.support.stack import ServerHarness

PER_WINDOW = 4
PHONE_KEY = "test-phone-hash-key-0123456789"


def _settings(broker: PrivateBroker, tmp_path: Path, **more: Any) -> ServerSettings:
    return ServerSettings(
        data_dir=tmp_path / "server",
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        hotline="12351",
        join_requests_per_window=PER_WINDOW,
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
        **more,
    )


@pytest.fixture
def joining(
    broker: PrivateBroker, tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> Iterator[ServerHarness]:
    with logged_in_server(_settings(broker, tmp_path), broker, bundles) as harness:
        yield harness


@pytest.fixture
def rider_phone(joining: ServerHarness) -> Iterator[httpx.Client]:
    """A phone with no login, from its own address as the server counts it (loopback)."""
    with httpx.Client(base_url=joining.client.base_url, timeout=10) as client:
        yield client


def _count(server: ServerHarness, table: type[Any]) -> int:
    with Session(server.services.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _counts(server: ServerHarness) -> tuple[int, ...]:
    return tuple(_count(server, table) for table in (JoinRequest, Rider, AuditEntry, InviteBatch))


def _audit(server: ServerHarness, action: str) -> list[AuditEntry]:
    with Session(server.services.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def _ask(client: httpx.Client, **body: str) -> httpx.Response:
    return client.post("/api/join", json={"platform": "meituan", **body})


def _status(phone: httpx.Client, token: str) -> dict[str, Any]:
    reply = phone.post("/api/join/status", json={"token": token})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _pending_id(server: ServerHarness, code: str) -> int:
    listed = server.client.get("/api/join/requests").raise_for_status().json()
    [found] = [r for r in listed if r["code"] == code]
    return int(found["id"])


def test_ask_approve_and_the_waiting_page_gets_the_pass(
    joining: ServerHarness, rider_phone: httpx.Client
) -> None:
    asked = _ask(rider_phone, display_name="  小 王 ")
    assert asked.status_code == 201, asked.text
    body = asked.json()
    assert body["status"] == "pending"
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", body["code"])
    assert body["link"] is None
    token = body["token"]
    assert _status(rider_phone, token) == {
        k: body[k] for k in ("status", "code", "expires_at", "link")
    }
    with Session(joining.services.engine) as session:
        [stored] = session.exec(select(JoinRequest))
        assert token not in (stored.token_hash, stored.link_hash)  # only hashes are kept
        assert stored.display_name == "小 王"

    request_id = _pending_id(joining, body["code"])
    approved = joining.client.post(f"/api/join/requests/{request_id}/approve")
    assert approved.status_code == 200, approved.text
    rider_id = approved.json()["rider_id"]

    state = _status(rider_phone, token)
    assert state["status"] == "approved"
    link = state["link"]
    assert re.fullmatch(r"/r/[A-Za-z0-9_-]{32}", link)
    assert _status(rider_phone, token)["link"] == link  # polled again: the same pass
    assert rider_phone.get(f"{link}/token").status_code == 200  # the pass works
    rider = joining.client.get(f"/api/riders/{rider_id}").json()
    assert (rider["display_name"], rider["platform"]) == ("小 王", "meituan")
    [entry] = _audit(joining, "join_approved")
    assert (entry.actor, entry.rider_id) == ("admin", rider_id)
    assert body["code"] in entry.detail
    assert joining.client.get("/api/join/requests").json() == []

    # Staff give the rider a new link (a lost phone): the old page no longer opens a pass.
    joining.client.post(f"/api/riders/{rider_id}/link").raise_for_status()
    assert _status(rider_phone, token) == {**state, "status": "link_changed", "link": None}


def test_refused_says_so_and_enrols_nobody(
    joining: ServerHarness, rider_phone: httpx.Client
) -> None:
    body = _ask(rider_phone).json()
    request_id = _pending_id(joining, body["code"])
    riders = _count(joining, Rider)

    refused = joining.client.post(f"/api/join/requests/{request_id}/refuse")
    assert refused.status_code == 200, refused.text
    assert _status(rider_phone, body["token"])["status"] == "refused"
    assert _status(rider_phone, body["token"])["link"] is None
    [entry] = _audit(joining, "join_refused")
    assert entry.actor == "admin"

    before = _counts(joining)
    again = joining.client.post(f"/api/join/requests/{request_id}/approve")
    assert again.status_code == 409
    assert "already decided" in again.json()["detail"]
    assert _counts(joining) == before
    assert _count(joining, Rider) == riders


def test_an_expired_request_can_no_longer_be_approved(
    joining: ServerHarness, rider_phone: httpx.Client
) -> None:
    body = _ask(rider_phone).json()
    request_id = _pending_id(joining, body["code"])
    with Session(joining.services.engine) as session:  # its time has passed
        session.exec(
            update(JoinRequest)
            .where(col(JoinRequest.id) == request_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()

    assert _status(rider_phone, body["token"])["status"] == "expired"
    assert joining.client.get("/api/join/requests").json() == []  # no longer offered
    before = _counts(joining)
    for decision in ("approve", "refuse"):
        reply = joining.client.post(f"/api/join/requests/{request_id}/{decision}")
        assert reply.status_code == 409, decision
        assert "expired" in reply.json()["detail"]
    assert _counts(joining) == before
    assert _status(rider_phone, body["token"])["status"] == "expired"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"platform": "spaceship"}, 422, "bad_platform"),
        ({"platform": "courier"}, 422, "bad_platform"),  # an old kind of work, not a platform
        ({"platform": ""}, 422, "bad_platform"),
        ({"platform": "jd", "display_name": "长" * 41}, 422, "name_too_long"),
        ({"platform": "jd", "invite": "ACEF-HJKM"}, 404, "invite_unknown"),
    ],
    ids=["unknown platform", "old kind", "no platform", "name too long", "unknown invite"],
)
def test_bad_requests_say_what_is_wrong_and_change_nothing(
    joining: ServerHarness, rider_phone: httpx.Client, body: dict[str, str], status: int, code: str
) -> None:
    before = _counts(joining)
    reply = rider_phone.post("/api/join", json=body)
    assert reply.status_code == status, reply.text
    assert reply.json()["detail"]["code"] == code
    assert reply.json()["detail"]["message"]
    assert _counts(joining) == before


def test_an_unknown_token_is_not_found(joining: ServerHarness, rider_phone: httpx.Client) -> None:
    for token in ("not-a-token", "x" * 100):
        reply = rider_phone.post("/api/join/status", json={"token": token})
        assert reply.status_code == 404
        assert reply.json()["detail"]["code"] == "unknown_request"
    assert rider_phone.post("/api/join/status", json={"token": "x" * 101}).status_code == 422


def test_one_address_is_limited_and_told_when_to_come_back(
    joining: ServerHarness, rider_phone: httpx.Client
) -> None:
    assert _ask(rider_phone, invite="WRONG-CODE").status_code == 404  # a guess counts too
    for _ in range(PER_WINDOW - 1):
        assert _ask(rider_phone).status_code == 201
    before = _counts(joining)
    attempts = _count(joining, JoinAttempt)

    limited = _ask(rider_phone)
    assert limited.status_code == 429
    assert limited.json()["detail"]["code"] == "rate_limited"
    assert 3500 <= int(limited.headers["Retry-After"]) <= 3600
    assert _counts(joining) == before
    assert _count(joining, JoinAttempt) == attempts  # a refused try is not counted
    bad = rider_phone.post("/api/join", json={"platform": "nope"})
    assert bad.json()["detail"]["code"] == "bad_platform"  # checked before the limit


def test_invite_codes_enrol_at_once_and_once(
    joining: ServerHarness, rider_phone: httpx.Client
) -> None:
    made = joining.client.post(
        "/api/join/invites",
        json={"platform": "sf_express", "count": 3, "days": 7, "note": "王站长"},
    )
    assert made.status_code == 201, made.text
    batch = made.json()
    codes = [c["code"] for c in batch["codes"]]
    assert len(set(codes)) == 3
    assert all(re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", c) for c in codes)
    [created] = _audit(joining, "invites_created")
    assert created.actor == "admin"
    assert "王站长" in created.detail

    joined = _ask(rider_phone, invite=codes[0].lower().replace("-", " "), display_name="李")
    assert joined.status_code == 201, joined.text
    body = joined.json()
    assert body["status"] == "approved"
    assert rider_phone.get(f"{body['link']}/token").status_code == 200
    assert _status(rider_phone, body["token"])["link"] == body["link"]
    [used] = _audit(joining, "invite_used")
    rider = joining.client.get(f"/api/riders/{used.rider_id}").json()
    assert (rider["display_name"], rider["platform"]) == ("李", "sf_express")  # the batch's
    assert codes[0] in used.detail

    before = _counts(joining)
    again = _ask(rider_phone, invite=codes[0])
    assert again.status_code == 409
    assert again.json()["detail"]["code"] == "invite_used"
    with Session(joining.services.engine) as session:  # the batch runs out
        session.exec(update(InviteBatch).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    late = _ask(rider_phone, invite=codes[1])
    assert late.status_code == 409
    assert late.json()["detail"]["code"] == "invite_expired"
    assert _counts(joining) == before

    [listed] = joining.client.get("/api/join/invites").json()
    assert (listed["count"], listed["used"], listed["note"]) == (3, 1, "王站长")


def test_staff_roles_and_bad_batches(joining: ServerHarness) -> None:
    joining.client.post(
        "/api/staff", json={"username": "viewer-li", "password": "viewer-pass-1", "role": "viewer"}
    ).raise_for_status()
    token = joining.client.post(
        "/api/auth/login", json={"username": "viewer-li", "password": "viewer-pass-1"}
    ).json()["token"]
    before = _counts(joining)
    viewer = httpx.Client(
        base_url=joining.client.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    with closing(viewer):
        assert viewer.get("/api/join/requests").status_code == 200
        for path, body in [
            ("/api/join/invites", {"platform": "jd", "count": 2}),
            ("/api/join/requests/1/approve", None),
            ("/api/join/requests/1/refuse", None),
        ]:
            assert viewer.post(path, json=body).status_code == 403, path
    for bad in (
        {"platform": "jd", "count": 0},
        {"platform": "jd", "count": 501},
        {"platform": "jd", "count": 2, "days": 0},
        {"platform": "rocket", "count": 2},
    ):
        assert joining.client.post("/api/join/invites", json=bad).status_code == 422, bad
    assert joining.client.post("/api/join/requests/999/approve").status_code == 404
    assert _counts(joining) == before


def test_a_phone_number_asked_for_is_kept_only_as_a_keyed_hash(
    broker: PrivateBroker, tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> None:
    settings = _settings(broker, tmp_path, join_asks_phone=True, phone_hash_key=PHONE_KEY)
    with logged_in_server(settings, broker, bundles) as server:
        phone = httpx.Client(base_url=server.client.base_url, timeout=10)
        with closing(phone):
            before = _counts(server)
            for typed in ("", "12345", "021 6123 4567"):
                refused = _ask(phone, phone=typed)
                assert refused.status_code == 422, typed
                assert refused.json()["detail"]["code"] == "bad_phone"
            assert _counts(server) == before
            body = _ask(phone, phone="+86 138-1234-5678").json()
            request_id = _pending_id(server, body["code"])
            rider_id = server.client.post(f"/api/join/requests/{request_id}/approve").json()[
                "rider_id"
            ]

        with Session(server.services.engine) as session:
            rider = session.get(Rider, rider_id)
            assert rider is not None
            assert rider.phone_hash is not None
            plain = hashlib.sha256(b"13812345678").hexdigest()
            assert rider.phone_hash != plain  # keyed: a database copy alone finds no number
        dump = "\n".join(str(row) for table in (Rider, JoinRequest) for row in _rows(server, table))
        assert "13812345678" not in dump
        assert "1381234" not in dump
        found = server.client.get("/riders", params={"q": "138 1234 5678"})
        assert rider_id in found.text
        assert rider_id not in server.client.get("/riders", params={"q": "13912345678"}).text


def _rows(server: ServerHarness, table: type[Any]) -> list[Any]:
    with Session(server.services.engine) as session:
        return [row.model_dump() for row in session.exec(select(table))]
