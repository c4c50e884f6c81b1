"""Enrolment and its bad input, through the API and the staff CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness


def _riders(server: ServerHarness) -> int:
    from sqlmodel import Session, func, select

    from server.riders.models import Rider

    with Session(server.services.engine) as session:
        return session.exec(select(func.count()).select_from(Rider)).one()


def test_enrolment_needs_no_personal_data(server: ServerHarness) -> None:
    reply = server.client.post("/api/riders", json={})
    assert reply.status_code == 201
    body = reply.json()
    assert body["id"].startswith("r-")
    assert body["platform"] == "other"
    assert body["link"].startswith("/r/")
    assert server.client.get(body["link"]).status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"platform": "spaceship"}, "platform"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"display_name": 5}, "display_name"),
    ],
)
def test_bad_enrolment_is_refused_and_stores_nothing(
    server: ServerHarness, payload: dict[str, object], field: str
) -> None:
    before = _riders(server)
    reply = server.client.post("/api/riders", json=payload)
    assert reply.status_code == 422
    assert field in json.dumps(reply.json()["detail"])
    assert _riders(server) == before


def test_new_link_replaces_the_old(server: ServerHarness) -> None:
    rider_id, old = server.enrol()
    reply = server.client.post(f"/api/riders/{rider_id}/link")
    assert reply.status_code == 200
    new = reply.json()["link"]
    assert server.client.get(f"{old}/code").status_code == 404
    assert server.client.get(f"{new}/code").status_code == 200
    assert server.client.post("/api/riders/r-nobody/link").status_code == 404


def test_overlong_or_odd_links_are_just_not_found(server: ServerHarness) -> None:
    for secret in ("x" * 500, "%00", "..", "a b"):
        assert server.client.get(f"/r/{secret}/code").status_code == 404


def _cli(server: ServerHarness, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--server",
            str(server.client.base_url),
            "--password",
            ADMIN_PASSWORD,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_enrols_and_revokes(server: ServerHarness) -> None:
    enrolled = _cli(server, "enrol", "--name", "老王", "--platform", "courier")
    assert enrolled.returncode == 0, enrolled.stderr
    body = json.loads(enrolled.stdout)
    assert body["link"].startswith(str(server.client.base_url) + "/r/")
    assert body["display_name"] == "老王"

    revoked = _cli(server, "revoke", body["id"])
    assert revoked.returncode == 0, revoked.stderr
    again = _cli(server, "revoke", body["id"])
    assert again.returncode == 1
    assert "already revoked" in again.stderr


def test_cli_says_when_the_server_is_unreachable() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--server",
            "http://127.0.0.1:9",
            "--password",
            ADMIN_PASSWORD,
            "rotate-key",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "cannot reach the server" in result.stderr
