"""Staff sessions: cookies need the CSRF token for changes, bearer tokens do not; logging out
ends the session; the server refuses a guessable first admin password; racing wrong
passwords get no more guesses than the limit (more in test_staff_logins.py)."""

from __future__ import annotations

from contextlib import closing

import httpx
import pytest
from pydantic import ValidationError

from server.core.settings import ServerSettings
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness


def _browser_like(server: ServerHarness) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.client.base_url, timeout=10)
    reply = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert reply.status_code == 200
    assert "ws_session" in client.cookies
    return client, str(reply.json()["csrf_token"])


def test_cookie_session_needs_the_csrf_token_for_changes(server: ServerHarness) -> None:
    client, csrf = _browser_like(server)
    with closing(client):
        assert client.get("/api/stations").status_code == 200  # reading needs no token
        refused = client.post("/api/riders", json={})
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["detail"]
        wrong = client.post("/api/riders", json={}, headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        ok = client.post("/api/riders", json={}, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201


def test_logout_ends_the_session(server: ServerHarness) -> None:
    client, csrf = _browser_like(server)
    with closing(client):
        assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        client.cookies.clear()
        assert client.get("/api/stations").status_code == 401


def test_no_session_and_a_made_up_token_are_401(server: ServerHarness) -> None:
    with httpx.Client(base_url=server.client.base_url, timeout=10) as anonymous:
        assert anonymous.get("/api/stations").status_code == 401
        assert anonymous.post("/api/riders", json={}).status_code == 401
        forged = anonymous.get("/api/stations", headers={"Authorization": "Bearer abc"})
        assert forged.status_code == 401
        assert forged.json() == {"detail": "log in first", "code": "login_required", "values": {}}


@pytest.mark.parametrize("password", ["admin", "changeme", "short", "password"])
def test_server_refuses_a_guessable_admin_password(password: str) -> None:
    with pytest.raises(ValidationError, match="10 characters"):
        ServerSettings(admin_password=password)


def test_simultaneous_wrong_passwords_get_no_more_guesses_than_the_limit(
    server: ServerHarness,
) -> None:
    """Tries racing each other each count before their password is checked: together they
    get at most five checked (401); the rest are refused unchecked (429) and not counted."""
    from concurrent.futures import ThreadPoolExecutor

    created = server.client.post(
        "/api/staff",
        json={"username": "zhang", "password": "zhang-right-password", "role": "viewer"},
    )
    assert created.status_code == 201
    wrong = {"username": "zhang", "password": "not-it-at-all"}

    def try_wrong(_: int) -> int:
        with httpx.Client(base_url=server.client.base_url, timeout=20) as client:
            return client.post("/api/auth/login", json=wrong).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(try_wrong, range(8)))
    assert set(codes) <= {401, 429}
    checked = codes.count(401)
    with httpx.Client(base_url=server.client.base_url, timeout=10) as client:
        while (code := client.post("/api/auth/login", json=wrong).status_code) == 401:
            checked += 1
        assert code == 429
        assert checked == 5  # exactly the limit, however the tries raced
        right = client.post(
            "/api/auth/login", json={"username": "zhang", "password": "zhang-right-password"}
        )
    assert right.status_code == 429  # from this address, even the right password, for now
    assert int(right.headers["Retry-After"]) > 0
